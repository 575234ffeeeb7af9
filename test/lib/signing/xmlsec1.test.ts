// Interoperability with xmlsec1 (the libxmlsec command line tool), both ways. In CI (CI=true) xmlsec1 must be
// installed: this suite then fails instead of skipping.
import assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import { X509Certificate } from 'crypto';
import { Signer } from '../../../lib/signing/sign';
import { verifyXmlSignature } from '../../../lib/signing/verify';
import { NS } from '../../../lib/signing/constants';
import { loadSigningKey } from '../../../lib/signing/keys';
import { buildIssueRequest, buildTokenEnvelope, FORDELING_ENTITY_ID, parseIssueResponse, STS_URLS } from '../../../lib/sts';
import { makeAssertion, rstr } from '../sts/fake-sts';
import { makeTestKey, removeTestKeys, writeTemp, type TestKey } from './test-keys';

function hasXmlsec1(): boolean {
  return spawnSync('xmlsec1', ['--version'], { stdio: 'pipe' }).status === 0;
}

function xmlsec1(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('xmlsec1', args, { encoding: 'utf8', stdio: 'pipe' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

const ENVELOPE =
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://www.w3.org/2005/08/addressing">' +
  '<soap:Header><wsa:Action>http://example/Afsend</wsa:Action><wsa:MessageID>urn:uuid:7d1f0c39-9f5c-4c0b-a3a8-5b9c0c1d2e3f</wsa:MessageID>' +
  '<liberty:Framework xmlns:liberty="urn:liberty:sb:2006-08" liberty:profile="urn:liberty:sb:profile:basic" liberty:version="2.0"/></soap:Header>' +
  '<soap:Body><m:Afsend xmlns:m="urn:example:m"><m:Tekst>Æbler &amp; pærer</m:Tekst></m:Afsend></soap:Body></soap:Envelope>';

const TEMPLATE_SIGNATURE = (uri: string) =>
  '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>' +
  '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>' +
  '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>' +
  `<Reference URI="${uri}"><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
  '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>' +
  '<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo>' +
  '<SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>';

describe('lib/signing: interoperability with xmlsec1', function () {
  this.timeout(30000);
  let key: TestKey;
  let other: TestKey;
  let signer: Signer;

  before(function () {
    if (!hasXmlsec1()) {
      if (process.env.CI === 'true') throw new Error('xmlsec1 is not installed, and CI=true: install the Debian package xmlsec1');
      this.skip();
    }
    key = makeTestKey('OS2 xmlsec signer');
    other = makeTestKey('Other signer');
    signer = new Signer(key);
  });
  after(() => removeTestKeys());

  it('an enveloped signature made here verifies with xmlsec1 --pubkey-cert-pem, and a tampered one does not', () => {
    const signed = signer.signSync({ mode: 'enveloped', xml: '<doc xmlns="urn:x"><a>Æble</a><!-- note --><b c="1"/></doc>' });
    const file = writeTemp(key.dir, 'enveloped.xml', signed);
    const r = xmlsec1(['--verify', '--pubkey-cert-pem', key.certFile, file]);
    assert.ok(r.ok, r.out);
    assert.match(r.out, /^OK/m);
    // Also with the certificate as a trusted one (xmlsec1 then takes the key from KeyInfo and checks the chain).
    const trusted = xmlsec1(['--verify', '--trusted-pem', key.certFile, file]);
    assert.ok(trusted.ok, trusted.out);

    const tampered = writeTemp(key.dir, 'tampered.xml', signed.replace('Æble', 'Pære'));
    assert.strictEqual(xmlsec1(['--verify', '--pubkey-cert-pem', key.certFile, tampered]).ok, false);
    assert.strictEqual(xmlsec1(['--verify', '--pubkey-cert-pem', other.certFile, file]).ok, false);
  });

  it('a WS-Security envelope signed here verifies with xmlsec1 (wsu:Id registered as ID)', () => {
    const signed = signer.signSync({ mode: 'wssecurity', xml: ENVELOPE, extraHeaders: ['Framework'] });
    const file = writeTemp(key.dir, 'wss.xml', signed);
    const ids = [`${NS.soap11}:Body`, `${NS.wsu}:Timestamp`, `${NS.wsa}:Action`, `${NS.wsa}:MessageID`, `${NS.liberty}:Framework`].flatMap((n) => [
      '--id-attr:Id',
      n,
    ]);
    const r = xmlsec1(['--verify', '--pubkey-cert-pem', key.certFile, ...ids, file]);
    assert.ok(r.ok, r.out);
    assert.match(r.out, /SignedInfo References \(ok\/all\): 5\/5/);
    const tampered = writeTemp(key.dir, 'wss-tampered.xml', signed.replace('pærer', 'bananer'));
    assert.strictEqual(xmlsec1(['--verify', '--pubkey-cert-pem', key.certFile, ...ids, tampered]).ok, false);
  });

  it('a document signed by xmlsec1 (whole document) verifies here against the pinned certificate', () => {
    const template = writeTemp(key.dir, 'tmpl.xml', `<doc xmlns="urn:x"><a>Æble</a><b c="1"/>${TEMPLATE_SIGNATURE('')}</doc>`);
    const out = `${key.dir}/xmlsec-signed.xml`;
    execFileSync('xmlsec1', ['--sign', '--privkey-pem', `${key.keyFile},${key.certFile}`, '--output', out, template], { stdio: 'pipe' });
    const signed = require('fs').readFileSync(out, 'utf8') as string;
    assert.match(signed, /<X509Certificate>\s*MII/, 'xmlsec1 filled in the certificate');
    const fp = new X509Certificate(key.certPem).fingerprint256;
    const r = verifyXmlSignature(signed, { pins: fp });
    assert.strictEqual(r.reason, undefined);
    assert.strictEqual(r.valid, true);
    assert.match(r.signedElement!, /<a>Æble<\/a>/);
    // The same document is refused when another certificate is pinned, or when it was changed.
    assert.match(verifyXmlSignature(signed, { pins: other.certPem }).reason!, /not one of the pinned/);
    assert.strictEqual(verifyXmlSignature(signed.replace('c="1"', 'c="2"'), { pins: fp }).valid, false);
  });

  it('an element signed by xmlsec1 by Id verifies here, and the element is the one covered', () => {
    const xml = `<r xmlns="urn:x"><head>h</head><data Id="d1"><v>1</v>${TEMPLATE_SIGNATURE('#d1')}</data></r>`;
    const template = writeTemp(key.dir, 'tmpl-id.xml', xml);
    const out = `${key.dir}/xmlsec-signed-id.xml`;
    execFileSync('xmlsec1', ['--sign', '--privkey-pem', `${key.keyFile},${key.certFile}`, '--id-attr:Id', 'urn:x:data', '--output', out, template], {
      stdio: 'pipe',
    });
    const signed = require('fs').readFileSync(out, 'utf8') as string;
    const r = verifyXmlSignature(signed, { pins: key.certPem, id: 'd1' });
    assert.strictEqual(r.valid, true, r.reason);
    assert.match(r.signedElement!, /^<data xmlns="urn:x" Id="d1"><v>1<\/v><\/data>$/);
    assert.strictEqual(verifyXmlSignature(signed, { pins: key.certPem }).valid, false, 'the root is not covered');
  });
  it('an element signed by xmlsec1 with inclusive C14N and exclusive C14N with a prefix list verifies here (ancestor namespaces)', () => {
    // inclusive C14N of an element renders every namespace in scope from its ancestors; an InclusiveNamespaces
    // PrefixList makes exclusive C14N render the listed ones: both must come out as xmlsec1 (libxml2) computes them
    const inclusive = TEMPLATE_SIGNATURE('#d1').replace(
      '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
      '<Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>',
    );
    const prefixList = TEMPLATE_SIGNATURE('#d1').replace(
      '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
      '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><InclusiveNamespaces xmlns="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="p q"/></Transform>',
    );
    for (const [name, signature] of [
      ['inclusive', inclusive],
      ['prefix-list', prefixList],
    ]) {
      const xml = `<r xmlns="urn:x" xmlns:p="urn:p" xmlns:q="urn:q" xmlns:z="urn:z"><head>h</head><data Id="d1"><v>1</v>${signature}</data></r>`;
      const template = writeTemp(key.dir, `tmpl-${name}.xml`, xml);
      const out = `${key.dir}/xmlsec-signed-${name}.xml`;
      execFileSync('xmlsec1', ['--sign', '--privkey-pem', `${key.keyFile},${key.certFile}`, '--id-attr:Id', 'urn:x:data', '--output', out, template], {
        stdio: 'pipe',
      });
      const signed = require('fs').readFileSync(out, 'utf8') as string;
      const r = verifyXmlSignature(signed, { pins: key.certPem, id: 'd1' });
      assert.strictEqual(r.valid, true, `${name}: ${r.reason}`);
      if (name === 'inclusive') assert.match(r.signedElement!, /^<data xmlns="urn:x" xmlns:p="urn:p" xmlns:q="urn:q" xmlns:z="urn:z" Id="d1">/);
      else assert.match(r.signedElement!, /^<data xmlns="urn:x" xmlns:p="urn:p" xmlns:q="urn:q" Id="d1">/);
      // and a namespace changed on an ancestor is a changed digest for inclusive C14N
      if (name === 'inclusive')
        assert.strictEqual(verifyXmlSignature(signed.replace('xmlns:z="urn:z"', 'xmlns:z="urn:zz"'), { pins: key.certPem, id: 'd1' }).valid, false);
    }
  });

  it('the STS Issue request (SOAP 1.2) and a token-model envelope verify with xmlsec1', () => {
    const clientKey = loadSigningKey(key);
    const issue = buildIssueRequest(clientKey, { stsUrl: STS_URLS.test, appliesTo: FORDELING_ENTITY_ID, cvr: '12345678' });
    const wsaIds = ['Action', 'MessageID', 'To', 'ReplyTo'].flatMap((n) => ['--id-attr:Id', `${NS.wsa}:${n}`]);
    const common = [...wsaIds, '--id-attr:Id', `${NS.wsu}:Timestamp`, '--id-attr:Id', `${NS.wsse}:BinarySecurityToken`];
    const r1 = xmlsec1(['--verify', '--pubkey-cert-pem', key.certFile, ...common, '--id-attr:Id', `${NS.soap12}:Body`, writeTemp(key.dir, 'issue.xml', issue)]);
    assert.ok(r1.ok, r1.out);
    assert.match(r1.out, /SignedInfo References \(ok\/all\): 7\/7/);

    const stsKey = loadSigningKey(other);
    const expires = new Date(Date.now() + 3600_000);
    const token = parseIssueResponse(
      rstr(makeAssertion({ stsKey, holderCertBase64: clientKey.certBase64, cvr: '12345678', audience: FORDELING_ENTITY_ID, notOnOrAfter: expires }), expires),
    );
    // written and signed as text (lib/signing/token-wss.ts): a body that exercises exclusive C14N (a namespace declared
    // above where it is used, an unused one, a default one, escapes in text and attributes, CR, an empty element) and
    // header values that need escaping
    const bodyXml =
      '<v3:Req xmlns:v3="urn:v3" xmlns:v2="urn:v2" xmlns:unused="urn:unused"><v2:Tekst b=\'enkelt "q"\' a="x&amp;&lt;&quot;&#9;&#10;&#13;y">' +
      'Æbler &amp; pærer &lt;&gt; "q" \'a\'&#13;\r\nlinje 😀</v2:Tekst><v3:Tom/><Plain xmlns="urn:default">d</Plain></v3:Req>';
    const envelope = buildTokenEnvelope(clientKey, { bodyXml, action: 'urn:action&x', to: 'https://sp.local/x?a=1&b=<2>', messageId: 'urn:uuid:"m"\r', token });
    // xmlsec1 checks the first Signature in document order (the STS's, inside the assertion) unless told which one.
    const securitySignature = "/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Signature']";
    const tokenIds = [...common, '--id-attr:Id', `${NS.soap11}:Body`, '--id-attr:Id', `${NS.liberty}:Framework`, '--id-attr:ID', `${NS.saml2}:Assertion`];
    const verifyMessage = (file: string, xml: string) =>
      xmlsec1(['--verify', '--pubkey-cert-pem', key.certFile, '--node-xpath', securitySignature, ...tokenIds, writeTemp(key.dir, file, xml)]);
    const r2 = verifyMessage('token.xml', envelope);
    assert.ok(r2.ok, r2.out);
    assert.match(r2.out, /SignedInfo References \(ok\/all\): 8\/8/);
    // a header changed after signing no longer verifies
    const tampered = envelope.replace('https://sp.local/x?a=1&amp;b=&lt;2&gt;', 'https://evil.local/x');
    assert.notStrictEqual(tampered, envelope);
    const r4 = verifyMessage('token3.xml', tampered);
    assert.strictEqual(r4.ok, false, r4.out);
    // And the STS's signature on the embedded assertion, with the STS certificate.
    const stsCert = writeTemp(key.dir, 'sts.pem', other.certPem);
    const r3 = xmlsec1(['--verify', '--pubkey-cert-pem', stsCert, '--id-attr:ID', `${NS.saml2}:Assertion`, writeTemp(key.dir, 'token2.xml', envelope)]);
    assert.ok(r3.ok, r3.out);
  });
});
