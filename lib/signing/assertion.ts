/**
 * A SAML 2.0 assertion to carry in wsse:Security: parsed, checked and digested once per token, not once per message.
 * No Node-RED dependency.
 */
import { parseXmlSafely } from '../xml/safe-xml';
import { ALG, NS } from './constants';
import { canonicalize, digest } from './dsig';
import { SigningError } from './keys';
import { stripBom } from './xpath';

export interface CarriedAssertion {
  /** Its ID attribute (what KeyInfo's SAMLID KeyIdentifier and the signature's reference name). */
  id: string;
  /** SHA-256 of its exclusive C14N form (base64). */
  digest: string;
  /** The text placed in envelopes: the Assertion element alone, as the STS wrote it. */
  text: string;
}

/** The last few assertions signed with. */
const assertions = new Map<string, CarriedAssertion>();

/**
 * The assertion, with the digest of its exclusive C14N form. That form is the same inside any envelope: exclusive
 * C14N renders only the namespaces the assertion uses, and a standalone parse succeeding means it declares them all.
 */
export function assertionOf(xml: string): CarriedAssertion {
  const known = assertions.get(xml);
  if (known) return known;
  const element = parseXmlSafely(xml, 'the SAML assertion').documentElement!;
  if (element.namespaceURI !== NS.saml2 || element.localName !== 'Assertion') throw new SigningError('samlAssertion is not a SAML 2.0 Assertion');
  const id = element.getAttribute('ID');
  if (!id) throw new SigningError('the SAML assertion has no ID');
  // the assertion element alone (an XML declaration or BOM cannot stand inside an envelope)
  const text = stripBom(xml)
    .replace(/^\s*<\?xml[^>]*\?>\s*/, '')
    .trim();
  if (!/^<[A-Za-z_]/.test(text) || !text.endsWith(`</${element.tagName}>`)) throw new SigningError('samlAssertion must be the Assertion element alone');
  const entry = { id, digest: digest(canonicalize(element, ALG.excC14n), ALG.sha256), text };
  if (assertions.size >= 4) assertions.delete(assertions.keys().next().value!);
  assertions.set(xml, entry);
  return entry;
}
