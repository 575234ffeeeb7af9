import assert from 'assert';
import { DOMParser } from '@xmldom/xmldom';
import { loadSigningKey, type SigningKey } from '../../../lib/signing/keys';
import { verifyXmlSignature } from '../../../lib/signing/verify';
import { NS, WSS } from '../../../lib/signing/constants';
import { serialize } from '../../../lib/signing/xpath';
import {
  buildIssueRequest,
  buildTokenEnvelope,
  FORDELING_ENTITY_ID,
  parseIssueResponse,
  requestToken,
  StsError,
  STS_NS,
  STS_URLS,
  TokenCache,
  verifyTokenRequest,
  WST,
  type IssuedToken,
} from '../../../lib/sts';
import { makeTestKey, removeTestKeys, type TestKey } from '../signing/test-keys';
import { fault12, makeAssertion, rstr, startFakeSts } from './fake-sts';
import { testCerts } from '../../support/certs';

const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml');
const AFSEND_ACTION = 'http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/port/FordelingsobjektAfsend';

describe('lib/sts: WS-Trust token request, response, cache and token-model envelope', function () {
  this.timeout(30000);
  let client: TestKey;
  let sts: TestKey;
  let clientKey: SigningKey;
  let stsKey: SigningKey;

  before(() => {
    client = makeTestKey('OS2 client system');
    sts = makeTestKey('Test STS');
    clientKey = loadSigningKey(client);
    stsKey = loadSigningKey(sts);
  });
  after(() => removeTestKeys());

  function token(lifetimeMs = 8 * 3600_000): IssuedToken {
    const xml = rstr(
      makeAssertion({
        stsKey,
        holderCertBase64: clientKey.certBase64,
        cvr: '12345678',
        audience: FORDELING_ENTITY_ID,
        notOnOrAfter: new Date(Date.now() + lifetimeMs),
      }),
      new Date(Date.now() + lifetimeMs),
    );
    return parseIssueResponse(xml, { stsPins: sts.certPem });
  }

  describe('Issue request', () => {
    it('is a signed SOAP 1.2 WS-Trust Issue for a SAML 2.0 holder-of-key token with the CVR claim', () => {
      const now = new Date();
      const xml = buildIssueRequest(clientKey, { stsUrl: STS_URLS.test, appliesTo: FORDELING_ENTITY_ID, cvr: '12345678', now });
      const doc = parse(xml);
      assert.strictEqual(doc.documentElement!.namespaceURI, NS.soap12);
      const text = (ns: string, name: string) => doc.getElementsByTagNameNS(ns, name)[0]?.textContent;
      assert.strictEqual(text(NS.wsa, 'Action'), WST.issueAction);
      assert.strictEqual(text(NS.wsa, 'To'), STS_URLS.test);
      assert.match(text(NS.wsa, 'MessageID')!, /^urn:uuid:[0-9a-f-]{36}$/);
      assert.strictEqual(doc.getElementsByTagNameNS(NS.wsse, 'Security')[0].getAttributeNS(NS.soap12, 'mustUnderstand'), 'true');
      assert.strictEqual(Date.parse(text(NS.wsu, 'Expires')!) - Date.parse(text(NS.wsu, 'Created')!), 300_000);
      assert.strictEqual(text(STS_NS.wst, 'TokenType'), WST.samlV2);
      assert.strictEqual(text(STS_NS.wst, 'RequestType'), WST.issueRequestType);
      assert.strictEqual(text(STS_NS.wst, 'KeyType'), WST.publicKey);
      const useKey = doc.getElementsByTagNameNS(STS_NS.wst, 'UseKey')[0];
      assert.strictEqual(useKey.getElementsByTagNameNS(NS.wsse, 'BinarySecurityToken')[0].textContent, clientKey.certBase64);
      const appliesTo = doc.getElementsByTagNameNS(STS_NS.wsp, 'AppliesTo')[0];
      assert.strictEqual(appliesTo.getElementsByTagNameNS(NS.wsa, 'Address')[0].textContent, FORDELING_ENTITY_ID);
      const claim = doc.getElementsByTagNameNS(STS_NS.auth, 'ClaimType')[0];
      assert.strictEqual(claim.getAttribute('Uri'), WST.cvrClaim);
      assert.strictEqual(claim.textContent, '12345678');
      // One signature over Body, Timestamp, Action, MessageID, To, ReplyTo and the header BinarySecurityToken.
      const uris = Array.from(doc.getElementsByTagNameNS(NS.ds, 'Reference')).map((r) => r.getAttribute('URI')!.slice(1));
      const signedNames = uris.map((id) => {
        const el = Array.from(doc.getElementsByTagName('*')).find((e) => e.getAttributeNS(NS.wsu, 'Id') === id)!;
        return el.localName;
      });
      assert.deepStrictEqual([...signedNames].sort(), ['Action', 'BinarySecurityToken', 'Body', 'MessageID', 'ReplyTo', 'Timestamp', 'To']);
      const r = verifyXmlSignature(xml, { pins: client.certPem, now });
      assert.strictEqual(r.valid, true, r.reason);
    });

    it('refuses a CVR that is not eight digits', () => {
      assert.throws(() => buildIssueRequest(clientKey, { stsUrl: STS_URLS.test, appliesTo: FORDELING_ENTITY_ID, cvr: '1234' }), /eight digits/);
    });
  });

  describe('Issue response', () => {
    it('yields the assertion and NotOnOrAfter, checking the STS signature against the pinned STS certificate', () => {
      const t = token(3600_000);
      assert.match(t.assertionId, /^_/);
      assert.strictEqual(t.issuer, 'https://sts.test.local');
      assert.ok(Math.abs(t.notOnOrAfter.getTime() - (Date.now() + 3600_000)) < 5000);
      assert.match(t.assertionXml, /^<saml:Assertion /);
    });

    it('rejects a tampered assertion, one signed by another STS, an expired token and a fault', () => {
      const assertion = makeAssertion({
        stsKey,
        holderCertBase64: clientKey.certBase64,
        cvr: '12345678',
        audience: FORDELING_ENTITY_ID,
        notOnOrAfter: new Date(Date.now() + 3600_000),
      });
      const tampered = rstr(assertion.replace('12345678', '87654321'), new Date(Date.now() + 3600_000));
      assert.throws(
        () => parseIssueResponse(tampered, { stsPins: sts.certPem }),
        (e: Error) => e instanceof StsError && /signature is not valid.*digest/.test(e.message),
      );
      assert.throws(() => parseIssueResponse(rstr(assertion, new Date()), { stsPins: client.certPem }), /not one of the pinned/);
      const expired = makeAssertion({
        stsKey,
        holderCertBase64: clientKey.certBase64,
        cvr: '12345678',
        audience: FORDELING_ENTITY_ID,
        notOnOrAfter: new Date(Date.now() - 1000),
      });
      assert.throws(() => parseIssueResponse(rstr(expired, new Date(Date.now() - 1000))), /already expired/);
      assert.throws(
        () => parseIssueResponse(fault12('The certificate is not registered')),
        (e: Error) => e instanceof StsError && /The certificate is not registered/.test(e.message) && (e as StsError).code === 'wst:FailedAuthentication',
      );
      assert.throws(() => parseIssueResponse('<x/>'), /not a SOAP envelope/);
    });
  });

  describe('requestToken against a stand-in STS', () => {
    it('fetches a token over HTTP with the signed request, and reports an STS refusal clearly', async () => {
      const fake = await startFakeSts({ stsKey, clientPins: client.certPem, tokenLifetimeMs: 3600_000 });
      try {
        const t = await requestToken({
          stsUrl: fake.url,
          appliesTo: FORDELING_ENTITY_ID,
          cvr: '12345678',
          key: clientKey,
          stsPins: sts.certPem,
          timeoutMs: 5000,
        });
        assert.match(t.assertionXml, /<saml:AttributeValue>12345678<\/saml:AttributeValue>/);
        assert.match(t.assertionXml, new RegExp(`<saml:Audience>${FORDELING_ENTITY_ID}</saml:Audience>`));
        // A client the STS does not know: the STS's fault reason comes back as the error.
        const stranger = loadSigningKey(makeTestKey('Unknown system'));
        await assert.rejects(
          requestToken({ stsUrl: fake.url, appliesTo: FORDELING_ENTITY_ID, cvr: '12345678', key: stranger, stsPins: sts.certPem }),
          (e: Error) => e instanceof StsError && /not one of the pinned certificates/.test(e.message),
        );
        assert.strictEqual(fake.requests, 2);
      } finally {
        await fake.close();
      }
      await assert.rejects(
        requestToken({ stsUrl: fake.url, appliesTo: FORDELING_ENTITY_ID, cvr: '12345678', key: clientKey, timeoutMs: 2000 }),
        /could not be reached/,
      );
    });
    it('over HTTPS with the test CA, using the shared test client certificate', async () => {
      const certs = await testCerts();
      const key = loadSigningKey({ keyPem: certs.client.key, certPem: certs.client.cert });
      const fake = await startFakeSts({
        stsKey,
        clientPins: certs.client.cert,
        tokenLifetimeMs: 3600_000,
        tls: { key: certs.server.key, cert: certs.server.cert },
      });
      try {
        const base = { stsUrl: fake.url.replace('127.0.0.1', 'localhost'), appliesTo: FORDELING_ENTITY_ID, cvr: certs.client.cvr, key, stsPins: sts.certPem };
        const t = await requestToken({ ...base, ca: [certs.ca.cert] });
        assert.match(t.assertionXml, new RegExp(`<saml:AttributeValue>${certs.client.cvr}</saml:AttributeValue>`));
        await assert.rejects(requestToken(base), /could not be reached: .*(self.signed|certificate)/i);
      } finally {
        await fake.close();
      }
    });
  });

  describe('TokenCache', () => {
    it('reuses the token until shortly before NotOnOrAfter, then fetches a new one; concurrent callers share one fetch', async () => {
      let clock = Date.parse('2026-01-01T08:00:00Z');
      let n = 0;
      const cache = new TokenCache(
        async () => {
          n++;
          await new Promise((r) => setTimeout(r, 10));
          return { assertionXml: `<a n="${n}"/>`, assertionId: `_${n}`, notOnOrAfter: new Date(clock + 8 * 3600_000) };
        },
        { now: () => clock },
      );
      const [a, b, c] = await Promise.all([cache.get(), cache.get(), cache.get()]);
      assert.strictEqual(n, 1);
      assert.ok(a === b && b === c);
      clock += 7 * 3600_000 + 44 * 60_000; // 16 minutes before NotOnOrAfter
      assert.strictEqual((await cache.get()).assertionId, '_1');
      clock += 2 * 60_000; // 14 minutes before
      assert.strictEqual((await cache.get()).assertionId, '_2');
      assert.strictEqual(cache.fetches, 2);
      cache.invalidate();
      assert.strictEqual((await cache.get()).assertionId, '_3');
    });

    it('refreshes a short-lived token at half its life, and does not cache a failure', async () => {
      let clock = 0;
      let fail = true;
      const cache = new TokenCache(
        async () => {
          if (fail) throw new Error('STS down');
          return { assertionXml: '<a/>', assertionId: `_${clock}`, notOnOrAfter: new Date(clock + 10 * 60_000) };
        },
        { now: () => clock },
      );
      await assert.rejects(cache.get(), /STS down/);
      fail = false;
      assert.strictEqual((await cache.get()).assertionId, '_0');
      clock = 4 * 60_000;
      assert.strictEqual((await cache.get()).assertionId, '_0');
      clock = 5 * 60_000;
      assert.strictEqual((await cache.get()).assertionId, `_${5 * 60_000}`);
    });
  });

  describe('token-model envelope', () => {
    it('carries the assertion in wsse:Security and one holder-of-key signature over Body, Timestamp, WS-Addressing, Framework and the assertion', () => {
      const t = token();
      const body =
        '<v3:FordelingsobjektAfsendRequest xmlns:v3="http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/types"><x>1</x></v3:FordelingsobjektAfsendRequest>';
      const xml = buildTokenEnvelope(clientKey, {
        bodyXml: body,
        action: AFSEND_ACTION,
        to: 'https://exttest.serviceplatformen.dk/service/SP/Distribution/3',
        token: t,
      });
      const doc = parse(xml);
      assert.strictEqual(doc.documentElement!.namespaceURI, NS.soap11);
      const security = doc.getElementsByTagNameNS(NS.wsse, 'Security')[0];
      const kids = Array.from(security.childNodes)
        .filter((n) => n.nodeType === 1)
        .map((n) => (n as unknown as { localName: string }).localName);
      assert.deepStrictEqual(kids, ['Timestamp', 'Assertion', 'Signature']);
      assert.strictEqual(doc.getElementsByTagNameNS(NS.wsse, 'BinarySecurityToken').length, 0, 'no X.509 token: the key is named by the assertion');
      const keyId = doc.getElementsByTagNameNS(NS.wsse, 'KeyIdentifier')[0];
      assert.strictEqual(keyId.getAttribute('ValueType'), WSS.samlId);
      assert.strictEqual(keyId.textContent, t.assertionId);
      assert.strictEqual(doc.getElementsByTagNameNS(NS.liberty, 'Framework').length, 1);
      const uris = Array.from(doc.getElementsByTagNameNS(NS.ds, 'Reference'))
        .filter((r) => (r.parentNode as unknown as { parentNode: { parentNode: unknown } }).parentNode.parentNode === security)
        .map((r) => r.getAttribute('URI'));
      assert.ok(uris.includes(`#${t.assertionId}`), 'the assertion is signed (ProtectTokens)');
      assert.strictEqual(uris.length, 8);

      // The receiver resolves the holder-of-key certificate from the assertion; it must be pinned.
      const r = verifyXmlSignature(xml, { pins: client.certPem, requiredHeaders: ['{urn:liberty:sb:2006-08}Framework'] });
      assert.strictEqual(r.valid, true, r.reason);
      assert.match(r.signedElement!, /FordelingsobjektAfsendRequest/);
      assert.match(verifyXmlSignature(xml, { pins: sts.certPem }).reason!, /not one of the pinned/);
      // The STS's signature on the embedded assertion still verifies.
      const embedded = serialize(doc.getElementsByTagNameNS(NS.saml2, 'Assertion')[0] as never);
      const a = verifyXmlSignature(embedded, { pins: sts.certPem, mode: 'enveloped' });
      assert.strictEqual(a.valid, true, a.reason);
      // Tampering with the Body breaks the message signature.
      assert.strictEqual(verifyXmlSignature(xml.replace('<x>1</x>', '<x>2</x>'), { pins: client.certPem }).valid, false);
    });
    it('is written as text (lib/signing/token-wss.ts): every signed header is covered, a body that is not XML or is signed already is refused', () => {
      const t = token(3600_000);
      const opts = { bodyXml: '<v:Req xmlns:v="urn:v"><x>1</x></v:Req>', action: AFSEND_ACTION, to: 'https://sp.local/service', token: t };
      const xml = buildTokenEnvelope(clientKey, opts);
      const check = (x: string) => verifyTokenRequest(x, { stsPins: sts.certPem, audience: FORDELING_ENTITY_ID });
      assert.strictEqual(check(xml).valid, true, check(xml).reason);
      // each signed part changed after signing: refused by its digest
      for (const [from, to] of [
        ['https://sp.local/service<', 'https://evil.local/service<'],
        [AFSEND_ACTION, `${AFSEND_ACTION}x`],
        ['addressing/anonymous<', 'addressing/none<'],
        ['version="2.0"', 'version="2.1"'],
        ['<wsu:Created>2', '<wsu:Created>1'],
      ]) {
        const changed = xml.replace(from, to);
        assert.notStrictEqual(changed, xml, from);
        assert.match(check(changed).reason ?? 'accepted', /digest/, from);
      }
      assert.throws(
        () => buildTokenEnvelope(clientKey, { ...opts, bodyXml: '<v:Req xmlns:v="urn:v"><x>1</v:Req>' }),
        (e: Error) => e.name === 'SigningError',
      );
      assert.throws(
        () => buildTokenEnvelope(clientKey, { ...opts, bodyXml: '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>' }),
        (e: Error) => e.name === 'SigningError',
      );
      const signedBody = `<v:Req xmlns:v="urn:v"><ds:Signature xmlns:ds="${NS.ds}"/></v:Req>`;
      assert.throws(() => buildTokenEnvelope(clientKey, { ...opts, bodyXml: signedBody }), /already signed/);
      assert.throws(() => buildTokenEnvelope(clientKey, { ...opts, lifetimeSeconds: 0 }), /lifetime/);
      assert.throws(() => buildTokenEnvelope(clientKey, { ...opts, lifetimeSeconds: 1e300 }), /lifetime/);
      assert.throws(
        () => buildTokenEnvelope(clientKey, { ...opts, to: 42 as unknown as string }),
        (e: Error) => e.name === 'SigningError' && /to must be a string/.test(e.message),
      );
      // an STS's signature inside an assertion the body carries is the assertion's own: not a second message signature
      const carried = `<v:Req xmlns:v="urn:v"><saml2:Assertion xmlns:saml2="${NS.saml2}" ID="a1"><ds:Signature xmlns:ds="${NS.ds}"/></saml2:Assertion></v:Req>`;
      const withCarried = buildTokenEnvelope(clientKey, { ...opts, bodyXml: carried });
      const carriedCheck = verifyXmlSignature(withCarried, { pins: client.certPem, mode: 'wssecurity' });
      assert.strictEqual(carriedCheck.valid, true, carriedCheck.reason);
    });
    it('verifyTokenRequest: accepts a proper request; refuses a stolen assertion, another STS, the wrong audience, an expired token, a tampered Body', () => {
      const t = token(3600_000);
      const opts = { bodyXml: '<v:Req xmlns:v="urn:v"><x>1</x></v:Req>', action: AFSEND_ACTION, to: 'https://sp.local/service', token: t };
      const xml = buildTokenEnvelope(clientKey, opts);
      const ok = verifyTokenRequest(xml, { stsPins: sts.certPem, audience: FORDELING_ENTITY_ID });
      assert.strictEqual(ok.valid, true, ok.reason);
      assert.strictEqual(ok.cvr, '12345678');
      assert.match(ok.messageId!, /^urn:uuid:/);
      assert.match(ok.signedBody!, /<x>1<\/x>/);

      const thief = loadSigningKey(makeTestKey('Thief'));
      const stolen = buildTokenEnvelope(thief, opts);
      assert.match(verifyTokenRequest(stolen, { stsPins: sts.certPem, audience: FORDELING_ENTITY_ID }).reason!, /signature value is incorrect/);
      assert.match(
        verifyTokenRequest(xml, { stsPins: client.certPem, audience: FORDELING_ENTITY_ID }).reason!,
        /SAML assertion: the signing certificate is not one of the pinned/,
      );
      assert.match(verifyTokenRequest(xml, { stsPins: sts.certPem, audience: 'http://other/service' }).reason!, /not for http:\/\/other\/service/);
      assert.match(
        verifyTokenRequest(xml, { stsPins: sts.certPem, audience: FORDELING_ENTITY_ID, now: new Date(Date.now() + 2 * 3600_000) }).reason!,
        /expired/,
      );
      assert.match(verifyTokenRequest(xml.replace('<x>1</x>', '<x>2</x>'), { stsPins: sts.certPem, audience: FORDELING_ENTITY_ID }).reason!, /digest/);
      assert.match(verifyTokenRequest('<a><!DOCTYPE', { stsPins: sts.certPem, audience: FORDELING_ENTITY_ID }).reason!, /DTD|well-formed/);
    });
    it("verifyTokenRequest reads Audience and CVR only from what the STS signed, not from its signature's KeyInfo", () => {
      // the enveloped transform leaves the STS's ds:Signature out of the digest: content put there keeps the signature
      const inject =
        `<saml2:AudienceRestriction xmlns:saml2="${NS.saml2}"><saml2:Audience>http://victim/service</saml2:Audience></saml2:AudienceRestriction>` +
        `<saml2:Attribute xmlns:saml2="${NS.saml2}" Name="dk:gov:saml:attribute:CvrNumberIdentifier"><saml2:AttributeValue>99999999</saml2:AttributeValue></saml2:Attribute>`;
      const t = token(3600_000);
      const evil = { ...t, assertionXml: t.assertionXml.replace(/(<ds:X509Data>)/, `${inject}$1`) };
      assert.notEqual(evil.assertionXml, t.assertionXml, 'the injection found its place');
      const opts = { bodyXml: '<v:Req xmlns:v="urn:v"><x>1</x></v:Req>', action: AFSEND_ACTION, to: 'https://sp.local/service', token: evil };
      const xml = buildTokenEnvelope(clientKey, opts);
      assert.match(verifyTokenRequest(xml, { stsPins: sts.certPem, audience: 'http://victim/service' }).reason!, /not for http:\/\/victim\/service/);
      const mine = verifyTokenRequest(xml, { stsPins: sts.certPem, audience: FORDELING_ENTITY_ID });
      assert.strictEqual(mine.valid, true, mine.reason);
      assert.strictEqual(mine.cvr, '12345678');
    });
  });
});
