import { X509Certificate } from 'crypto';
import type { Document, Element, Node } from '@xmldom/xmldom';
import { parseXmlSafely } from '../xml/safe-xml';
import { ALG, NS, WSA_HEADERS, WSS } from './constants';
import { allElements, childElements, childrenNS, isElement } from '../xml/dom';
import { headerMatcher, selectElements, stripBom } from './xpath';
import { base64ToPem, fingerprintOf, parsePins, type Pins } from './keys';
import { canonicalize, digest, signatureMatches } from './dsig';

export interface VerifyOptions {
  /** Certificates to trust: PEM text and/or SHA-256 fingerprints, or already parsed pins. Required. */
  pins: Pins | string | string[];
  /** What kind of signature to expect; `auto` = WS-Security for a SOAP envelope with wsse:Security, else enveloped. */
  mode?: 'auto' | 'enveloped' | 'wssecurity';
  /** Enveloped mode: XPath / Id of the element the flow goes on to use (default: the document element). */
  xpath?: string;
  id?: string;
  /** Clock (tests). */
  now?: Date;
  /** Allowed clock difference for wsu:Timestamp and certificate validity (seconds, default 120). */
  clockSkewSeconds?: number;
  /** WS-Security: require a signed wsu:Timestamp that has not expired (default true). */
  requireTimestamp?: boolean;
  /** Further headers that must be signed when present, by local name or `{namespace}localName`. */
  requiredHeaders?: string[];
}

export interface VerifyResult {
  valid: boolean;
  /** Why the signature was rejected (set when valid is false). */
  reason?: string;
  /** The canonical XML of the covered element exactly as the signature covers it: use this, not the input. */
  signedElement?: string;
  mode?: 'enveloped' | 'wssecurity';
  signer?: { subject: string; fingerprint256: string };
}

class Reject extends Error {}
const reject = (reason: string): never => {
  throw new Reject(reason);
};

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const SAML2 = NS.saml2;
const SIGNATURE_METHODS = new Set<string>([ALG.rsaSha256, ALG.rsaSha512]);
const DIGEST_METHODS = new Set<string>([ALG.sha256, ALG.sha512]);
const C14N_METHODS = new Set<string>([ALG.excC14n, ALG.c14n]);
const TRANSFORMS = new Set<string>([ALG.enveloped, ALG.excC14n, ALG.c14n]);
const BASE64 = /^[A-Za-z0-9+/=\s]+$/;

function one(parent: Element, localName: string, what: string): Element {
  const found = childrenNS(parent, NS.ds, localName);
  if (found.length !== 1) reject(`${what} must contain exactly one ${localName}, found ${found.length}`);
  return found[0];
}

/** DigestValue / SignatureValue: text only (no comment, CDATA, PI or element can hide inside — CVE-2025-29775). */
function base64Only(el: Element, what: string): void {
  for (let n: Node | null = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== TEXT_NODE) reject(`${what} contains markup or a comment, which is refused`);
  }
  const t = el.textContent ?? '';
  if (!t.trim() || !BASE64.test(t)) reject(`${what} is not base64`);
}

function algorithm(el: Element, allowed: Set<string>, what: string): string {
  const alg = el.getAttribute('Algorithm') ?? '';
  if (!allowed.has(alg)) reject(`${what} algorithm "${alg}" is not accepted`);
  return alg;
}

/**
 * More References than any signature here needs (WS-Security: Body, Timestamp, token and the WS-Addressing headers):
 * each one is digested over the document, and 400 of them held one check for 44 s.
 */
const MAX_REFERENCES = 32;
/** Transforms per Reference: enveloped-signature and a canonicalization are all any needs; each runs over its target. */
const MAX_TRANSFORMS = 4;

/** Checks the shape of a ds:Signature before any cryptography runs. */
function checkSignatureShape(sig: Element): void {
  for (const c of childElements(sig)) {
    if (c.namespaceURI !== NS.ds || !['SignedInfo', 'SignatureValue', 'KeyInfo'].includes(c.localName ?? '')) {
      reject(`unexpected element ${c.localName} in Signature`);
    }
  }
  const signedInfo = one(sig, 'SignedInfo', 'Signature');
  base64Only(one(sig, 'SignatureValue', 'Signature'), 'SignatureValue');
  if (childrenNS(sig, NS.ds, 'KeyInfo').length > 1) reject('Signature has more than one KeyInfo');
  algorithm(one(signedInfo, 'CanonicalizationMethod', 'SignedInfo'), C14N_METHODS, 'canonicalization');
  algorithm(one(signedInfo, 'SignatureMethod', 'SignedInfo'), SIGNATURE_METHODS, 'signature');
  const refs = childrenNS(signedInfo, NS.ds, 'Reference');
  if (!refs.length) reject('SignedInfo has no Reference');
  if (refs.length > MAX_REFERENCES) reject(`SignedInfo has ${refs.length} References (at most ${MAX_REFERENCES})`);
  for (const ref of refs) checkReferenceShape(ref);
}

function checkReferenceShape(ref: Element): void {
  const uri = ref.getAttribute('URI');
  if (uri === null) reject('a Reference has no URI');
  if (uri !== '' && !/^#[^'"\s]+$/.test(uri!)) reject(`Reference URI "${uri}" is not a same-document reference`);
  const transforms = childrenNS(ref, NS.ds, 'Transforms');
  if (transforms.length > 1) reject('Reference has more than one Transforms');
  const chain = transforms.length ? childrenNS(transforms[0], NS.ds, 'Transform') : [];
  if (chain.length > MAX_TRANSFORMS) reject(`Reference has ${chain.length} Transforms (at most ${MAX_TRANSFORMS})`);
  for (const t of chain) algorithm(t, TRANSFORMS, 'transform');
  // enveloped-signature first if at all, then at most one canonicalization: what checkReferences applies
  const algorithms = chain.map((t) => t.getAttribute('Algorithm') ?? '');
  const rest = algorithms.slice(algorithms[0] === ALG.enveloped ? 1 : 0);
  if (rest.length > 1 || rest.includes(ALG.enveloped)) reject('a Reference has a transform chain that is not supported');
  algorithm(one(ref, 'DigestMethod', 'Reference'), DIGEST_METHODS, 'digest');
  base64Only(one(ref, 'DigestValue', 'Reference'), 'DigestValue');
}

const PROCESSING_INSTRUCTION_NODE = 7;

function isInside(el: Node, ancestor: Node): boolean {
  for (let n: Node | null = el; n; n = n.parentNode) if (n === ancestor) return true;
  return false;
}

/**
 * No processing instruction inside the document element: the canonicalizers keep its text in what is digested while
 * the DOM's textContent leaves it out, so `<Expires><?x 2020-…?></Expires>` would read as no expiry, and a MessageID
 * split by one as another id, under an unchanged signature (xmlsec1 refuses such documents too).
 */
function refuseProcessingInstructions(root: Element): void {
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.nodeType === PROCESSING_INSTRUCTION_NODE) reject('a processing instruction inside the signed XML is refused');
    for (let c: Node | null = n.firstChild; c; c = c.nextSibling) stack.push(c);
  }
}

/** Every value of an Id/ID/id attribute (any namespace) must be unique: a duplicate is how wrapping attacks hide. */
function checkUniqueIds(root: Element): Map<string, Element> {
  const ids = new Map<string, Element>();
  for (const el of allElements(root)) {
    for (let i = 0; i < el.attributes.length; i++) {
      const a = el.attributes.item(i)!;
      if (a.localName !== 'Id' && a.localName !== 'ID' && a.localName !== 'id') continue;
      if (ids.has(a.value)) reject(`the Id "${a.value}" appears more than once (signature wrapping)`);
      ids.set(a.value, el);
    }
  }
  return ids;
}

function signaturesOutsideAssertions(root: Element): Element[] {
  const out: Element[] = [];
  const walk = (el: Element) => {
    if (el !== root && isElement(el, SAML2, 'Assertion')) return;
    if (isElement(el, NS.ds, 'Signature')) out.push(el);
    for (const c of childElements(el)) walk(c);
  };
  walk(root);
  return out;
}

function certFromKeyInfo(sig: Element, ids: Map<string, Element>): X509Certificate[] {
  const keyInfo = childrenNS(sig, NS.ds, 'KeyInfo')[0];
  if (!keyInfo) return [];
  const texts: string[] = [];
  for (const data of childrenNS(keyInfo, NS.ds, 'X509Data')) {
    for (const c of childrenNS(data, NS.ds, 'X509Certificate')) texts.push(c.textContent ?? '');
  }
  for (const str of childrenNS(keyInfo, NS.wsse, 'SecurityTokenReference')) {
    for (const r of childrenNS(str, NS.wsse, 'Reference')) {
      const uri = r.getAttribute('URI') ?? '';
      const target = uri.startsWith('#') ? ids.get(uri.slice(1)) : undefined;
      if (!target || !isElement(target, NS.wsse, 'BinarySecurityToken')) reject('SecurityTokenReference does not point to a BinarySecurityToken');
      if (target!.getAttribute('ValueType') !== WSS.x509v3) reject('the BinarySecurityToken is not an X.509v3 certificate');
      texts.push(target!.textContent ?? '');
    }
    for (const k of childrenNS(str, NS.wsse, 'KeyIdentifier')) {
      // Token model: the key is the holder-of-key certificate in the SAML assertion the identifier names.
      if (k.getAttribute('ValueType') !== WSS.samlId) reject('unsupported KeyIdentifier in SecurityTokenReference');
      const assertion = ids.get((k.textContent ?? '').trim());
      if (!assertion || !isElement(assertion, SAML2, 'Assertion')) reject('KeyIdentifier does not point to a SAML assertion');
      const hok = allElements(assertion!).filter(
        (e) => isElement(e, NS.ds, 'X509Certificate') && allElementsUp(e).some((a) => isElement(a, SAML2, 'SubjectConfirmationData')),
      );
      if (hok.length !== 1) reject('the SAML assertion has no single holder-of-key certificate');
      texts.push(hok[0].textContent ?? '');
    }
  }
  return texts.map((t) => {
    if (!BASE64.test(t)) reject('a certificate in KeyInfo is not base64');
    try {
      return new X509Certificate(base64ToPem(t));
    } catch {
      return reject('a certificate in KeyInfo could not be read');
    }
  });
}

function allElementsUp(el: Element): Element[] {
  const out: Element[] = [];
  for (let p = el.parentNode; p && p.nodeType === ELEMENT_NODE; p = p.parentNode) out.push(p as Element);
  return out;
}

function checkValidity(cert: X509Certificate, now: Date, skewMs: number): void {
  if (Date.parse(cert.validFrom) - skewMs > now.getTime()) reject('the signing certificate is not yet valid');
  if (Date.parse(cert.validTo) + skewMs < now.getTime()) reject('the signing certificate has expired');
}

interface Located {
  mode: 'enveloped' | 'wssecurity';
  signature: Element;
  /** The element whose bytes the flow uses and that a signed reference must cover. */
  target: Element;
  security?: Element;
  header?: Element;
}

function locate(doc: Document, opts: VerifyOptions): Located {
  const root = doc.documentElement!;
  const soapNs = root.namespaceURI;
  const isEnvelope = root.localName === 'Envelope' && (soapNs === NS.soap11 || soapNs === NS.soap12);
  const header = isEnvelope ? childrenNS(root, soapNs!, 'Header') : [];
  const securities = header.length === 1 ? childrenNS(header[0], NS.wsse, 'Security') : [];
  let mode = opts.mode ?? 'auto';
  if (mode === 'auto') mode = isEnvelope && securities.length ? 'wssecurity' : 'enveloped';
  const signatures = signaturesOutsideAssertions(root);
  if (mode === 'enveloped') {
    if (signatures.length !== 1) reject(`expected exactly one Signature, found ${signatures.length}`);
    let target = root;
    if (opts.xpath) {
      const found = selectElements(doc, opts.xpath);
      if (found.length !== 1) reject(`XPath "${opts.xpath}" selects ${found.length} elements, not exactly one`);
      target = found[0];
    } else if (opts.id) {
      const found = allElements(root).filter(
        (e) => ['Id', 'ID', 'id'].some((a) => e.getAttribute(a) === opts.id) || e.getAttributeNS(NS.wsu, 'Id') === opts.id,
      );
      if (found.length !== 1) reject(`Id "${opts.id}" is carried by ${found.length} elements, not exactly one`);
      target = found[0];
    }
    return { mode, signature: signatures[0], target };
  }
  if (!isEnvelope) reject('WS-Security verification needs a SOAP envelope');
  if (header.length !== 1) reject(`the envelope must have exactly one Header, found ${header.length}`);
  const bodies = childrenNS(root, soapNs!, 'Body');
  if (bodies.length !== 1) reject(`the envelope must have exactly one Body, found ${bodies.length}`);
  if (securities.length !== 1) reject(`expected exactly one wsse:Security header, found ${securities.length}`);
  const inSecurity = childrenNS(securities[0], NS.ds, 'Signature');
  if (inSecurity.length !== 1 || signatures.length !== 1) {
    reject(`expected exactly one Signature (in wsse:Security), found ${signatures.length}`);
  }
  return { mode, signature: inSecurity[0], target: bodies[0], security: securities[0], header: header[0] };
}

function coveredBy(el: Element, root: Element, refs: { uri: string; signed?: string }[], signature: Element, whole = true): string | undefined {
  for (const r of refs) {
    if (r.signed === undefined) continue;
    // URI="" signs the whole document, which covers every element in it (the signed bytes are the whole document) —
    // but not what sits inside the signature itself, which the enveloped transform left out.
    if (r.uri === '' && whole && (el === root || el.ownerDocument === root.ownerDocument) && !isInside(el, signature)) return r.signed;
    if (r.uri.startsWith('#')) {
      const id = r.uri.slice(1);
      const ownIds = ['Id', 'ID', 'id'].map((a) => el.getAttribute(a)).concat(el.getAttributeNS(NS.wsu, 'Id'));
      if (ownIds.includes(id)) return r.signed;
    }
  }
  return undefined;
}

const EXC_C14N_NS = 'http://www.w3.org/2001/10/xml-exc-c14n#';

/** Exclusive C14N's InclusiveNamespaces PrefixList under a CanonicalizationMethod or Transform. */
function prefixListOf(el: Element): string[] {
  const inclusive = childrenNS(el, EXC_C14N_NS, 'InclusiveNamespaces')[0];
  return (inclusive?.getAttribute('PrefixList') ?? '').split(/\s+/).filter(Boolean);
}

function canonicalSignedInfoOf(signedInfo: Element): string {
  const method = childrenNS(signedInfo, NS.ds, 'CanonicalizationMethod')[0];
  return canonicalize(signedInfo, method.getAttribute('Algorithm') ?? '', { prefixList: prefixListOf(method) });
}

/**
 * Every Reference's digest, read from the SignedInfo as canonicalised (the bytes the signature value covers), each
 * target found through the document's unique Ids (checkUniqueIds), canonicalised in place. Returns what each covers.
 */
function checkReferences(signature: Element, canonicalSignedInfo: string, root: Element, ids: Map<string, Element>): { uri: string; signed: string }[] {
  const signedInfo = childrenNS(signature, NS.ds, 'SignedInfo')[0];
  let canonical: Element;
  try {
    canonical = parseXmlSafely(canonicalSignedInfo, 'the canonical SignedInfo').documentElement!;
  } catch (err) {
    return reject((err as Error).message);
  }
  const references = childrenNS(canonical, NS.ds, 'Reference');
  if (references.length !== childrenNS(signedInfo, NS.ds, 'Reference').length) reject('the canonical SignedInfo has other References');
  return references.map((ref) => {
    checkReferenceShape(ref); // what is signed is checked again, not only the text it came from
    const uri = ref.getAttribute('URI');
    const target = uri === '' ? root : ids.get(uri!.slice(1));
    if (!target) return reject(`the signature references ${uri}, which is not in the document`);
    const chain = childrenNS(childrenNS(ref, NS.ds, 'Transforms')[0] ?? ref, NS.ds, 'Transform');
    const algorithms = chain.map((t) => t.getAttribute('Algorithm') ?? '');
    const enveloped = algorithms[0] === ALG.enveloped;
    const c14ns = algorithms.slice(enveloped ? 1 : 0); // at most one (checkReferenceShape)
    const method = c14ns[0] ?? ALG.c14n; // a node-set left at the end becomes octets by inclusive C14N (XMLDSig 4.4.3.2)
    const signed = canonicalize(target, method, {
      without: enveloped ? signature : undefined,
      prefixList: chain.length ? prefixListOf(chain[chain.length - 1]) : [],
    });
    const expected = (childrenNS(ref, NS.ds, 'DigestValue')[0].textContent ?? '').replace(/\s+/g, '');
    const digestAlgorithm = childrenNS(ref, NS.ds, 'DigestMethod')[0].getAttribute('Algorithm') ?? '';
    if (digest(signed, digestAlgorithm) !== expected) reject(`the digest of the reference ${uri || '""'} does not match`);
    return { uri: uri!, signed };
  });
}

/**
 * Verifies one XML signature against pinned certificates and returns the signed bytes of the element the flow uses.
 * Never throws for a bad message: every problem becomes `{ valid: false, reason }`. Throws only for bad options.
 */
export function verifyXmlSignature(xml: string, opts: VerifyOptions): VerifyResult {
  const pins = typeof opts.pins === 'object' && !Array.isArray(opts.pins) ? opts.pins : parsePins(opts.pins);
  if (!pins.fingerprints.size) throw new Error('no pinned certificates: verification needs at least one');
  const now = opts.now ?? new Date();
  const skewMs = (opts.clockSkewSeconds ?? 120) * 1000;
  let mode: VerifyResult['mode'];
  try {
    if (typeof xml !== 'string') reject('the signed XML must be a string');
    xml = stripBom(xml);
    let doc: Document;
    try {
      doc = parseXmlSafely(xml, 'the signed XML');
    } catch (err) {
      return reject((err as Error).message);
    }
    const root = doc.documentElement!;
    refuseProcessingInstructions(root);
    const ids = checkUniqueIds(root);
    const loc = locate(doc, opts);
    mode = loc.mode;
    checkSignatureShape(loc.signature);

    // Which certificate: one from KeyInfo only if it is pinned; otherwise each pinned PEM certificate in turn.
    const fromKeyInfo = certFromKeyInfo(loc.signature, ids);
    let candidates: X509Certificate[];
    if (fromKeyInfo.length) {
      // each pinned certificate once: KeyInfo repeating one 232 times cost a full check each (7 s)
      const seen = new Set<string>();
      candidates = fromKeyInfo.filter((c) => {
        const fp = fingerprintOf(c);
        if (!pins.fingerprints.has(fp) || seen.has(fp)) return false;
        seen.add(fp);
        return true;
      });
      if (!candidates.length) reject('the signing certificate is not one of the pinned certificates');
    } else {
      candidates = pins.certificates;
      if (!candidates.length) reject('the signature carries no certificate and no pinned PEM certificate is configured to try');
    }

    // the signature value first (cheap), then the references it signs: the same canonical SignedInfo for both
    const signedInfo = childrenNS(loc.signature, NS.ds, 'SignedInfo')[0];
    const signatureAlgorithm = childrenNS(signedInfo, NS.ds, 'SignatureMethod')[0].getAttribute('Algorithm') ?? '';
    const value = childrenNS(loc.signature, NS.ds, 'SignatureValue')[0].textContent ?? '';
    const canonicalSignedInfo = canonicalSignedInfoOf(signedInfo);
    const cert = candidates.find((c) => signatureMatches(canonicalSignedInfo, signatureAlgorithm, c.publicKey, value));
    if (!cert) return reject('the signature value is incorrect');
    const refs = checkReferences(loc.signature, canonicalSignedInfo, root, ids);
    checkValidity(cert, now, skewMs);
    const verified = { cert };

    // WS-Security: the Body by a reference of its own, so the signed bytes handed on are the Body's
    const signedElement = coveredBy(loc.target, root, refs, loc.signature, loc.mode !== 'wssecurity');
    if (signedElement === undefined) {
      reject(loc.mode === 'wssecurity' ? 'the signature does not cover the SOAP Body' : 'the signature does not cover the element that is used');
    }
    if (loc.mode === 'wssecurity') {
      const mustSign = (opts.requiredHeaders ?? []).filter((h) => h.trim()).map(headerMatcher);
      for (const h of childElements(loc.header!)) {
        if (h === loc.security) continue;
        const isWsa = h.namespaceURI === NS.wsa && (WSA_HEADERS as readonly string[]).includes(h.localName ?? '');
        if ((isWsa || mustSign.some((m) => m(h))) && coveredBy(h, root, refs, loc.signature) === undefined) {
          reject(`the header ${h.localName} is not signed`);
        }
      }
      const stamps = childrenNS(loc.security!, NS.wsu, 'Timestamp');
      if (stamps.length > 1) reject('more than one wsu:Timestamp');
      if (opts.requireTimestamp !== false) {
        if (!stamps.length) reject('the wsu:Timestamp is missing');
        if (coveredBy(stamps[0], root, refs, loc.signature) === undefined) reject('the wsu:Timestamp is not signed');
        const created = Date.parse(childrenNS(stamps[0], NS.wsu, 'Created')[0]?.textContent ?? '');
        const expiresEl = childrenNS(stamps[0], NS.wsu, 'Expires')[0];
        const expires = Date.parse(expiresEl?.textContent ?? '');
        if (Number.isNaN(created)) reject('the wsu:Timestamp has no valid Created');
        if (expiresEl && Number.isNaN(expires)) reject('the wsu:Timestamp has an Expires that is not a time');
        if (created - skewMs > now.getTime()) reject('the wsu:Timestamp is in the future');
        if (!Number.isNaN(expires) && expires + skewMs < now.getTime()) reject('the message has expired (wsu:Timestamp Expires)');
      }
    }
    return {
      valid: true,
      mode,
      signedElement,
      signer: { subject: verified.cert.subject, fingerprint256: fingerprintOf(verified.cert) },
    };
  } catch (err) {
    if (err instanceof Reject) return { valid: false, reason: err.message, mode };
    return { valid: false, reason: `the signature could not be checked: ${(err as Error).message}`, mode };
  }
}
