// A minimal stand-in for the KOMBIT STS (tests only): verifies the signed Issue request against known client
// certificates and answers with a SAML 2.0 holder-of-key assertion signed by its own key.
import * as http from 'http';
import * as https from 'https';
import { randomUUID } from 'crypto';
import type { AddressInfo } from 'net';
import { DOMParser } from '@xmldom/xmldom';
import { signEnveloped } from '../../../lib/signing/sign';
import { verifyXmlSignature } from '../../../lib/signing/verify';
import type { SigningKey } from '../../../lib/signing/keys';
import { NS } from '../../../lib/signing/constants';
import { STS_NS } from '../../../lib/sts/constants';

export interface AssertionOptions {
  stsKey: SigningKey;
  holderCertBase64: string;
  cvr: string;
  audience: string;
  notOnOrAfter: Date;
  notBefore?: Date;
  id?: string;
}

export function makeAssertion(o: AssertionOptions): string {
  const id = o.id ?? `_${randomUUID()}`;
  const xml =
    `<saml:Assertion xmlns:saml="${NS.saml2}" ID="${id}" IssueInstant="${new Date().toISOString()}" Version="2.0">` +
    '<saml:Issuer>https://sts.test.local</saml:Issuer>' +
    '<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName">CN=client</saml:NameID>' +
    '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"><saml:SubjectConfirmationData>' +
    `<ds:KeyInfo xmlns:ds="${NS.ds}"><ds:X509Data><ds:X509Certificate>${o.holderCertBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
    '</saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>' +
    `<saml:Conditions NotBefore="${(o.notBefore ?? new Date(Date.now() - 60_000)).toISOString()}" NotOnOrAfter="${o.notOnOrAfter.toISOString()}">` +
    `<saml:AudienceRestriction><saml:Audience>${o.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    '<saml:AttributeStatement><saml:Attribute Name="dk:gov:saml:attribute:CvrNumberIdentifier">' +
    `<saml:AttributeValue>${o.cvr}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
    '</saml:Assertion>';
  return signEnveloped(xml, o.stsKey, { referenceById: true, insertAfter: 'Issuer' });
}

export function rstr(assertionXml: string, expires: Date): string {
  return (
    `<s:Envelope xmlns:s="${NS.soap12}"><s:Body>` +
    `<wst:RequestSecurityTokenResponseCollection xmlns:wst="${STS_NS.wst}"><wst:RequestSecurityTokenResponse>` +
    `<wst:Lifetime><wsu:Expires xmlns:wsu="${NS.wsu}">${expires.toISOString()}</wsu:Expires></wst:Lifetime>` +
    `<wst:RequestedSecurityToken>${assertionXml}</wst:RequestedSecurityToken>` +
    '</wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection></s:Body></s:Envelope>'
  );
}

export function fault12(reason: string): string {
  return (
    `<s:Envelope xmlns:s="${NS.soap12}"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value>` +
    `<s:Subcode><s:Value>wst:FailedAuthentication</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">${reason}</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`
  );
}

export interface FakeSts {
  url: string;
  requests: number;
  close(): Promise<void>;
}

export async function startFakeSts(opts: {
  stsKey: SigningKey;
  clientPins: string;
  tokenLifetimeMs: number;
  tls?: { key: string; cert: string };
}): Promise<FakeSts> {
  const state = { requests: 0 };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      const text = Buffer.concat(chunks).toString('utf8');
      res.setHeader('content-type', 'application/soap+xml; charset=utf-8');
      const check = verifyXmlSignature(text, { pins: opts.clientPins, mode: 'wssecurity' });
      if (!check.valid) {
        res.statusCode = 500;
        res.end(fault12(`request signature: ${check.reason}`));
        return;
      }
      const doc = new DOMParser().parseFromString(check.signedElement!, 'text/xml');
      const cvr = doc.getElementsByTagNameNS(STS_NS.auth, 'Value')[0]?.textContent ?? '';
      const audience = doc.getElementsByTagNameNS(NS.wsa, 'Address')[0]?.textContent ?? '';
      const holder = doc.getElementsByTagNameNS(NS.wsse, 'BinarySecurityToken')[0]?.textContent ?? '';
      const expires = new Date(Date.now() + opts.tokenLifetimeMs);
      res.end(rstr(makeAssertion({ stsKey: opts.stsKey, holderCertBase64: holder, cvr, audience, notOnOrAfter: expires }), expires));
    });
  };
  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/runtime/services/kombittrust/14/certificatemixed`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
