import { X509Certificate } from 'crypto';
import { parseXmlSafely } from '../xml/safe-xml';
import { NS } from '../signing/constants';
import { serialize } from '../signing/xpath';
import { allElements, childrenNS, isElement } from '../xml/dom';
import type { Element } from '@xmldom/xmldom';
import { base64ToPem, parsePins, type Pins } from '../signing/keys';
import { verifyXmlSignature } from '../signing/verify';

/**
 * The assertion's elements outside its ds:Signature: the enveloped transform leaves the signature out of what is
 * digested, so an Audience or CVR attribute placed in its KeyInfo would be read under an unchanged signature.
 */
function signedContent(assertion: Element): Element[] {
  const out: Element[] = [];
  const stack: Element[] = [assertion];
  while (stack.length) {
    const el = stack.pop()!;
    if (el.namespaceURI === NS.ds && el.localName === 'Signature') continue;
    out.push(el);
    for (let c = el.lastChild; c; c = c.previousSibling) if (c.nodeType === 1) stack.push(c as Element);
  }
  return out;
}

export interface TokenRequestCheck {
  valid: boolean;
  reason?: string;
  /** Signed bytes of the SOAP Body (use these). */
  signedBody?: string;
  /** wsa:MessageID (for a replay cache) and the CVR the token was issued for. */
  messageId?: string;
  cvr?: string;
  assertionId?: string;
}

export interface TokenRequestOptions {
  /** Pinned STS signing certificate(s). */
  stsPins: Pins | string | string[];
  /** The entityID the assertion must be for (its Audience). */
  audience: string;
  now?: Date;
  clockSkewSeconds?: number;
}

/**
 * What a service does with a token-model request: the embedded assertion must be signed by the pinned STS, be for
 * this audience and be valid now; the message must be signed (Body, Timestamp, WS-Addressing, Framework) by the
 * holder-of-key certificate the assertion names, with an unexpired timestamp.
 */
export function verifyTokenRequest(xml: string, opts: TokenRequestOptions): TokenRequestCheck {
  const now = opts.now ?? new Date();
  const skew = (opts.clockSkewSeconds ?? 120) * 1000;
  let doc: ReturnType<typeof parseXmlSafely>;
  try {
    doc = parseXmlSafely(xml, 'the request');
  } catch (err) {
    return { valid: false, reason: (err as Error).message };
  }
  const env = doc.documentElement!;
  const header = childrenNS(env, env.namespaceURI ?? '', 'Header')[0];
  const security = header ? childrenNS(header, NS.wsse, 'Security') : [];
  if (security.length !== 1) return { valid: false, reason: 'expected exactly one wsse:Security header' };
  const assertions = allElements(env).filter((e) => isElement(e, NS.saml2, 'Assertion'));
  if (assertions.length !== 1 || assertions[0].parentNode !== security[0]) {
    return { valid: false, reason: 'expected exactly one SAML assertion, in wsse:Security' };
  }
  const assertion = assertions[0];
  const a = verifyXmlSignature(serialize(assertion), { pins: opts.stsPins, mode: 'enveloped', now });
  if (!a.valid) return { valid: false, reason: `the SAML assertion: ${a.reason}` };
  const conditions = childrenNS(assertion, NS.saml2, 'Conditions')[0];
  const notBefore = Date.parse(conditions?.getAttribute('NotBefore') ?? '');
  const notOnOrAfter = Date.parse(conditions?.getAttribute('NotOnOrAfter') ?? '');
  if (Number.isNaN(notOnOrAfter) || notOnOrAfter + skew <= now.getTime()) return { valid: false, reason: 'the SAML assertion has expired' };
  if (!Number.isNaN(notBefore) && notBefore - skew > now.getTime()) return { valid: false, reason: 'the SAML assertion is not yet valid' };
  const audiences = signedContent(assertion)
    .filter((e) => isElement(e, NS.saml2, 'Audience'))
    .map((e) => (e.textContent ?? '').trim());
  if (!audiences.includes(opts.audience)) return { valid: false, reason: `the SAML assertion is not for ${opts.audience}` };
  const hok = signedContent(assertion).filter(
    (e) => isElement(e, NS.ds, 'X509Certificate') && isElement(e.parentNode?.parentNode?.parentNode as never, NS.saml2, 'SubjectConfirmationData'),
  );
  if (hok.length !== 1) return { valid: false, reason: 'the SAML assertion names no single holder-of-key certificate' };
  let holder: X509Certificate;
  try {
    holder = new X509Certificate(base64ToPem(hok[0].textContent ?? ''));
  } catch {
    return { valid: false, reason: 'the holder-of-key certificate cannot be read' };
  }
  const m = verifyXmlSignature(xml, { pins: parsePins(holder.toString()), mode: 'wssecurity', now, requiredHeaders: [`{${NS.liberty}}Framework`] });
  if (!m.valid) return { valid: false, reason: m.reason };
  const cvr = signedContent(assertion)
    .filter((e) => isElement(e, NS.saml2, 'Attribute') && e.getAttribute('Name') === 'dk:gov:saml:attribute:CvrNumberIdentifier')
    .map((e) => (e.textContent ?? '').trim())[0];
  return {
    valid: true,
    signedBody: m.signedElement,
    messageId: childrenNS(header!, NS.wsa, 'MessageID')[0]?.textContent?.trim(),
    cvr,
    assertionId: assertion.getAttribute('ID') ?? undefined,
  };
}
