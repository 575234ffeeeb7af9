// Fuzzing lib/sts/response.ts parseIssueResponse: the STS's answer becomes an IssuedToken or a clear error —
// StsError (a fault, no token, a bad date or signature) or XmlError (not well-formed, DTD, too deep). A token read back
// has the ID, issuer and validity it was issued with; with pinned STS certificates, any change inside the signed
// assertion is refused.
import assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import fc from 'fast-check';
import { NS } from '../../lib/signing/constants';
import { childElements } from '../../lib/xml/dom';
import { loadSigningKey } from '../../lib/signing/keys';
import { STS_NS } from '../../lib/sts/constants';
import { StsError, parseIssueResponse, type IssuedToken } from '../../lib/sts/response';
import { XmlError, escapeXml } from '../../lib/xml/safe-xml';
import { makeTestKey, removeTestKeys, type TestKey } from '../lib/signing/test-keys';
import { makeAssertion, rstr } from '../lib/sts/fake-sts';
import { WEIGHT, attempt, fuzz } from './fuzz-support';
import { anyText, deepened, elementsOf, elementsUnder, mutatedXml, ncName, prefixArb, quietParser, reprefix, xmlValue } from './xml-arbitraries';

const SUITE = 'sts response';
const CLEAR = [StsError, XmlError];
/** Every token here is judged at this instant. */
const NOW = new Date('2030-01-01T00:00:00Z');

const VOCABULARY = [
  'Envelope',
  'Body',
  'Fault',
  'Code',
  'Value',
  'Subcode',
  'Reason',
  'Text',
  'faultcode',
  'faultstring',
  'RequestSecurityTokenResponseCollection',
  'RequestSecurityTokenResponse',
  'RequestedSecurityToken',
  'Lifetime',
  'Expires',
  'Assertion',
  'Issuer',
  'Conditions',
  'Signature',
] as const;

interface TokenSpec {
  soap: string;
  id: string;
  issuer?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  expires: Date;
}

const later = fc.date({ min: new Date(NOW.getTime() + 1000), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
const earlier = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: NOW, noInvalidDate: true });

const tokenSpecArb: fc.Arbitrary<TokenSpec> = fc.record({
  soap: fc.constantFrom(NS.soap12, NS.soap11),
  id: ncName.map((n) => `_${n}`),
  issuer: fc.option(xmlValue(40), { nil: undefined }),
  notBefore: fc.option(earlier, { nil: undefined }),
  notOnOrAfter: fc.option(later, { nil: undefined }),
  expires: later,
});

function rstrOf(s: TokenSpec): string {
  const conditions =
    s.notBefore || s.notOnOrAfter
      ? `<saml:Conditions${s.notBefore ? ` NotBefore="${s.notBefore.toISOString()}"` : ''}${s.notOnOrAfter ? ` NotOnOrAfter="${s.notOnOrAfter.toISOString()}"` : ''}/>`
      : '';
  const assertion =
    `<saml:Assertion xmlns:saml="${NS.saml2}" ID="${s.id}" Version="2.0">` +
    (s.issuer !== undefined ? `<saml:Issuer>${escapeXml(s.issuer)}</saml:Issuer>` : '') +
    `${conditions}</saml:Assertion>`;
  return (
    `<s:Envelope xmlns:s="${s.soap}"><s:Body>` +
    `<wst:RequestSecurityTokenResponseCollection xmlns:wst="${STS_NS.wst}"><wst:RequestSecurityTokenResponse>` +
    `<wst:Lifetime><wsu:Expires xmlns:wsu="${NS.wsu}">${s.expires.toISOString()}</wsu:Expires></wst:Lifetime>` +
    `<wst:RequestedSecurityToken>${assertion}</wst:RequestedSecurityToken>` +
    '</wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection></s:Body></s:Envelope>'
  );
}

const faultArb = fc
  .record({ soap12: fc.boolean(), reason: xmlValue(60), code: ncName })
  .map(({ soap12, reason, code }) =>
    soap12
      ? `<s:Envelope xmlns:s="${NS.soap12}"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>wst:${code}</s:Value></s:Subcode></s:Code>` +
        `<s:Reason><s:Text xml:lang="en">${escapeXml(reason)}</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`
      : `<s:Envelope xmlns:s="${NS.soap11}"><s:Body><s:Fault><faultcode>s:${code}</faultcode><faultstring>${escapeXml(reason)}</faultstring></s:Fault></s:Body></s:Envelope>`,
  );

const parse = (xml: string, stsPins?: string, now = NOW) => attempt('parseIssueResponse', () => parseIssueResponse(xml, { now, stsPins }), CLEAR);

describe('fuzz: STS Issue responses (parseIssueResponse)', () => {
  it('an issued token reads back with its ID, issuer and validity, however the envelope is prefixed', () => {
    fuzz(SUITE, fc.record({ spec: tokenSpecArb, prefixes: fc.array(prefixArb, { maxLength: 6 }) }), ({ spec, prefixes }) => {
      const xml = prefixes.length ? reprefix(rstrOf(spec), prefixes) : rstrOf(spec);
      const token = parseIssueResponse(xml, { now: NOW });
      assert.strictEqual(token.assertionId, spec.id);
      assert.strictEqual(token.issuer, spec.issuer);
      assert.strictEqual(token.notBefore?.getTime(), spec.notBefore?.getTime());
      assert.strictEqual(token.notOnOrAfter.getTime(), (spec.notOnOrAfter ?? spec.expires).getTime());
      const back = quietParser().parseFromString(token.assertionXml, 'text/xml').documentElement!;
      assert.strictEqual(back.localName, 'Assertion');
      assert.strictEqual(back.namespaceURI, NS.saml2);
    });
  });

  it('a fault becomes StsError carrying the reason', () => {
    fuzz(SUITE, faultArb, (xml) => {
      const r = parse(xml);
      assert.ok(!r.ok && r.error instanceof StsError, 'a fault is refused with StsError');
      assert.match(r.error.message, /refused the token request/);
    });
  });

  it('mutated answers, hostile text and deep nesting: a token or StsError/XmlError', () => {
    const answers = fc.oneof({ weight: 3, arbitrary: tokenSpecArb.map(rstrOf) }, { weight: 1, arbitrary: faultArb });
    fuzz(SUITE, fc.oneof({ weight: 4, arbitrary: mutatedXml(answers, VOCABULARY) }, { weight: 1, arbitrary: anyText(200) }), (xml) => {
      const r = parse(xml);
      if (r.ok) {
        assert.ok(r.value.assertionId.length > 0);
        assert.ok(r.value.notOnOrAfter.getTime() > NOW.getTime(), 'never an expired token');
      }
    });
    fuzz(SUITE, deepened(answers), (xml) => void parse(xml), WEIGHT.huge);
  });

  describe('with a pinned STS certificate', () => {
    let sts: TestKey | undefined;
    let signed = '';
    /** The test certificate is valid from when it is made, so these tokens are judged just after that. */
    let now = new Date();
    /** What the untouched signed answer says. */
    let original: Pick<IssuedToken, 'assertionId' | 'issuer' | 'notBefore' | 'notOnOrAfter'> | undefined;
    before(function () {
      try {
        execFileSync('openssl', ['version'], { stdio: 'pipe' });
      } catch {
        if (process.env.CI === 'true') throw new Error('openssl is needed to make the test STS key');
        this.skip();
      }
      sts = makeTestKey('Fuzz STS', 30);
      // judged a minute into the certificate's own validity, whatever the clock says (another suite may fake Date)
      now = new Date(Date.parse(new X509Certificate(sts.certPem).validFrom) + 60_000);
      const key = loadSigningKey(sts);
      const expires = new Date(now.getTime() + 3600_000);
      signed = rstr(
        makeAssertion({ stsKey: key, holderCertBase64: key.certBase64, cvr: '12345678', audience: 'urn:fuzz', notOnOrAfter: expires, notBefore: now }),
        expires,
      );
    });
    after(() => removeTestKeys());

    it('any change inside the signed assertion is refused', () => {
      const { assertionId, issuer, notBefore, notOnOrAfter } = parseIssueResponse(signed, { now, stsPins: sts!.certPem });
      original = { assertionId, issuer, notBefore, notOnOrAfter };
      fuzz(
        SUITE,
        fc.record({
          at: fc.nat(),
          attr: fc.boolean(),
          name: fc.constantFrom('ID', 'NotOnOrAfter', 'NotBefore', 'Format', 'Method', 'Name', 'Version', 'x'),
          text: anyText(20),
        }),
        ({ at, attr, name, text }) => {
          const doc = quietParser().parseFromString(signed, 'text/xml');
          const assertion = elementsOf(doc).find((e) => e.localName === 'Assertion')!;
          const signature = elementsUnder(assertion).find((e) => e.localName === 'Signature');
          const inSignature = new Set(elementsUnder(signature));
          const targets = elementsUnder(assertion).filter((e) => !inSignature.has(e));
          const target = targets[at % targets.length]!;
          if (attr) {
            const value = target.getAttribute(name) === text ? `${text}x` : text;
            target.setAttribute(name, value);
          } else {
            const old = target.textContent ?? '';
            if (childElements(target).length) target.appendChild(doc.createTextNode(text || ' '));
            else {
              while (target.firstChild) target.removeChild(target.firstChild);
              target.appendChild(doc.createTextNode(text === old ? `${text}x` : text));
            }
          }
          const r = parse(new XMLSerializer().serializeToString(doc), sts!.certPem, now);
          assert.ok(!r.ok, `a changed assertion was accepted (${attr ? `@${name}` : 'text'} of ${target.localName})`);
        },
        WEIGHT.signed,
      );
    });

    it('mutated signed answers: a token only when the signature still holds, else StsError/XmlError', () => {
      fuzz(
        SUITE,
        mutatedXml(fc.constant(signed === '' ? '<x/>' : signed), VOCABULARY),
        (xml) => {
          const r = parse(xml, sts!.certPem, now);
          if (r.ok) {
            // whatever else changed, what the token says is what the STS signed
            const { assertionId, issuer, notBefore, notOnOrAfter } = r.value;
            assert.deepStrictEqual({ assertionId, issuer, notBefore, notOnOrAfter }, original);
          }
        },
        WEIGHT.signed,
      );
    });
  });
});
