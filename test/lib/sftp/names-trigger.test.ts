import assert from 'assert';
import * as path from 'path';
import { Readable } from 'stream';
import { loadXsd, type XsdSchema } from '../../../lib/xml/xsd';
import {
  buildTrigger,
  buildTechnicalReceipt,
  normaliseFingerprint,
  parseSftpReceipt,
  receiptErrorText,
  safeSftpName,
  assertSafeSftpName,
  uploadSourceOf,
  sftpNameOf,
  MAX_SFTP_BASE_NAME,
  type TriggerInput,
} from '../../../lib/sftp';

const SUB = '5c1e0d2a-8f7b-4c3e-9a1d-2b3c4d5e6f70';

function trigger(overrides: Partial<TriggerInput> = {}): TriggerInput {
  return {
    fileName: safeSftpName(SUB, 0, 'bilag.pdf'),
    sizeInBytes: 1234,
    sender: 'OS2Forms_FordelingUdvikling',
    routing: {
      infRef: 'HelbredstillægAnsøgningBilag_1',
      senderSystemUuid: 'A1B2C3D4-0000-4000-8000-000000000001',
      senderCvr: '29189846',
      transactionId: '0f6c5a3e-1111-4222-8333-444455556666',
      senderTimestamp: new Date('2026-11-22T08:00:00Z'),
      recipientCvr: '14814833',
    },
    ...overrides,
  };
}

describe('lib/sftp names, trigger, receipts', () => {
  let schema: XsdSchema;
  before(async () => {
    schema = await loadXsd(path.join(process.env.SF2900_CONTRACT_DIR!, 'sftp', 'SFTPTypes.xsd'));
  });

  describe('safeSftpName', () => {
    const hostile: Array<[string, string]> = [
      ['path traversal', '../../x'],
      ['windows path', '..\\..\\windows\\system32\\x.exe'],
      ['control characters', 'a\u0000b\u0007c\r\nd\u001b[31m.pdf'],
      ['300 characters', 'å'.repeat(150) + 'x'.repeat(146) + '.pdf'],
      ['Danish letters', 'Ærø æblegrød på Åbenrå.pdf'],
      ['only dots', '....'],
      ['empty', ''],
    ];
    for (const [what, name] of hostile) {
      it(`makes a plain, safe name of ${what}`, () => {
        const n = safeSftpName(SUB, 2, name);
        assert.ok(n.length <= MAX_SFTP_BASE_NAME && n.length <= 255, `${n.length} characters`);
        assert.match(n, /^[A-Za-z0-9][A-Za-z0-9._-]*$/);
        assert.ok(!n.includes('..') && !n.includes('/') && !n.includes('\\'));
        assert.ok(n.includes(SUB), 'carries the submission uuid');
        assert.doesNotThrow(() => assertSafeSftpName(n));
      });
    }
    it('transliterates Danish letters and keeps the extension of a shortened name', () => {
      assert.match(safeSftpName(SUB, 0, 'Ærø æblegrød på Åbenrå.pdf'), /Aeroe_aeblegroed_paa_Aabenraa\.pdf$/);
      assert.match(safeSftpName(SUB, 0, 'x'.repeat(300) + '.pdf'), /x\.pdf$/);
    });
    it('is unique per submission and index, and stable', () => {
      const names = new Set([safeSftpName(SUB, 0, 'a.pdf'), safeSftpName(SUB, 1, 'a.pdf'), safeSftpName(SUB.replace('5c', '6c'), 0, 'a.pdf')]);
      assert.strictEqual(names.size, 3);
      assert.strictEqual(safeSftpName(SUB, 0, 'a.pdf'), safeSftpName(SUB, 0, 'a.pdf'));
    });
    it('assertSafeSftpName refuses paths and traversal', () => {
      for (const bad of ['../x', 'a/b', '.hidden', 'a..b', '', 'x'.repeat(244)]) assert.throws(() => assertSafeSftpName(bad), /unsafe SFTP file name/);
    });
  });

  describe('buildTrigger', () => {
    it('writes a Trigger that validates against SFTPTypes.xsd, in contract order', () => {
      const xml = buildTrigger(trigger({ sendersFileId: '9d1c2b3a-0000-4000-8000-000000000042' }));
      const r = schema.validate(xml);
      assert.deepStrictEqual(r.errors, []);
      assert.ok(r.valid);
      const order = [
        'FileName',
        'SizeInBytes',
        'Sender',
        'SendersFileId',
        'Recipients',
        'InfRef',
        'SenderIt-system',
        'SenderAuthority',
        'TransactionId',
        'SenderTimestamp',
        'RecipientAuthority',
      ];
      const positions = order.map((e) => xml.indexOf(`<${e}>`));
      assert.ok(
        positions.every((p, i) => p > 0 && (i === 0 || p > positions[i - 1])),
        positions.join(','),
      );
      assert.match(xml, /<Recipients>ROUTING_V1_0_0<\/Recipients>/);
      assert.match(xml, /<SenderIt-system>a1b2c3d4-0000-4000-8000-000000000001<\/SenderIt-system>/, 'UUID lower-cased');
      assert.match(xml, /<SenderAuthority>urn:oio:cvr-nr:29189846<\/SenderAuthority>/);
      assert.match(xml, /<InfRef>HelbredstillægAnsøgningBilag_1<\/InfRef>/);
    });
    it('with RecipientIt-system and RouteParameterList still validates', () => {
      const t = trigger();
      t.routing.recipientSystemUuid = 'ABCDEF01-2345-4678-89AB-CDEF01234567';
      t.routing.routeParameters = { selectionDate: '2026-11-22' };
      const xml = buildTrigger(t);
      assert.ok(schema.validate(xml).valid, JSON.stringify(schema.validate(xml).errors));
      assert.ok(xml.indexOf('<RecipientIt-system>') < xml.indexOf('<RecipientAuthority>'));
      assert.match(xml, /RouteSelectionValueDate>2026-11-22</);
    });
    it('escapes markup in names and refuses values the schema would refuse', () => {
      const xml = buildTrigger(trigger({ sender: 'a<b&c' }));
      assert.ok(schema.validate(xml).valid);
      assert.match(xml, /a&lt;b&amp;c/);
      assert.throws(() => buildTrigger(trigger({ fileName: 'x'.repeat(256) })), /FileName is longer than 255/);
      assert.throws(() => buildTrigger(trigger({ sizeInBytes: -1 })), /SizeInBytes/);
      assert.throws(() => buildTrigger({ ...trigger(), routing: { ...trigger().routing, senderCvr: '1234' } }), /SenderAuthority must be a CVR/);
      assert.throws(() => buildTrigger({ ...trigger(), routing: { ...trigger().routing, transactionId: 'not-a-uuid' } }), /TransactionId must be a UUID/);
    });
  });

  describe('receipts', () => {
    it('parses SUCCESS and error TechnicalReceipts (which validate against the contract)', () => {
      const ok = buildTechnicalReceipt({ fileTransferUuid: 'ft-1', sendersFileId: 's-1' });
      assert.ok(schema.validate(ok).valid);
      assert.deepStrictEqual(parseSftpReceipt(ok), {
        kind: 'technical',
        fileTransferUuid: 'ft-1',
        sendersFileId: 's-1',
        success: true,
        message: 'SUCCESS',
        errors: [],
      });
      const bad = buildTechnicalReceipt({
        fileTransferUuid: 'ft-2',
        errors: [{ code: 17, codeDescription: 'Invalid trigger', description: 'InfRef unknown' }],
      });
      assert.ok(schema.validate(bad).valid);
      const r = parseSftpReceipt(bad);
      assert.strictEqual(r.success, false);
      assert.strictEqual(receiptErrorText(r), '17 Invalid trigger: InfRef unknown');
    });
    it('parses BusinessReceipt and BusinessResponse, qualified or not', () => {
      const ns = 'http://serviceplatformen.dk/xml/wsdl/soap11/SFTP/1/types';
      const br = `<BusinessReceipt xmlns="${ns}"><FileTransferUUID>u</FileTransferUUID><Filename>f.pdf</Filename><Recipient>KP</Recipient><FileAcceptance>REJECTED</FileAcceptance><Reason>Virus</Reason></BusinessReceipt>`;
      const r = parseSftpReceipt(br);
      assert.strictEqual(r.kind, 'business');
      assert.strictEqual(r.success, false);
      assert.strictEqual(receiptErrorText(r), 'REJECTED: Virus');
      const resp = parseSftpReceipt(`<s:BusinessResponse xmlns:s="${ns}"><ResponseMessage>OK</ResponseMessage></s:BusinessResponse>`);
      assert.deepStrictEqual(resp, { kind: 'businessResponse', responseMessage: 'OK', errors: [], success: true });
    });
    it('refuses DTDs, malformed XML and foreign documents', () => {
      assert.throws(() => parseSftpReceipt('<!DOCTYPE x [<!ENTITY a "b">]><TechnicalReceipt/>'), /DTD/);
      assert.throws(() => parseSftpReceipt('<TechnicalReceipt>'), /not well-formed/);
      assert.throws(() => parseSftpReceipt('<Other/>'), /not an SFTP receipt/);
    });
  });

  it('normalises host-key fingerprints as OpenSSH prints them', () => {
    const b64 = 'SVpvvBxwW9m6tBMByYgyXK7pwQb2PiwvrVmqvxc9SKw';
    assert.strictEqual(normaliseFingerprint(`SHA256:${b64}`), `SHA256:${b64}`);
    assert.strictEqual(normaliseFingerprint(` ${b64}= `), `SHA256:${b64}`);
    assert.strictEqual(normaliseFingerprint('MD5:aa:bb'), undefined);
    assert.strictEqual(normaliseFingerprint(''), undefined);
  });
});

describe('lib/sftp FileRef helpers', () => {
  it('picks the upload source of a FileRef and refuses one without content', async () => {
    const buf = Buffer.from('x');
    assert.strictEqual(uploadSourceOf({ name: 'a.pdf', content: buf }), buf);
    assert.deepStrictEqual(uploadSourceOf({ name: 'a.pdf', path: '/tmp/a.pdf' }), { path: '/tmp/a.pdf' });
    const opened: string[] = [];
    const src = uploadSourceOf({ name: 'a.pdf', url: 'https://site/a.pdf' }, async (u: string) => {
      opened.push(u);
      return Readable.from([buf]);
    });
    assert.ok('open' in src);
    await (src as { open: () => Promise<unknown> }).open();
    assert.deepStrictEqual(opened, ['https://site/a.pdf']);
    assert.throws(() => uploadSourceOf({ name: 'a.pdf', url: 'https://site/a.pdf' }), /no way to download/);
    assert.throws(() => uploadSourceOf({ name: 'a.pdf' }), /has no content, path or url/);
    assert.strictEqual(sftpNameOf(SUB, 1, { name: '../x.pdf' }), safeSftpName(SUB, 1, '../x.pdf'));
    assert.strictEqual(sftpNameOf(SUB, 1, { name: 'x.pdf', sftpName: 'given_name.pdf' }), 'given_name.pdf');
    assert.throws(() => sftpNameOf(SUB, 1, { name: 'x.pdf', sftpName: '../evil' }), /unsafe SFTP file name/);
  });
});
