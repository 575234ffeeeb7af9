import assert from 'assert';
import { X509Certificate } from 'crypto';
import { DOMParser } from '@xmldom/xmldom';
import { Signer, signEnveloped, signWsSecurity } from '../../../lib/signing/sign';
import { verifyXmlSignature } from '../../../lib/signing/verify';
import { fingerprintOf, loadSigningKey, parsePins } from '../../../lib/signing/keys';
import { NS, WSS, ALG } from '../../../lib/signing/constants';
import { makeTestKey, removeTestKeys, type TestKey } from './test-keys';

const DOC = '<kvittering xmlns="urn:example:doc"><navn>Hans Hansen</navn><beloeb>100</beloeb></kvittering>';
const ENVELOPE =
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://www.w3.org/2005/08/addressing">' +
  '<soap:Header><wsa:Action>http://example/Afsend</wsa:Action><wsa:MessageID>urn:uuid:0b8b6e4c-6d5a-4a8e-9f53-1d2f3c4b5a69</wsa:MessageID>' +
  '<wsa:To>https://example/service</wsa:To><liberty:Framework xmlns:liberty="urn:liberty:sb:2006-08" liberty:profile="urn:liberty:sb:profile:basic" liberty:version="2.0"/>' +
  '</soap:Header><soap:Body><m:Afsend xmlns:m="urn:example:m"><m:Beloeb>100</m:Beloeb></m:Afsend></soap:Body></soap:Envelope>';

function parse(xml: string) {
  return new DOMParser().parseFromString(xml, 'text/xml');
}

describe('lib/signing: sign and verify', function () {
  this.timeout(30000);
  let key: TestKey;
  let other: TestKey;
  let signer: Signer;
  let pins: string;

  before(() => {
    key = makeTestKey('OS2 signer');
    other = makeTestKey('Someone else');
    signer = new Signer(key);
    pins = key.certPem;
  });
  after(() => removeTestKeys());

  describe('enveloped', () => {
    it('signs the document with RSA-SHA256, SHA-256, exclusive c14n and the certificate in KeyInfo, and verifies', () => {
      const signed = signer.signSync({ mode: 'enveloped', xml: DOC });
      const doc = parse(signed);
      const sig = doc.getElementsByTagNameNS(NS.ds, 'Signature');
      assert.strictEqual(sig.length, 1);
      assert.strictEqual(sig[0].parentNode, doc.documentElement, 'the signature is enveloped in the signed element');
      assert.match(signed, new RegExp(`SignatureMethod Algorithm="${ALG.rsaSha256}"`));
      assert.match(signed, new RegExp(`DigestMethod Algorithm="${ALG.sha256}"`));
      assert.match(signed, new RegExp(`CanonicalizationMethod Algorithm="${ALG.excC14n}"`));
      assert.match(signed, /<ds:Reference URI="">/);
      const certText = doc.getElementsByTagNameNS(NS.ds, 'X509Certificate')[0].textContent!;
      assert.strictEqual(certText, new X509Certificate(key.certPem).raw.toString('base64'));

      const result = verifyXmlSignature(signed, { pins });
      assert.strictEqual(result.reason, undefined);
      assert.strictEqual(result.valid, true);
      assert.strictEqual(result.mode, 'enveloped');
      assert.match(result.signedElement!, /<navn>Hans Hansen<\/navn>/);
      assert.doesNotMatch(result.signedElement!, /Signature/);
      assert.strictEqual(result.signer!.fingerprint256, fingerprintOf(new X509Certificate(key.certPem)));
    });

    it('refuses a Reference without URI, transform chains it does not support and processing instructions; names a changed digest', () => {
      const signed = signer.signSync({ mode: 'enveloped', xml: DOC });
      const noUri = verifyXmlSignature(signed.replace('<ds:Reference URI="">', '<ds:Reference>'), { pins });
      assert.strictEqual(noUri.valid, false);
      assert.match(noUri.reason!, /no URI/);
      const twoC14n = signed.replace(
        `<ds:Transform Algorithm="${ALG.excC14n}"/>`,
        `<ds:Transform Algorithm="${ALG.excC14n}"/><ds:Transform Algorithm="${ALG.c14n}"/>`,
      );
      const chain = verifyXmlSignature(twoC14n, { pins });
      assert.strictEqual(chain.valid, false);
      assert.match(chain.reason!, /transform chain/);
      // changed content is a digest that does not match; a changed DigestValue, a signature value that does not
      const contentChanged = signed.replace('Hans Hansen', 'Hans Hansenn');
      assert.match(verifyXmlSignature(contentChanged, { pins }).reason!, /digest of the reference "" does not match/);
      const digestChanged = signed.replace(/<ds:DigestValue>[^<]+</, '<ds:DigestValue>AAAA<');
      assert.match(verifyXmlSignature(digestChanged, { pins }).reason!, /signature value is incorrect/);
      // URI="" covers the document but not what sits inside the signature (the enveloped transform left it out)
      const hidden = signed.replace('<ds:X509Data>', '<extra Id="planted">pay 1000000</extra><ds:X509Data>');
      const planted = verifyXmlSignature(hidden, { pins, id: 'planted' });
      assert.strictEqual(planted.valid, false);
      assert.match(planted.reason!, /does not cover the element that is used/);
      // a processing instruction inside the document is refused (its text is digested, but a reader skips it)
      const pi = signed.replace('Hans Hansen', 'Hans<?x y?> Hansen');
      assert.match(verifyXmlSignature(pi, { pins }).reason!, /processing instruction/);
    });

    it('verifies against a pinned SHA-256 fingerprint (with colons) as well as a PEM', () => {
      const signed = signer.signSync({ mode: 'enveloped', xml: DOC });
      const fp = new X509Certificate(key.certPem).fingerprint256;
      assert.strictEqual(verifyXmlSignature(signed, { pins: `# the sender\n${fp}` }).valid, true);
      assert.strictEqual(verifyXmlSignature(signed, { pins: [other.certPem, fp.replace(/:/g, '').toLowerCase()] }).valid, true);
    });

    it('signs the element chosen by XPath or by Id and checks that element is covered', () => {
      const xml = '<r xmlns:a="urn:a"><a:head>h</a:head><a:data Id="d1"><v>1</v></a:data></r>';
      const byXpath = signer.signSync({ mode: 'enveloped', xml, xpath: '/r/a:data' });
      const sigParent = parse(byXpath).getElementsByTagNameNS(NS.ds, 'Signature')[0].parentNode as unknown as { localName: string };
      assert.strictEqual(sigParent.localName, 'data');
      assert.match(byXpath, /<ds:Reference URI="#d1">/);
      const ok = verifyXmlSignature(byXpath, { pins, xpath: '/r/a:data' });
      assert.strictEqual(ok.valid, true, ok.reason);
      assert.match(ok.signedElement!, /^<a:data xmlns:a="urn:a" Id="d1"><v>1<\/v><\/a:data>$/);
      // The document root is not covered, so a flow using the whole document is told so.
      const rootUse = verifyXmlSignature(byXpath, { pins });
      assert.strictEqual(rootUse.valid, false);
      assert.match(rootUse.reason!, /does not cover/);

      const noId = '<r><x><v>2</v></x><y>3</y></r>';
      const byId = signer.signSync({ mode: 'enveloped', xml: '<r><x id="abc"><v>2</v></x></r>', id: 'abc' });
      assert.strictEqual(verifyXmlSignature(byId, { pins, id: 'abc' }).valid, true);
      const generated = signer.signSync({ mode: 'enveloped', xml: noId, xpath: '/r/x' });
      const id = /<x Id="([^"]+)"/.exec(generated)![1];
      assert.strictEqual(verifyXmlSignature(generated, { pins, id }).valid, true);
    });

    it('keeps an XML declaration and ignores a byte order mark', () => {
      const withDecl = signer.signSync({ mode: 'enveloped', xml: '<?xml version="1.0" encoding="UTF-8"?>\n<a><b>1</b></a>' });
      assert.match(withDecl, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<a>/);
      assert.strictEqual(verifyXmlSignature(withDecl, { pins }).valid, true);
      const bom = signer.signSync({ mode: 'enveloped', xml: '\uFEFF<?xml version="1.0"?><a/>' });
      assert.strictEqual(verifyXmlSignature('\uFEFF' + bom, { pins }).valid, true);
    });

    it('refuses to sign what it cannot sign cleanly', () => {
      const k = loadSigningKey(key);
      assert.throws(() => signEnveloped('<a><b/>', k), /not well-formed/);
      assert.throws(() => signEnveloped('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', k), /DTD or entity/);
      assert.throws(() => signEnveloped(DOC, k, { xpath: '//nothing' }), /selects 0 elements/);
      assert.throws(() => signEnveloped('<a><b/><b/></a>', k, { xpath: '//b' }), /selects 2 elements/);
      assert.throws(() => signEnveloped(signEnveloped(DOC, k), k), /already signed/);
      assert.throws(() => loadSigningKey({ keyPem: key.keyPem, certPem: other.certPem }), /does not belong/);
      assert.throws(() => loadSigningKey({ keyPem: 'nonsense', certPem: key.certPem }), /private key could not be read/);
    });
  });

  describe('WS-Security', () => {
    it('adds wsse:Security with Timestamp, BinarySecurityToken and one Signature over Body, Timestamp and WS-Addressing headers', () => {
      const now = new Date();
      const signed = signer.signSync({ mode: 'wssecurity', xml: ENVELOPE, lifetimeSeconds: 120, extraHeaders: ['{urn:liberty:sb:2006-08}Framework'], now });
      const doc = parse(signed);
      const securities = doc.getElementsByTagNameNS(NS.wsse, 'Security');
      assert.strictEqual(securities.length, 1);
      const security = securities[0];
      assert.strictEqual((security.parentNode as unknown as { localName: string }).localName, 'Header');
      assert.strictEqual(security.getAttributeNS(NS.soap11, 'mustUnderstand'), '1');
      const kids = Array.from({ length: security.childNodes.length }, (_, i) => security.childNodes[i]).filter((n) => n.nodeType === 1) as unknown as {
        localName: string;
      }[];
      assert.deepStrictEqual(
        kids.map((k) => k.localName),
        ['Timestamp', 'BinarySecurityToken', 'Signature'],
        'strict layout',
      );

      const ts = doc.getElementsByTagNameNS(NS.wsu, 'Timestamp')[0];
      const created = Date.parse(ts.getElementsByTagNameNS(NS.wsu, 'Created')[0].textContent!);
      const expires = Date.parse(ts.getElementsByTagNameNS(NS.wsu, 'Expires')[0].textContent!);
      assert.strictEqual(created, now.getTime());
      assert.strictEqual(expires - created, 120_000);

      const bst = doc.getElementsByTagNameNS(NS.wsse, 'BinarySecurityToken')[0];
      assert.strictEqual(bst.getAttribute('ValueType'), WSS.x509v3);
      assert.strictEqual(bst.getAttribute('EncodingType'), WSS.base64Binary);
      assert.strictEqual(bst.textContent, new X509Certificate(key.certPem).raw.toString('base64'));

      const refUris = Array.from(doc.getElementsByTagNameNS(NS.ds, 'Reference')).map((r) => r.getAttribute('URI'));
      const idOf = (ns: string, name: string) => '#' + doc.getElementsByTagNameNS(ns, name)[0].getAttributeNS(NS.wsu, 'Id');
      for (const [ns, name] of [
        [NS.soap11, 'Body'],
        [NS.wsu, 'Timestamp'],
        [NS.wsa, 'Action'],
        [NS.wsa, 'MessageID'],
        [NS.wsa, 'To'],
        [NS.liberty, 'Framework'],
      ]) {
        assert.ok(refUris.includes(idOf(ns, name)), `${name} is signed`);
      }
      assert.strictEqual(refUris.length, 6);
      assert.strictEqual(doc.getElementsByTagNameNS(NS.ds, 'Signature').length, 1);
      const str = doc.getElementsByTagNameNS(NS.wsse, 'SecurityTokenReference')[0];
      assert.strictEqual(str.getElementsByTagNameNS(NS.wsse, 'Reference')[0].getAttribute('URI'), '#' + bst.getAttributeNS(NS.wsu, 'Id'));

      const result = verifyXmlSignature(signed, { pins, requiredHeaders: ['Framework'] });
      assert.strictEqual(result.reason, undefined);
      assert.strictEqual(result.valid, true);
      assert.strictEqual(result.mode, 'wssecurity');
      assert.match(result.signedElement!, /^<soap:Body [^>]*><m:Afsend xmlns:m="urn:example:m"><m:Beloeb>100<\/m:Beloeb><\/m:Afsend><\/soap:Body>$/);
    });

    it('creates the Header when the envelope has none, and can sign the token too', () => {
      const bare = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x>1</x></s:Body></s:Envelope>';
      const signed = signer.signSync({ mode: 'wssecurity', xml: bare, signToken: true });
      assert.match(signed, /^<s:Envelope[^>]*><s:Header><wsse:Security/);
      assert.strictEqual(parse(signed).getElementsByTagNameNS(NS.ds, 'Reference').length, 3);
      assert.strictEqual(verifyXmlSignature(signed, { pins }).valid, true);
    });

    it('refuses what is not a SOAP envelope, or a lifetime that is not positive', () => {
      const k = loadSigningKey(key);
      assert.throws(() => signWsSecurity(DOC, k), /SOAP envelope/);
      assert.throws(() => signWsSecurity(ENVELOPE, k, { lifetimeSeconds: 0 }), /lifetime/);
    });

    it('rejects an expired message, an unsigned WS-Addressing header and a missing Framework header signature', () => {
      const old = signer.signSync({ mode: 'wssecurity', xml: ENVELOPE, lifetimeSeconds: 60, now: new Date(Date.now() - 3600_000) });
      const expired = verifyXmlSignature(old, { pins });
      assert.strictEqual(expired.valid, false);
      assert.match(expired.reason!, /expired/);

      const signed = signer.signSync({ mode: 'wssecurity', xml: ENVELOPE });
      const added = signed.replace('<wsa:Action', '<wsa:ReplyTo><wsa:Address>https://evil.example/</wsa:Address></wsa:ReplyTo><wsa:Action');
      const r1 = verifyXmlSignature(added, { pins });
      assert.strictEqual(r1.valid, false);
      assert.match(r1.reason!, /header ReplyTo is not signed/);
      const r2 = verifyXmlSignature(signed, { pins, requiredHeaders: ['{urn:liberty:sb:2006-08}Framework'] });
      assert.strictEqual(r2.valid, false);
      assert.match(r2.reason!, /header Framework is not signed/);
    });
  });

  describe('rejections', () => {
    it('rejects tampered content', () => {
      const env = signer.signSync({ mode: 'enveloped', xml: DOC }).replace('<beloeb>100</beloeb>', '<beloeb>900</beloeb>');
      const r = verifyXmlSignature(env, { pins });
      assert.strictEqual(r.valid, false);
      assert.match(r.reason!, /digest/);
      assert.strictEqual(r.signedElement, undefined);
      const wss = signer.signSync({ mode: 'wssecurity', xml: ENVELOPE }).replace('<m:Beloeb>100<', '<m:Beloeb>900<');
      const r2 = verifyXmlSignature(wss, { pins });
      assert.strictEqual(r2.valid, false);
      assert.match(r2.reason!, /digest/);
      // A changed SignatureValue is caught too.
      const signed = signer.signSync({ mode: 'enveloped', xml: DOC });
      const badSig = signed.replace(/<ds:SignatureValue>(.)/, (_m, c: string) => `<ds:SignatureValue>${c === 'A' ? 'B' : 'A'}`);
      const r3 = verifyXmlSignature(badSig, { pins });
      assert.strictEqual(r3.valid, false);
      assert.match(r3.reason!, /signature value is incorrect/);
    });

    it('rejects a swapped certificate: another certificate in KeyInfo, or a signature by an unpinned key', () => {
      const signed = signer.signSync({ mode: 'enveloped', xml: DOC });
      const otherB64 = new X509Certificate(other.certPem).raw.toString('base64');
      const swapped = signed.replace(/<ds:X509Certificate>[^<]+</, `<ds:X509Certificate>${otherB64}<`);
      const notPinned = verifyXmlSignature(swapped, { pins });
      assert.strictEqual(notPinned.valid, false);
      assert.match(notPinned.reason!, /not one of the pinned certificates/);
      // Even when both certificates are pinned, the other certificate's key did not make this signature.
      const bothPinned = verifyXmlSignature(swapped, { pins: [key.certPem, other.certPem] });
      assert.strictEqual(bothPinned.valid, false);
      assert.match(bothPinned.reason!, /signature value is incorrect/);
      // Signed by someone else, with their own certificate in KeyInfo: not pinned.
      const forged = new Signer(other).signSync({ mode: 'enveloped', xml: DOC });
      assert.match(verifyXmlSignature(forged, { pins }).reason!, /not one of the pinned/);
      // WS-Security: a swapped BinarySecurityToken.
      const wss = signer.signSync({ mode: 'wssecurity', xml: ENVELOPE }).replace(/(<wsse:BinarySecurityToken[^>]*>)[^<]+</, `$1${otherB64}<`);
      const r = verifyXmlSignature(wss, { pins: [key.certPem, other.certPem] });
      assert.strictEqual(r.valid, false);
      assert.match(r.reason!, /signature value is incorrect/);
    });

    it('rejects a moved signed element (signature wrapping) in WS-Security', () => {
      const signed = signer.signSync({ mode: 'wssecurity', xml: ENVELOPE });
      const body = /<soap:Body[\s\S]*<\/soap:Body>/.exec(signed)![0];
      const evilBody = '<soap:Body><m:Afsend xmlns:m="urn:example:m"><m:Beloeb>999999</m:Beloeb></m:Afsend></soap:Body>';
      // The signed Body moves into a header wrapper; a new unsigned Body takes its place.
      const moved = signed.replace(body, evilBody).replace('</soap:Header>', `<Wrapper xmlns="urn:evil">${body}</Wrapper></soap:Header>`);
      const r1 = verifyXmlSignature(moved, { pins });
      assert.strictEqual(r1.valid, false);
      assert.match(r1.reason!, /does not cover the SOAP Body/);
      // The same, with the new Body carrying the same wsu:Id: an Id referenced twice.
      const id = /wsu:Id="(Body-[^"]+)"/.exec(body)![1];
      const dup = moved.replace(evilBody, evilBody.replace('<soap:Body>', `<soap:Body wsu:Id="${id}">`));
      const r2 = verifyXmlSignature(dup, { pins });
      assert.strictEqual(r2.valid, false);
      assert.match(r2.reason!, /appears more than once/);
    });

    it('rejects a moved signed element (signature wrapping) in enveloped mode', () => {
      const xml = '<r><order Id="o1"><amount>100</amount></order></r>';
      const signed = signer.signSync({ mode: 'enveloped', xml, id: 'o1' });
      const original = /<order[\s\S]*<\/order>/.exec(signed)![0];
      // The flow reads /r/order; the attacker puts a forged order there and hides the signed one elsewhere.
      const moved = signed.replace(original, `<order Id="o2"><amount>999999</amount></order><hidden>${original}</hidden>`);
      const r = verifyXmlSignature(moved, { pins, xpath: '/r/order' });
      assert.strictEqual(r.valid, false);
      assert.match(r.reason!, /does not cover the element that is used/);
      // Whole-document signature moved under a new root: the digest no longer matches.
      const whole = signer.signSync({ mode: 'enveloped', xml: DOC });
      const wrapped = `<evil>${whole}<extra>1</extra></evil>`;
      assert.strictEqual(verifyXmlSignature(wrapped, { pins }).valid, false);
    });

    it('rejects a comment inside DigestValue or SignatureValue (CVE-2025-29775 pattern)', () => {
      const signed = signer.signSync({ mode: 'enveloped', xml: DOC });
      const inDigest = signed.replace(/<ds:DigestValue>([^<]+)</, '<ds:DigestValue><!--x-->$1<');
      const r = verifyXmlSignature(inDigest, { pins });
      assert.strictEqual(r.valid, false);
      assert.match(r.reason!, /DigestValue contains markup or a comment/);
      const tail = signed.replace(/<ds:DigestValue>([^<]+)</, '<ds:DigestValue>$1<!--AAAA=--><');
      assert.match(verifyXmlSignature(tail, { pins }).reason!, /DigestValue contains markup or a comment/);
      const inSig = signed.replace(/<ds:SignatureValue>([^<]{10})/, '<ds:SignatureValue>$1<!---->');
      assert.match(verifyXmlSignature(inSig, { pins }).reason!, /SignatureValue contains markup or a comment/);
    });

    it('rejects a DTD or entity', () => {
      const signed = signer.signSync({ mode: 'enveloped', xml: DOC });
      const withDtd = `<!DOCTYPE kvittering [<!ENTITY navn "Hans Hansen">]>${signed.replace('Hans Hansen', '&navn;')}`;
      const r = verifyXmlSignature(withDtd, { pins });
      assert.strictEqual(r.valid, false);
      assert.match(r.reason!, /DTD or entity/);
      const external = `<!DOCTYPE kvittering SYSTEM "http://127.0.0.1:1/x.dtd">${signed}`;
      assert.match(verifyXmlSignature(external, { pins }).reason!, /DTD or entity/);
    });

    it('rejects two Signatures, two SignedInfo, and an external reference', () => {
      const signed = signer.signSync({ mode: 'enveloped', xml: DOC });
      const sig = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)![0];
      const two = signed.replace('</kvittering>', `<extra>${sig}</extra></kvittering>`);
      assert.match(verifyXmlSignature(two, { pins }).reason!, /exactly one Signature, found 2/);
      const signedInfo = /<ds:SignedInfo>[\s\S]*<\/ds:SignedInfo>/.exec(signed)![0];
      const twoInfo = signed.replace(signedInfo, signedInfo + signedInfo);
      assert.match(verifyXmlSignature(twoInfo, { pins }).reason!, /exactly one SignedInfo, found 2/);
      const external = signed.replace('<ds:Reference URI="">', '<ds:Reference URI="http://127.0.0.1:1/x">');
      assert.match(verifyXmlSignature(external, { pins }).reason!, /not a same-document reference/);
      const sha1 = signed.replace(`SignatureMethod Algorithm="${ALG.rsaSha256}"`, 'SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"');
      assert.match(verifyXmlSignature(sha1, { pins }).reason!, /signature algorithm .* is not accepted/);
    });

    it('rejects unsigned input and malformed XML without throwing; refuses to run without pins', () => {
      assert.match(verifyXmlSignature(DOC, { pins }).reason!, /exactly one Signature, found 0/);
      assert.match(verifyXmlSignature('<a>', { pins }).reason!, /not well-formed/);
      assert.match(verifyXmlSignature(ENVELOPE, { pins, mode: 'wssecurity' }).reason!, /wsse:Security/);
      assert.throws(() => verifyXmlSignature(DOC, { pins: '' }), /no pinned certificates/);
    });

    it('reads pins and refuses text that is neither PEM nor fingerprint', () => {
      const p = parsePins(`# pinned: the sender, and a spare; commas allowed here\n${key.certPem}\nsha256:${'AB'.repeat(32)}, ${'cd'.repeat(32)}\n`);
      assert.strictEqual(p.certificates.length, 1);
      assert.strictEqual(p.fingerprints.size, 3);
      assert.throws(() => parsePins('not-a-fingerprint'), /neither a PEM certificate nor a SHA-256 fingerprint/);
    });
  });
});
