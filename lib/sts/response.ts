import type { Element } from '@xmldom/xmldom';
import { parseXmlSafely } from '../xml/safe-xml';
import { NS } from '../signing/constants';
import { serialize } from '../signing/xpath';
import { allElements, childElements, childrenNS, isElement } from '../xml/dom';
import type { Pins } from '../signing/keys';
import { verifyXmlSignature } from '../signing/verify';
import { STS_NS } from './constants';

/** A SAML 2.0 token the STS issued. */
export interface IssuedToken {
  /** The saml:Assertion element as XML (carried unchanged in wsse:Security of each request). */
  assertionXml: string;
  assertionId: string;
  issuer?: string;
  notBefore?: Date;
  /** When the token stops being valid (Conditions/@NotOnOrAfter, else wst:Lifetime/wsu:Expires). */
  notOnOrAfter: Date;
}

export class StsError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'StsError';
  }
}

function first(root: Element, ns: string, localName: string): Element | undefined {
  return allElements(root).find((e) => isElement(e, ns, localName));
}

function date(value: string | null | undefined, what: string): Date | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new StsError(`${what} "${value}" is not a date`);
  return new Date(t);
}

export interface ParseOptions {
  /** Pinned STS certificate(s): when given, the assertion's signature must verify against them. */
  stsPins?: Pins | string | string[];
  now?: Date;
}

/**
 * Reads the STS answer (SOAP 1.2 or 1.1): a fault becomes StsError; otherwise the one SAML 2.0 assertion in
 * RequestedSecurityToken and its validity. With `stsPins`, the assertion must carry a valid STS signature.
 */
export function parseIssueResponse(xml: string, opts: ParseOptions = {}): IssuedToken {
  const doc = parseXmlSafely(xml, 'the STS response');
  const env = doc.documentElement!;
  const soapNs = env.namespaceURI;
  if (env.localName !== 'Envelope' || (soapNs !== NS.soap12 && soapNs !== NS.soap11)) throw new StsError('the STS response is not a SOAP envelope');
  const body = childrenNS(env, soapNs, 'Body')[0];
  if (!body) throw new StsError('the STS response has no Body');
  const fault = childrenNS(body, soapNs, 'Fault')[0];
  if (fault) {
    const code =
      soapNs === NS.soap12
        ? (first(fault, NS.soap12, 'Subcode')?.textContent ?? first(fault, NS.soap12, 'Value')?.textContent ?? '').trim()
        : (childElements(fault).find((e) => e.localName === 'faultcode')?.textContent ?? '').trim();
    const reason =
      soapNs === NS.soap12
        ? (first(fault, NS.soap12, 'Text')?.textContent ?? '').trim()
        : (childElements(fault).find((e) => e.localName === 'faultstring')?.textContent ?? '').trim();
    throw new StsError(`the STS refused the token request: ${reason || code || 'SOAP fault'}`, code || undefined);
  }
  const requested = allElements(body).filter((e) => isElement(e, STS_NS.wst, 'RequestedSecurityToken'));
  if (requested.length !== 1) throw new StsError(`expected one RequestedSecurityToken, found ${requested.length}`);
  const assertions = childrenNS(requested[0], NS.saml2, 'Assertion');
  if (assertions.length !== 1) throw new StsError('RequestedSecurityToken does not hold one SAML 2.0 assertion');
  const assertion = assertions[0];
  const assertionId = assertion.getAttribute('ID');
  if (!assertionId) throw new StsError('the SAML assertion has no ID');
  const assertionXml = serialize(assertion);

  const conditions = childrenNS(assertion, NS.saml2, 'Conditions')[0];
  const lifetimeExpires = allElements(body).find((e) => isElement(e, STS_NS.wst, 'Lifetime'));
  const notOnOrAfter =
    date(conditions?.getAttribute('NotOnOrAfter'), 'NotOnOrAfter') ??
    date(lifetimeExpires ? first(lifetimeExpires, NS.wsu, 'Expires')?.textContent : undefined, 'Lifetime Expires');
  if (!notOnOrAfter) throw new StsError('the token has no NotOnOrAfter');
  const now = opts.now ?? new Date();
  if (notOnOrAfter.getTime() <= now.getTime()) throw new StsError('the STS issued a token that has already expired');

  if (opts.stsPins !== undefined) {
    const check = verifyXmlSignature(assertionXml, { pins: opts.stsPins, mode: 'enveloped', now });
    if (!check.valid) throw new StsError(`the SAML assertion's signature is not valid: ${check.reason}`);
  }
  return {
    assertionXml,
    assertionId,
    issuer: childrenNS(assertion, NS.saml2, 'Issuer')[0]?.textContent?.trim() || undefined,
    notBefore: date(conditions?.getAttribute('NotBefore'), 'NotBefore'),
    notOnOrAfter,
  };
}
