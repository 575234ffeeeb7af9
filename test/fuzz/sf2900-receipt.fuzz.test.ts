// Fuzzing the SOAP side of receipts: lib/sf2900/receipts.ts parseReceiptRequest (what receipt in makes of a request
// body), lib/sf2900/soap.ts parseSoapBody (every Serviceplatform answer, faults included) and receipt in's caller
// check (lib/delivery/receipt-handling.ts receiptAuthenticator). Clear errors: XmlError (and its subclasses) and
// SoapFaultError.
import assert from 'node:assert';
import { isIP, isIPv4 } from 'node:net';
import fc from 'fast-check';
import { receiptAuthenticator } from '../../lib/delivery/receipt-handling';
import { NS } from '../../lib/sf2900/namespaces';
import {
  KVITTERING_CODES,
  KVITTERING_TYPES,
  buildReceiptRequest,
  parseReceiptRequest,
  type ParsedReceipt,
  type ReceiptRequestData,
} from '../../lib/sf2900/receipts';
import { SoapFaultError, buildSoapFault, parseSoapBody, soapEnvelope, type SoapFaultOptions } from '../../lib/sf2900/soap';
import { XmlError } from '../../lib/xml/safe-xml';
import { WEIGHT, attempt, fuzz } from './fuzz-support';
import { XMLSerializer } from '@xmldom/xmldom';
import { anyText, deepened, elementsOf, mutatedXml, prefixArb, quietParser, reprefix, xmlValue } from './xml-arbitraries';

const SUITE = 'sf2900 receipt (SOAP)';
const CLEAR = [XmlError, SoapFaultError];

/** The names the readers look for: mutations rename to these so that look-alikes are tried. */
const VOCABULARY = [
  'Envelope',
  'Header',
  'Body',
  'Fault',
  'FordelingskvitteringModtagAnvenderRequest',
  'FordelingskvitteringModtagRequest',
  'Forretningskvittering',
  'ForretningsKvittering',
  'ForretningsValideringsKode',
  'Kvitteringstype',
  'Begrundelse',
  'FejlListe',
  'Fejl',
  'FejlKode',
  'FejlTekst',
  'DistributionContext',
  'AnvenderTransaktionsID',
  'DistributionTransktionsID',
  'DistributionTransaktionsID',
  'DigitalPostMeddelelsesID',
  'AfsendendeMyndighed',
  'RoutingMyndighed',
  'RoutingValg',
  'RoutingKLEEmneHandling',
  'RoutingKLEEmne',
  'RoutingHandlingFacet',
  'RoutingModtagerAktoer',
  'DokumentFilNavn',
  'TransportKvittering',
  'TransportValideringsKode',
  'detail',
  'faultcode',
  'faultstring',
  'ServiceplatformFault',
  'ErrorList',
  'Error',
  'ErrorCode',
  'ErrorText',
] as const;

const idArb = fc.oneof({ weight: 3, arbitrary: fc.uuid() }, { weight: 1, arbitrary: xmlValue(60) });
const cvrArb = fc.oneof(fc.stringMatching(/^[0-9]{8}$/), xmlValue(12));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const receiptDataArb: fc.Arbitrary<ReceiptRequestData> = fc.record({
  transactionId: idArb,
  distributionTransactionId: opt(idArb),
  senderCvr: cvrArb,
  routingCvr: cvrArb,
  routing: fc.oneof(
    fc.record({ kle: fc.oneof(fc.stringMatching(/^[0-9]{2}\.[0-9]{2}\.[0-9]{2}$/), xmlValue(10)), handlingFacet: opt(xmlValue(4)) }),
    fc.record({ receivingSystemUuid: fc.uuid() }),
  ),
  documentFileName: opt(xmlValue(40)),
  digitalPostMessageId: opt(idArb),
  receipt: fc.record({
    code: fc.constantFrom(...KVITTERING_CODES),
    type: fc.constantFrom(...KVITTERING_TYPES),
    reason: opt(xmlValue(80)),
    errors: fc.array(fc.record({ code: xmlValue(10), text: xmlValue(60) }, { noNullPrototype: true }), { maxLength: 3 }),
  }),
});

/** What parseReceiptRequest must read from a request built from `r`. */
function expected(r: ReceiptRequestData): ParsedReceipt {
  const context: Record<string, string | undefined> = {
    transactionId: r.transactionId,
    distributionTransactionId: r.distributionTransactionId,
    digitalPostMessageId: r.digitalPostMessageId,
    senderCvr: r.senderCvr,
    routingCvr: r.routingCvr,
    kle: r.routing.kle,
    handlingFacet: r.routing.kle ? r.routing.handlingFacet : undefined,
    receivingSystemUuid: r.routing.kle ? undefined : r.routing.receivingSystemUuid,
    documentFileName: r.documentFileName,
  };
  for (const k of Object.keys(context)) if (context[k] === undefined) delete context[k];
  return {
    transactionId: r.transactionId,
    distributionTransactionId: r.distributionTransactionId,
    receipt: { code: r.receipt.code, type: r.receipt.type, reason: r.receipt.reason, errors: r.receipt.errors },
    context,
  };
}

/** Changes a namespace-aware reader must not notice, one choice per element. */
type Disguise = 'none' | 'comment' | 'cdata' | 'pad';
const disguiseArb = fc.constantFrom<Disguise>('none', 'comment', 'cdata', 'pad');

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function disguise(xml: string, choices: readonly Disguise[], cut: number): string {
  const doc = quietParser().parseFromString(xml, 'text/xml');
  elementsOf(doc).forEach((el, i) => {
    const only = el.firstChild;
    const leaf = only && only.nodeType === 3 && !only.nextSibling ? (only.nodeValue ?? '') : undefined;
    const choice = choices[i % Math.max(1, choices.length)] ?? 'none';
    if (leaf === undefined || choice === 'none') return;
    el.removeChild(only!);
    const at = cut % (leaf.length + 1);
    if (choice === 'comment') {
      el.appendChild(doc.createTextNode(leaf.slice(0, at)));
      el.appendChild(doc.createComment(' split '));
      el.appendChild(doc.createTextNode(leaf.slice(at)));
    } else if (choice === 'cdata' && !leaf.includes(']]>') && !LONE_SURROGATE.test(leaf)) {
      el.appendChild(doc.createCDATASection(leaf)); // xmldom checks a CDATA section's characters, not a text node's
    } else el.appendChild(doc.createTextNode(` \n\t${leaf}\n `));
  });
  return new XMLSerializer().serializeToString(doc);
}

const envelopeArb = receiptDataArb.map((r) => soapEnvelope(buildReceiptRequest(r)));

describe('fuzz: SOAP receipts (FordelingskvitteringModtag) and SOAP answers', () => {
  it('a receipt request built by buildReceiptRequest parses back to the same fields, however it is prefixed, split or padded', () => {
    fuzz(
      SUITE,
      fc.record({
        data: receiptDataArb,
        prefixes: fc.array(prefixArb, { maxLength: 6 }),
        disguises: fc.array(disguiseArb, { maxLength: 8 }),
        cut: fc.nat(),
        lead: fc.constantFrom('', '\uFEFF', '\n\n  ', '\uFEFF\r\n'),
        header: fc.constantFrom('', '<h:Trace xmlns:h="urn:fuzz">x</h:Trace>'),
      }),
      ({ data, prefixes, disguises, cut, lead, header }) => {
        let xml = soapEnvelope(buildReceiptRequest(data), header || undefined);
        if (prefixes.length) xml = reprefix(xml, prefixes);
        if (disguises.length) xml = disguise(xml, disguises, cut);
        const parsed = parseReceiptRequest(lead + xml);
        assert.deepStrictEqual(parsed, expected(data));
      },
      WEIGHT.cheap,
    );
  });

  it('mutated receipt requests: a receipt with an id and a code, or XmlError/SoapFaultError', () => {
    fuzz(SUITE, mutatedXml(envelopeArb, VOCABULARY), (xml) => {
      const r = attempt('parseReceiptRequest', () => parseReceiptRequest(xml), CLEAR);
      if (r.ok) {
        assert.ok(r.value.transactionId.length > 0, 'a receipt has an AnvenderTransaktionsID');
        assert.ok(r.value.receipt.code.length > 0, 'a receipt has a ForretningsValideringsKode');
        assert.ok(Array.isArray(r.value.receipt.errors));
      }
    });
  });

  it('hostile text and deep nesting anywhere in a receipt: XmlError/SoapFaultError, never a stack overflow', () => {
    fuzz(SUITE, fc.oneof(anyText(300), fc.constantFrom('', '<', '<a/>', soapEnvelope('')), fc.string({ unit: 'binary', maxLength: 100 })), (text) => {
      attempt('parseReceiptRequest', () => parseReceiptRequest(text), CLEAR);
    });
    fuzz(
      SUITE,
      deepened(envelopeArb),
      (xml) => {
        attempt('parseReceiptRequest', () => parseReceiptRequest(xml), CLEAR);
      },
      WEIGHT.huge,
    );
  });

  // parseSoapBody reads every answer of the Serviceplatform (and faults the anvender endpoint may answer with)
  const fejl = fc.array(fc.record({ code: xmlValue(10), text: xmlValue(40) }, { noNullPrototype: true }), { maxLength: 3 });
  const faultArb: fc.Arbitrary<SoapFaultOptions> = fc.record({
    faultCode: fc.oneof(fc.constantFrom('Client', 'Server', 'soapenv:Client', 'x:Custom'), xmlValue(20)),
    faultString: xmlValue(80),
    transportKvittering: opt(
      fc.record({ code: fc.constantFrom('OK' as const, 'ADVARSEL' as const, 'FEJL' as const), reason: opt(xmlValue(40)), errors: fejl }),
    ),
    platformErrors: opt(fejl),
    transportKvitteringNs: opt(fc.constantFrom('v2' as const, 'v3' as const)),
  });

  it('a fault built by buildSoapFault reads back as a SoapFaultError with the same code, text and errors', () => {
    fuzz(SUITE, fc.record({ fault: faultArb, prefixes: fc.array(prefixArb, { maxLength: 5 }) }), ({ fault, prefixes }) => {
      let xml = buildSoapFault(fault);
      if (prefixes.length) xml = reprefix(xml, prefixes);
      const r = attempt('parseSoapBody', () => parseSoapBody(xml), [SoapFaultError]);
      assert.ok(!r.ok, 'a fault is thrown');
      const err = r.error as SoapFaultError;
      assert.strictEqual(err.faultString, fault.faultString);
      assert.strictEqual(err.faultCode, fault.faultCode.includes(':') ? fault.faultCode : `soapenv:${fault.faultCode}`);
      assert.deepStrictEqual(
        err.transportKvittering,
        fault.transportKvittering
          ? { code: fault.transportKvittering.code, reason: fault.transportKvittering.reason, errors: fault.transportKvittering.errors }
          : undefined,
      );
      assert.deepStrictEqual(err.platformErrors, fault.platformErrors?.length ? fault.platformErrors : undefined);
    });
  });

  it('mutated and deeply nested SOAP answers: an element, SoapFaultError or XmlError, never a stack overflow', () => {
    const answers = fc.oneof(
      faultArb.map((f) => buildSoapFault(f)),
      envelopeArb,
      fc.constantFrom(
        soapEnvelope(`<v3:FordelingsobjektAfsendResponse xmlns:v3="${NS.v3}"/>`),
        soapEnvelope(`<v3:TransportKvittering xmlns:v3="${NS.v3}"><v3:TransportValideringsKode>FEJL</v3:TransportValideringsKode></v3:TransportKvittering>`),
      ),
    );
    fuzz(SUITE, mutatedXml(answers, VOCABULARY), (xml) => {
      const r = attempt('parseSoapBody', () => parseSoapBody(xml), CLEAR);
      if (r.ok) assert.ok(r.value.localName, 'the first element of the Body');
    });
    fuzz(
      SUITE,
      deepened(answers),
      (xml) => {
        attempt('parseSoapBody', () => parseSoapBody(xml), CLEAR);
      },
      WEIGHT.huge,
    );
  });

  it("receipt in's caller check: never throws; the configured user and password pass, anything else does not", () => {
    const user = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((u) => !u.includes(':'));
    const password = fc.string({ unit: 'grapheme', maxLength: 12 });
    fuzz(
      SUITE,
      fc.record({
        user,
        password,
        header: fc.oneof(
          fc.tuple(user, password).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
          anyText(60),
          fc.tuple(fc.constantFrom('Basic ', 'basic\t', 'Basic  ', 'Bearer '), anyText(40), fc.nat({ max: 50_000 })).map(([s, t, n]) => s + t + ' '.repeat(n)),
        ),
        remoteAddress: fc.oneof(
          fc.ipV4(),
          fc.ipV6(),
          fc.ipV4().map((a) => `::ffff:${a}`),
          anyText(20),
        ),
      }),
      ({ user: u, password: p, header, remoteAddress }) => {
        const check = receiptAuthenticator({ basic: { user: u, password: p }, allow: ['0.0.0.0/0', '::/0'] });
        const verdict = check({ authorization: header, remoteAddress });
        const right = header === `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
        const ip = remoteAddress.startsWith('::ffff:') && isIPv4(remoteAddress.slice(7)) ? remoteAddress.slice(7) : remoteAddress;
        if (right && isIP(ip)) assert.deepStrictEqual(verdict, { ok: true });
        if (verdict.ok) assert.strictEqual(Buffer.from(/^Basic\s+(\S+)\s*$/i.exec(header)![1]!, 'base64').toString('utf8'), `${u}:${p}`);
      },
    );
  });
});
