// Fuzzing the SFTP file exchange's documents: receipt files read from IN (lib/sftp/receipt-files.ts parseSftpReceipt)
// and the .trigger written to OUT (lib/sftp/trigger.ts buildTrigger, read back as the platform would). Clear errors:
// XmlError for XML that is not well-formed, a plain Error ("… has no …", "not an SFTP receipt", "trigger …").
import assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Element } from '@xmldom/xmldom';
import fc from 'fast-check';
import { buildTechnicalReceipt, parseSftpReceipt, type SftpErrorMessage, type SftpReceipt } from '../../lib/sftp/receipt-files';
import { DYNAMIC_ROUTING_RECIPIENT, SFTP_NS, buildTrigger, type TriggerInput } from '../../lib/sftp/trigger';
import { childElements } from '../../lib/xml/dom';
import { XmlError, escapeXml, parseXmlSafely } from '../../lib/xml/safe-xml';
import { loadXsd, type XsdSchema } from '../../lib/xml/xsd';
import { WEIGHT, attempt, fuzz } from './fuzz-support';
import { anyText, deepened, mutatedXml, prefixArb, xmlValue } from './xml-arbitraries';

const SUITE = 'sftp receipts and trigger';
const RECEIPT_ERRORS = /has no |not an SFTP receipt/;

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const errorMessageArb: fc.Arbitrary<SftpErrorMessage> = fc.record(
  { code: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(0, 17, 404)), codeDescription: xmlValue(30), description: xmlValue(80) },
  { noNullPrototype: true },
);

/** An element in the SFTP namespace under a prefix, or in no namespace (the platform's children are unqualified). */
function el(prefix: string | undefined, name: string, content: string): string {
  const q = prefix === undefined ? name : prefix ? `${prefix}:${name}` : name;
  return `<${q}>${content}</${q}>`;
}

/** A BusinessReceipt / BusinessResponse as the platform may write it: children qualified or not. */
function businessDocument(kind: 'BusinessReceipt' | 'BusinessResponse', rootPrefix: string, qualified: boolean, children: [string, string][]): string {
  const q = rootPrefix ? `${rootPrefix}:${kind}` : kind;
  const decl = rootPrefix ? ` xmlns:${rootPrefix}="${SFTP_NS}"` : ` xmlns="${SFTP_NS}"`;
  // unqualified children under a default namespace need xmlns="" to stay out of it
  const childPrefix = qualified ? rootPrefix : undefined;
  const body = children.map(([n, v]) => (qualified || rootPrefix ? el(childPrefix, n, v) : `<${n} xmlns="">${v}</${n}>`)).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><${q}${decl}>${body}</${q}>`;
}

const technicalArb = fc.record({
  fileTransferUuid: fc.oneof(fc.uuid(), xmlValue(40)),
  sendersFileId: opt(xmlValue(40)),
  message: opt(fc.oneof(fc.constantFrom('SUCCESS', 'success', 'FAILED'), xmlValue(30))),
  errors: fc.array(errorMessageArb, { maxLength: 3 }),
});

const businessArb = fc.record({
  fileTransferUuid: xmlValue(40),
  fileName: xmlValue(60),
  recipient: xmlValue(20),
  acceptance: fc.oneof(fc.constantFrom('ACCEPTED', 'REJECTED', 'COULD_NOT_NOTIFY_RECIPIENT'), xmlValue(20)),
  reason: opt(xmlValue(60)),
  rootPrefix: prefixArb,
  qualified: fc.boolean(),
});

const responseArb = fc.record({
  responseMessage: opt(xmlValue(40)),
  errors: fc.array(errorMessageArb, { maxLength: 3 }),
  rootPrefix: prefixArb,
  qualified: fc.boolean(),
});

function errorXml(e: SftpErrorMessage, p: string | undefined): string {
  return el(
    p,
    'ErrorMessage',
    el(p, 'ErrorCode', String(e.code)) + el(p, 'ErrorCodeDescription', escapeXml(e.codeDescription)) + el(p, 'ErrorDescription', escapeXml(e.description)),
  );
}

/** Valid receipt documents of every kind with what parseSftpReceipt must make of them. */
const receiptCaseArb: fc.Arbitrary<{ xml: string; expected: SftpReceipt }> = fc.oneof(
  technicalArb.map((t) => ({
    xml: buildTechnicalReceipt(t),
    expected: {
      kind: 'technical' as const,
      fileTransferUuid: t.fileTransferUuid,
      sendersFileId: t.sendersFileId,
      success: t.errors.length === 0 && (t.message ?? 'SUCCESS').toUpperCase() === 'SUCCESS',
      message: t.errors.length ? undefined : (t.message ?? 'SUCCESS'),
      errors: t.errors,
    },
  })),
  businessArb.map((b) => ({
    xml: businessDocument('BusinessReceipt', b.rootPrefix, b.qualified, [
      ['FileTransferUUID', escapeXml(b.fileTransferUuid)],
      ['Filename', escapeXml(b.fileName)],
      ['Recipient', escapeXml(b.recipient)],
      ['FileAcceptance', escapeXml(b.acceptance)],
      ...(b.reason === undefined ? [] : ([['Reason', escapeXml(b.reason)]] as [string, string][])),
    ]),
    expected: {
      kind: 'business' as const,
      fileTransferUuid: b.fileTransferUuid,
      fileName: b.fileName,
      recipient: b.recipient,
      acceptance: b.acceptance,
      reason: b.reason,
      success: b.acceptance === 'ACCEPTED',
    },
  })),
  responseArb.map((r) => {
    const p = r.qualified ? r.rootPrefix : undefined;
    const children: [string, string][] = [];
    if (r.responseMessage !== undefined) children.push(['ResponseMessage', escapeXml(r.responseMessage)]);
    const doc = businessDocument('BusinessResponse', r.rootPrefix, r.qualified, children);
    const errs = r.errors
      .map((e) => (r.qualified || r.rootPrefix ? errorXml(e, p) : errorXml(e, undefined).replace('<ErrorMessage>', '<ErrorMessage xmlns="">')))
      .join('');
    const close = doc.lastIndexOf('</');
    return {
      xml: doc.slice(0, close) + errs + doc.slice(close),
      expected: { kind: 'businessResponse' as const, responseMessage: r.responseMessage, errors: r.errors, success: r.errors.length === 0 },
    };
  }),
);

const VOCABULARY = [
  'TechnicalReceipt',
  'BusinessReceipt',
  'BusinessResponse',
  'Receipt',
  'Message',
  'FileTransferUUID',
  'SendersFileId',
  'ErrorMessage',
  'ErrorCode',
  'ErrorCodeDescription',
  'ErrorDescription',
  'FileAcceptance',
  'Filename',
  'Recipient',
  'Reason',
  'ResponseMessage',
] as const;

// ---------- trigger ----------

/** Text a trigger field may hold: printable Unicode with markup characters and inner spaces. */
const fieldText = (max: number) =>
  fc
    .string({
      unit: fc.oneof(
        { weight: 5, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
        { weight: 1, arbitrary: fc.constantFrom('<', '&', '>', '"', "'", ' ', 'æ', ']]>') },
      ),
      minLength: 1,
      maxLength: Math.min(max, 60),
    })
    .filter((s) => s.trim() !== '' && s.length <= max && !/[\u0085\u2028\u2029]/.test(s));
/** Text a trigger field must refuse or carry unchanged: controls, surrogates, blanks, over-long. (xmldom turns NEL, LS and PS into line feeds, XML 1.1 style; an XML 1.0 reader such as the platform's keeps them, so they are left out.) */
const hostileText = (max: number) =>
  fc.oneof(
    anyText(40).map((s) => s.replace(/[\u0085\u2028\u2029]/g, '')),
    fc.integer({ min: max - 2, max: max + 2 }).map((n) => 'x'.repeat(Math.max(0, n))),
    fc.constantFrom('', ' ', '\t', '\r\n'),
  );
const uuid = fc.oneof({ weight: 5, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.uuid().map((u) => ` ${u.toUpperCase()} `) });
const cvr = fc.oneof(
  { weight: 5, arbitrary: fc.stringMatching(/^[0-9]{8}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{8}$/).map((c) => `URN:OIO:CVR-NR:${c}`) },
);
const validDate = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
const timestamp = fc.oneof(
  fc.constant(undefined),
  validDate,
  validDate.map((d) => d.toISOString()),
  fc.tuple(validDate, fc.constantFrom('Z', '+01:00', '-14:00', '+05:45')).map(([d, off]) => d.toISOString().replace(/\.\d+Z$/, off)),
);

const validTriggerArb: fc.Arbitrary<TriggerInput> = fc.record({
  fileName: fieldText(255),
  sizeInBytes: fc.oneof(fc.nat(), fc.maxSafeNat()),
  sender: fieldText(255),
  sendersFileId: opt(fieldText(255)),
  recipients: opt(fc.array(fieldText(255), { maxLength: 3 })),
  routing: fc.record({
    infRef: fieldText(1000),
    senderSystemUuid: uuid,
    senderCvr: cvr,
    transactionId: uuid,
    senderTimestamp: timestamp,
    recipientSystemUuid: opt(uuid),
    recipientCvr: cvr,
    routeParameters: opt(fc.record({ selectionDate: opt(validDate.map((d) => d.toISOString().slice(0, 10))) })),
  }),
});

/** Two-digit fields out of range, impossible days, years outside 0001–9999, other text. */
const hostileTimestamp = fc.oneof(
  fc.date(),
  fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
      fc.constantFrom('Z', '+01:00', '+14:01', '+99:00'),
    )
    .map(
      ([y, mo, d, h, mi, off]) =>
        `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:00${off}`,
    ),
  anyText(30),
);

/** A valid trigger with one field, or none, made hostile. */
const triggerArb: fc.Arbitrary<TriggerInput> = fc
  .tuple(
    validTriggerArb,
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.record({ field: fc.constantFrom('fileName', 'sender', 'sendersFileId', 'recipient', 'infRef'), text: hostileText(255) }) },
      {
        weight: 1,
        arbitrary: fc.record({
          field: fc.constantFrom('senderSystemUuid', 'transactionId', 'recipientSystemUuid', 'senderCvr', 'recipientCvr'),
          text: anyText(40),
        }),
      },
      { weight: 1, arbitrary: fc.record({ field: fc.constant('senderTimestamp'), value: hostileTimestamp }) },
      {
        weight: 1,
        arbitrary: fc.record({
          field: fc.constant('selectionDate'),
          text: fc.oneof(
            anyText(12),
            hostileTimestamp.map((t) => (typeof t === 'string' ? t.slice(0, 10) : '2026-02-29')),
          ),
        }),
      },
      { weight: 1, arbitrary: fc.record({ field: fc.constant('sizeInBytes'), value: fc.oneof(fc.integer({ max: -1 }), fc.double(), fc.constant(2 ** 53)) }) },
    ),
  )
  .map(([t, h]) => {
    if (!h) return t;
    const r = { ...t.routing };
    const out: TriggerInput = { ...t, routing: r };
    const v = 'text' in h ? h.text : h.value;
    switch (h.field) {
      case 'fileName':
      case 'sender':
      case 'sendersFileId':
        out[h.field] = v as string;
        break;
      case 'recipient':
        out.recipients = [...(t.recipients ?? []), v as string];
        break;
      case 'infRef':
      case 'senderSystemUuid':
      case 'transactionId':
      case 'recipientSystemUuid':
      case 'senderCvr':
      case 'recipientCvr':
        r[h.field] = v as string;
        break;
      case 'senderTimestamp':
        r.senderTimestamp = v as Date | string;
        break;
      case 'selectionDate':
        r.routeParameters = { selectionDate: v as string };
        break;
      case 'sizeInBytes':
        out.sizeInBytes = v as number;
        break;
    }
    return out;
  });

/** Reads a trigger the way the platform does: by the contract's (unqualified) element names, text as written. */
function readTrigger(xml: string) {
  const root = parseXmlSafely(xml, 'trigger').documentElement as unknown as Element;
  assert.strictEqual(root.namespaceURI, SFTP_NS);
  assert.strictEqual(root.localName, 'Trigger');
  const kids = (e: Element | undefined, name: string) => childElements(e).filter((c) => c.localName === name && !c.namespaceURI);
  const one = (e: Element | undefined, name: string) => {
    const found = kids(e, name);
    assert.ok(found.length <= 1, `one ${name}`);
    return found[0];
  };
  const value = (e: Element | undefined, name: string) => {
    const c = one(e, name);
    return c ? (c.textContent ?? '') : undefined;
  };
  const fd = one(root, 'FileDescriptor');
  const info = one(one(root, 'FileContentDescriptor'), 'SFTPDynamicRoutingInfo');
  const params = kids(one(info, 'RouteParameterList'), 'RouteParameter');
  return {
    fileName: value(fd, 'FileName'),
    sizeInBytes: Number(value(fd, 'SizeInBytes')),
    sender: value(fd, 'Sender'),
    sendersFileId: value(fd, 'SendersFileId'),
    recipients: kids(fd, 'Recipients').map((r) => r.textContent ?? ''),
    infRef: value(info, 'InfRef'),
    senderSystemUuid: value(info, 'SenderIt-system'),
    senderAuthority: value(info, 'SenderAuthority'),
    transactionId: value(info, 'TransactionId'),
    senderTimestamp: value(info, 'SenderTimestamp'),
    recipientSystemUuid: value(info, 'RecipientIt-system'),
    recipientAuthority: value(info, 'RecipientAuthority'),
    selectionDates: params.map((p) => childElements(p)[0]?.textContent ?? ''),
  };
}

const cvrUrn = (v: string) => `urn:oio:cvr-nr:${v.trim().replace(/^urn:oio:cvr-nr:/i, '')}`;

describe('fuzz: SFTP receipt files and triggers', () => {
  let schema: XsdSchema | undefined;
  before(async function () {
    const xsd = path.join(process.env.SF2900_CONTRACT_DIR ?? '', 'sftp', 'SFTPTypes.xsd');
    if (fs.existsSync(xsd)) schema = await loadXsd(xsd);
    else if (process.env.CI === 'true') throw new Error(`the SFTP contract is missing: ${xsd}`);
  });

  it('receipt files of every kind parse back to what they say, qualified or not', () => {
    fuzz(SUITE, receiptCaseArb, ({ xml, expected }) => {
      assert.deepStrictEqual(parseSftpReceipt(xml), expected);
    });
  });

  it('mutated receipt files, hostile text and deep nesting: a receipt, XmlError or a plain Error naming what is missing', () => {
    fuzz(
      SUITE,
      fc.oneof(
        mutatedXml(
          receiptCaseArb.map((c) => c.xml),
          VOCABULARY,
        ),
        anyText(200),
      ),
      (xml) => {
        const r = attempt('parseSftpReceipt', () => parseSftpReceipt(xml), [XmlError, Error]);
        if (!r.ok && !(r.error instanceof XmlError)) assert.match(r.error.message, RECEIPT_ERRORS);
        if (r.ok) assert.strictEqual(typeof r.value.success, 'boolean');
      },
    );
    fuzz(
      SUITE,
      deepened(receiptCaseArb.map((c) => c.xml)),
      (xml) => {
        const r = attempt('parseSftpReceipt', () => parseSftpReceipt(xml), [XmlError, Error]);
        if (!r.ok && !(r.error instanceof XmlError)) assert.match(r.error.message, RECEIPT_ERRORS);
      },
      WEIGHT.huge,
    );
  });

  it('buildTrigger: a clear "trigger …" Error, or a contract-valid trigger that reads back to the same values', () => {
    fuzz(
      SUITE,
      triggerArb,
      (t) => {
        const r = attempt('buildTrigger', () => buildTrigger(t), [Error], /^trigger /);
        if (!r.ok) return;
        const xml = r.value;
        if (schema) {
          const v = schema.validate(xml);
          assert.ok(v.valid, `buildTrigger wrote a trigger SFTPTypes.xsd refuses: ${JSON.stringify(v.errors.slice(0, 3))}\n${xml}`);
        }
        const back = readTrigger(xml);
        const ts = t.routing.senderTimestamp;
        assert.deepStrictEqual(back, {
          fileName: t.fileName,
          sizeInBytes: t.sizeInBytes === 0 ? 0 : t.sizeInBytes, // -0 is written as 0
          sender: t.sender,
          sendersFileId: t.sendersFileId === '' ? undefined : t.sendersFileId,
          recipients: t.recipients?.length ? t.recipients : [DYNAMIC_ROUTING_RECIPIENT],
          infRef: t.routing.infRef,
          senderSystemUuid: t.routing.senderSystemUuid.trim().toLowerCase(),
          senderAuthority: cvrUrn(t.routing.senderCvr),
          transactionId: t.routing.transactionId.trim().toLowerCase(),
          senderTimestamp: ts === undefined ? back.senderTimestamp : ts instanceof Date ? ts.toISOString() : ts,
          recipientSystemUuid: t.routing.recipientSystemUuid ? t.routing.recipientSystemUuid.trim().toLowerCase() : undefined,
          recipientAuthority: cvrUrn(t.routing.recipientCvr),
          selectionDates: t.routing.routeParameters?.selectionDate === undefined ? [] : [t.routing.routeParameters.selectionDate],
        });
      },
      WEIGHT.cheap,
    );
  });
});
