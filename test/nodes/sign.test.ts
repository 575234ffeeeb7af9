// os2-sign: enveloped / WS-Security signing with the os2-certificate config node, and verify with two outputs.
import { strict as assert } from 'node:assert';
import helper from 'node-red-node-test-helper';
import signNode from '../../nodes/sign/sign';
import certificateNode from '../../nodes/certificate/certificate';
import { verifyXmlSignature } from '../../lib/signing/verify';
import { NS } from '../../lib/signing/constants';
import { makeTestKey, removeTestKeys, type TestKey } from '../lib/signing/test-keys';

type Msg = Record<string, unknown> & { payload?: unknown };

const DOC = '<kvittering xmlns="urn:example:doc"><navn>Åse Sørensen</navn><beloeb>100</beloeb></kvittering>';
const ENVELOPE =
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://www.w3.org/2005/08/addressing">' +
  '<soap:Header><wsa:Action>http://example/Afsend</wsa:Action><wsa:MessageID>urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427</wsa:MessageID>' +
  '<liberty:Framework xmlns:liberty="urn:liberty:sb:2006-08" liberty:version="2.0"/></soap:Header>' +
  '<soap:Body><m:Afsend xmlns:m="urn:example:m"><m:Beloeb>100</m:Beloeb></m:Afsend></soap:Body></soap:Envelope>';

/** Loads a flow with the real certificate config node and the sign node. */
function load(flow: Array<Record<string, unknown>>, credentials: Record<string, unknown>) {
  return helper.load([certificateNode, signNode], flow as never, credentials as never);
}

function next(nodeId: string): Promise<Msg> {
  return new Promise((resolve) => helper.getNode(nodeId).once('input', (msg: Msg) => resolve(msg)));
}

function errorOf(nodeId: string): Promise<string> {
  return new Promise((resolve) => helper.getNode(nodeId).once('call:error', (call: { args: unknown[] }) => resolve(String(call.args[0]))));
}

describe('os2-sign node', function () {
  this.timeout(30000);
  let key: TestKey;
  let other: TestKey;

  before(() => {
    key = makeTestKey('OS2 node signer');
    other = makeTestKey('Other');
  });
  afterEach(() => helper.unload());
  after(() => removeTestKeys());

  const tab = { id: 't1', type: 'tab' };
  const cert = { id: 'c1', type: 'os2-certificate', name: 'test cert' };
  const creds = () => ({ c1: { keyPem: key.keyPem, certPem: key.certPem } });

  it('signs the payload (enveloped) with the certificate node; the result verifies against the pinned certificate', async () => {
    await load(
      [
        tab,
        cert,
        { id: 's1', z: 't1', type: 'os2-sign', mode: 'enveloped', certificate: 'c1', property: 'payload', wires: [['out']] },
        { id: 'out', z: 't1', type: 'helper' },
      ],
      creds(),
    );
    const got = next('out');
    helper.getNode('s1').receive({ payload: DOC, submissionId: 'x' } as never);
    const msg = await got;
    assert.equal(msg.submissionId, 'x', 'the rest of the message is kept');
    const r = verifyXmlSignature(msg.payload as string, { pins: key.certPem });
    assert.equal(r.valid, true, r.reason);
    assert.match(r.signedElement!, /Åse Sørensen/);
  });

  it('signs another property, the element chosen by XPath, and a Buffer', async () => {
    await load(
      [
        tab,
        cert,
        { id: 's1', z: 't1', type: 'os2-sign', mode: 'enveloped', certificate: 'c1', property: 'doc.xml', select: 'xpath', xpath: '/r/data', wires: [['out']] },
        { id: 'out', z: 't1', type: 'helper' },
      ],
      creds(),
    );
    const got = next('out');
    helper.getNode('s1').receive({ payload: 'untouched', doc: { xml: Buffer.from('<r><head/><data><v>1</v></data></r>') } } as never);
    const msg = await got;
    assert.equal(msg.payload, 'untouched');
    const signed = (msg.doc as { xml: string }).xml;
    assert.match(signed, /<data Id="[^"]+"><v>1<\/v><ds:Signature/);
    assert.equal(verifyXmlSignature(signed, { pins: key.certPem, xpath: '/r/data' }).valid, true);
  });

  it('adds WS-Security with the configured timestamp lifetime and signs the Framework header', async () => {
    await load(
      [
        tab,
        cert,
        {
          id: 's1',
          z: 't1',
          type: 'os2-sign',
          mode: 'wssecurity',
          certificate: 'c1',
          lifetime: 90,
          extraHeaders: '{urn:liberty:sb:2006-08}Framework',
          wires: [['out']],
        },
        { id: 'out', z: 't1', type: 'helper' },
      ],
      creds(),
    );
    const got = next('out');
    helper.getNode('s1').receive({ payload: ENVELOPE } as never);
    const signed = (await got).payload as string;
    const created = Date.parse(/<wsu:Created>([^<]+)</.exec(signed)![1]);
    const expires = Date.parse(/<wsu:Expires>([^<]+)</.exec(signed)![1]);
    assert.equal(expires - created, 90_000);
    assert.match(signed, /<wsse:Security [^>]*soap:mustUnderstand="1"/);
    assert.match(signed, /<liberty:Framework [^>]*wsu:Id="(Framework-[^"]+)"/);
    const fwId = /<liberty:Framework [^>]*wsu:Id="([^"]+)"/.exec(signed)![1];
    assert.match(signed, new RegExp(`<ds:Reference URI="#${fwId}">`));
    const r = verifyXmlSignature(signed, { pins: key.certPem, requiredHeaders: ['Framework'] });
    assert.equal(r.valid, true, r.reason);
    assert.equal(r.mode, 'wssecurity');
  });

  it('round trip in a flow: sign → verify routes valid messages to output 1 with msg.signedElement, tampered ones to output 2', async () => {
    const fp = require('crypto')
      .createHash('sha256')
      .update(Buffer.from(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END/.exec(key.certPem)![1].replace(/\s/g, ''), 'base64'))
      .digest('hex');
    await load(
      [
        tab,
        cert,
        { id: 's1', z: 't1', type: 'os2-sign', mode: 'wssecurity', certificate: 'c1', wires: [['v1']] },
        { id: 'v1', z: 't1', type: 'os2-sign', mode: 'verify', pins: `# Serviceplatformen\n${fp}`, outputs: 2, wires: [['valid'], ['invalid']] },
        { id: 'valid', z: 't1', type: 'helper' },
        { id: 'invalid', z: 't1', type: 'helper' },
      ],
      creds(),
    );
    const ok = next('valid');
    helper.getNode('s1').receive({ payload: ENVELOPE } as never);
    const msg = await ok;
    assert.deepEqual((msg.signature as { valid: boolean }).valid, true);
    assert.match(msg.signedElement as string, /^<soap:Body[^>]*><m:Afsend xmlns:m="urn:example:m"><m:Beloeb>100<\/m:Beloeb><\/m:Afsend><\/soap:Body>$/);

    const bad = next('invalid');
    helper.getNode('v1').receive({ payload: (msg.payload as string).replace('<m:Beloeb>100<', '<m:Beloeb>999<') } as never);
    const rejected = await bad;
    assert.match(rejected.signatureError as string, /digest/);
    assert.equal((rejected.signature as { valid: boolean }).valid, false);
    const status = (helper.getNode('v1').status as unknown as { lastCall: { args: [{ fill: string; text: string }] } }).lastCall.args[0];
    assert.equal(status.fill, 'yellow');
    assert.match(status.text, /^invalid: /);
  });

  it('verify rejects a swapped certificate, a wrapped Body, a comment inside a digest and a DTD on output 2', async () => {
    await load(
      [
        tab,
        cert,
        { id: 's1', z: 't1', type: 'os2-sign', mode: 'wssecurity', certificate: 'c1', wires: [['signed']] },
        { id: 'v1', z: 't1', type: 'os2-sign', mode: 'verify', pins: key.certPem, outputs: 2, wires: [['valid'], ['invalid']] },
        { id: 'signed', z: 't1', type: 'helper' },
        { id: 'valid', z: 't1', type: 'helper' },
        { id: 'invalid', z: 't1', type: 'helper' },
      ],
      creds(),
    );
    const s = next('signed');
    helper.getNode('s1').receive({ payload: ENVELOPE } as never);
    const signed = (await s).payload as string;
    const body = /<soap:Body[\s\S]*<\/soap:Body>/.exec(signed)![0];
    const otherB64 = Buffer.from(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END/.exec(other.certPem)![1].replace(/\s/g, ''), 'base64').toString('base64');
    const cases: Array<[string, string, RegExp]> = [
      ['swapped certificate', signed.replace(/(<wsse:BinarySecurityToken[^>]*>)[^<]+</, `$1${otherB64}<`), /not one of the pinned/],
      [
        'wrapped Body',
        signed.replace(body, '<soap:Body><x>evil</x></soap:Body>').replace('</soap:Header>', `<w>${body}</w></soap:Header>`),
        /does not cover the SOAP Body/,
      ],
      ['comment in digest', signed.replace(/<ds:DigestValue>/, '<ds:DigestValue><!---->'), /DigestValue contains markup or a comment/],
      ['DTD', `<!DOCTYPE x [<!ENTITY e "e">]>${signed}`, /DTD or entity/],
    ];
    for (const [what, xml, reason] of cases) {
      const got = next('invalid');
      helper.getNode('v1').receive({ payload: xml } as never);
      assert.match((await got).signatureError as string, reason, what);
    }
  });

  it('signs on the worker pool: many messages in parallel, all valid and each matches its input', async () => {
    await load(
      [
        tab,
        cert,
        { id: 's1', z: 't1', type: 'os2-sign', mode: 'enveloped', certificate: 'c1', usePool: true, poolSize: 2, wires: [['out']] },
        { id: 'out', z: 't1', type: 'helper' },
      ],
      creds(),
    );
    const out = helper.getNode('out');
    const results: Msg[] = [];
    const all = new Promise<void>((resolve) =>
      out.on('input', (m: Msg) => {
        results.push(m);
        if (results.length === 10) resolve();
      }),
    );
    for (let i = 0; i < 10; i++) helper.getNode('s1').receive({ payload: `<doc><n>${i}</n></doc>`, n: i } as never);
    await all;
    for (const m of results) {
      const r = verifyXmlSignature(m.payload as string, { pins: key.certPem });
      assert.equal(r.valid, true, r.reason);
      assert.match(r.signedElement!, new RegExp(`<n>${m.n}</n>`));
    }
  });

  it('bad input ends with done(err): not a string, malformed XML, an already signed envelope', async () => {
    await load(
      [tab, cert, { id: 's1', z: 't1', type: 'os2-sign', mode: 'wssecurity', certificate: 'c1', wires: [['out']] }, { id: 'out', z: 't1', type: 'helper' }],
      creds(),
    );
    const s1 = helper.getNode('s1');
    let e = errorOf('s1');
    s1.receive({ payload: { not: 'xml' } } as never);
    assert.match(await e, /msg.payload must be XML text/);
    e = errorOf('s1');
    s1.receive({ payload: '<soap:Envelope' } as never);
    assert.match(await e, /not well-formed/);
    e = errorOf('s1');
    s1.receive({ payload: DOC } as never);
    assert.match(await e, /SOAP envelope/);
    const got = next('out');
    s1.receive({ payload: ENVELOPE } as never);
    const signed = (await got).payload as string;
    e = errorOf('s1');
    s1.receive({ payload: signed } as never);
    assert.match(await e, /already signed/);
  });

  it('without a usable certificate or pins, the node reports it and every message ends in an error', async () => {
    await load(
      [
        tab,
        { id: 'c2', type: 'os2-certificate', name: 'empty' },
        { id: 's1', z: 't1', type: 'os2-sign', mode: 'enveloped', certificate: 'c2', wires: [[]] },
        { id: 's2', z: 't1', type: 'os2-sign', mode: 'enveloped', wires: [[]] },
        { id: 'v1', z: 't1', type: 'os2-sign', mode: 'verify', pins: 'not a fingerprint', outputs: 2, wires: [[], []] },
      ],
      {},
    );
    let e = errorOf('s1');
    helper.getNode('s1').receive({ payload: DOC } as never);
    assert.match(await e, /certificate/);
    e = errorOf('s2');
    helper.getNode('s2').receive({ payload: DOC } as never);
    assert.match(await e, /no certificate configured/);
    e = errorOf('v1');
    helper.getNode('v1').receive({ payload: DOC } as never);
    assert.match(await e, /neither a PEM certificate nor a SHA-256 fingerprint/);
  });

  it('verify requires the named headers to be signed when present', async () => {
    await load(
      [
        tab,
        cert,
        { id: 's1', z: 't1', type: 'os2-sign', mode: 'wssecurity', certificate: 'c1', extraHeaders: '', wires: [['v1']] },
        {
          id: 'v1',
          z: 't1',
          type: 'os2-sign',
          mode: 'verify',
          pins: key.certPem,
          extraHeaders: '{urn:liberty:sb:2006-08}Framework',
          outputs: 2,
          wires: [['valid'], ['invalid']],
        },
        { id: 'valid', z: 't1', type: 'helper' },
        { id: 'invalid', z: 't1', type: 'helper' },
      ],
      creds(),
    );
    const bad = next('invalid');
    helper.getNode('s1').receive({ payload: ENVELOPE } as never);
    assert.match((await bad).signatureError as string, /header Framework is not signed/);
  });

  it('verify in enveloped mode uses the element chosen by Id', async () => {
    await load(
      [
        tab,
        cert,
        { id: 's1', z: 't1', type: 'os2-sign', mode: 'enveloped', certificate: 'c1', select: 'id', elementId: 'indhold', wires: [['v1']] },
        {
          id: 'v1',
          z: 't1',
          type: 'os2-sign',
          mode: 'verify',
          verifyAs: 'enveloped',
          select: 'id',
          elementId: 'indhold',
          pins: key.certPem,
          outputs: 2,
          wires: [['valid'], ['invalid']],
        },
        { id: 'valid', z: 't1', type: 'helper' },
        { id: 'invalid', z: 't1', type: 'helper' },
      ],
      creds(),
    );
    const ok = next('valid');
    helper.getNode('s1').receive({ payload: '<brev><hoved>h</hoved><indhold id="indhold"><tekst>Hej</tekst></indhold></brev>' } as never);
    const msg = await ok;
    assert.match(msg.signedElement as string, /^<indhold id="indhold"><tekst>Hej<\/tekst><\/indhold>$/);
    assert.ok(!String(msg.signedElement).includes(NS.ds));
  });
});
