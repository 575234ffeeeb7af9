import { randomUUID } from 'crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { parseXmlSafely } from '../xml/safe-xml';
import { ALG, NS, WSA_HEADERS, WSS } from './constants';
import { childElements, childrenNS } from '../xml/dom';
import { canonicalize, digest, signatureValue } from './dsig';
import { headerMatcher, idOf, selectElements, serialize, stripBom } from './xpath';
import { signTokenRequest, type TokenRequestParts } from './token-wss';
import { loadSigningKey, SigningError, type KeyMaterial, type SigningKey } from './keys';

export interface EnvelopedOptions {
  /** XPath of the one element to sign (prefixes from the document element's declarations). Default: the document. */
  xpath?: string;
  /** Id (Id/ID/id/wsu:Id attribute) of the element to sign. */
  id?: string;
  /**
   * Reference the signed element by its Id even when it is the document element (as a SAML assertion must be
   * signed, so the signature still holds once the assertion is embedded in another document). Default: URI="".
   */
  referenceById?: boolean;
  /** Put the signature right after this child (local name) of the signed element, e.g. `Issuer` for SAML; default last. */
  insertAfter?: string;
}

export interface WsSecurityOptions {
  /** Seconds between wsu:Created and wsu:Expires (default 300). */
  lifetimeSeconds?: number;
  /** Further SOAP headers to sign, by local name or `{namespace}localName` (e.g. `{urn:liberty:sb:2006-08}Framework`). */
  extraHeaders?: string[];
  /** Also sign the BinarySecurityToken (ProtectTokens). (The token model's SAML assertion: token-wss.ts.) */
  signToken?: boolean;
  /** Clock for the timestamp (tests). */
  now?: Date;
}

export type SignRequest =
  | ({ mode: 'enveloped'; xml: string } & EnvelopedOptions)
  | ({ mode: 'wssecurity'; xml: string } & WsSecurityOptions)
  /** The token model's request, written and signed as text (token-wss.ts). */
  | ({ mode: 'token' } & TokenRequestParts);

/** One reference of a signature: what it points to (`""` = the whole document) and the element it covers. */
interface Ref {
  uri: string;
  target: Element;
  transforms: string[];
}

/** An element built in `doc`: namespace, qualified name, attributes (`xmlns:*` and `wsse11:*` in their namespaces) and children. */
type Build = (doc: Document) => Element;
function node(ns: string, qname: string, attrs: Record<string, string>, ...children: Array<Build | string>): Build {
  return (doc) => {
    const el = doc.createElementNS(ns, qname);
    for (const [name, value] of Object.entries(attrs)) {
      if (name.startsWith('xmlns:')) el.setAttributeNS(NS.xmlns, name, value);
      else if (name.startsWith('wsse11:')) el.setAttributeNS(NS.wsse11, name, value);
      else el.setAttribute(name, value);
    }
    for (const c of children) el.appendChild(typeof c === 'string' ? doc.createTextNode(c) : c(doc));
    return el;
  };
}
const ds = (name: string, attrs: Record<string, string> = {}, ...children: Array<Build | string>) => node(NS.ds, `ds:${name}`, attrs, ...children);

/**
 * Signs `refs` (RSA-SHA256, SHA-256 digests, exclusive C14N) and puts the ds:Signature at `place`: digests of the
 * elements as they are now, then the Signature element in the document (built in it: parsing and importing markup
 * was a fifth of an enveloped signature's time), then the signature of its SignedInfo as canonicalised where it
 * stands. The document is serialised once, by the caller.
 */
function addSignature(doc: Document, key: SigningKey, refs: Ref[], keyInfo: Build, place: (signature: Element) => void): void {
  const references = refs.map((r) =>
    ds(
      'Reference',
      { URI: r.uri },
      ds('Transforms', {}, ...r.transforms.map((t) => ds('Transform', { Algorithm: t }))),
      ds('DigestMethod', { Algorithm: ALG.sha256 }),
      ds('DigestValue', {}, digest(canonicalize(r.target, ALG.excC14n), ALG.sha256)),
    ),
  );
  const signedInfo = ds(
    'SignedInfo',
    {},
    ds('CanonicalizationMethod', { Algorithm: ALG.excC14n }),
    ds('SignatureMethod', { Algorithm: ALG.rsaSha256 }),
    ...references,
  );
  const signature = ds('Signature', { 'xmlns:ds': NS.ds }, signedInfo, ds('SignatureValue'), ds('KeyInfo', {}, keyInfo))(doc);
  place(signature);
  const [info, value] = childElements(signature);
  value.appendChild(doc.createTextNode(signatureValue(canonicalize(info, ALG.excC14n), ALG.rsaSha256, key.privateKey)));
}

/** KeyInfo publishing the leaf certificate as X509Data/X509Certificate. */
const x509KeyInfo = (key: SigningKey): Build => ds('X509Data', {}, ds('X509Certificate', {}, key.certBase64));

function existingSignatureCheck(root: Element): void {
  // Refuse to add a second signature where the verifier expects exactly one (an STS's signature inside a SAML
  // assertion is the assertion's own and does not count).
  const stack: Element[] = [root];
  while (stack.length) {
    const el = stack.pop()!;
    if (el.namespaceURI === NS.saml2 && el.localName === 'Assertion') continue;
    if (el.namespaceURI === NS.ds && el.localName === 'Signature') {
      throw new SigningError('the document is already signed (it contains a ds:Signature)');
    }
    stack.push(...childElements(el));
  }
}

function targetFor(doc: Document, opts: EnvelopedOptions): Element {
  const root = doc.documentElement!;
  if (opts.xpath && opts.id) throw new SigningError('give either an XPath or an Id of the element to sign, not both');
  if (opts.xpath) {
    const found = selectElements(doc, opts.xpath);
    if (found.length !== 1) throw new SigningError(`XPath "${opts.xpath}" selects ${found.length} elements; it must select exactly one`);
    return found[0];
  }
  if (opts.id) {
    const stack: Element[] = [root];
    const found: Element[] = [];
    while (stack.length) {
      const el = stack.pop()!;
      if (idOf(el) === opts.id) found.push(el);
      stack.push(...childElements(el));
    }
    if (found.length !== 1) throw new SigningError(`Id "${opts.id}" is carried by ${found.length} elements; it must be exactly one`);
    return found[0];
  }
  return root;
}

/**
 * Enveloped XMLDSig (RSA-SHA256, SHA-256 digest, exclusive c14n, KeyInfo/X509Data with the certificate) of the
 * document or of one element in it. The signature becomes the last child of the signed element.
 */
export function signEnveloped(xml: string, key: SigningKey, opts: EnvelopedOptions = {}): string {
  const doc = parseXmlSafely(stripBom(xml), 'the XML to sign');
  existingSignatureCheck(doc.documentElement!);
  const target = targetFor(doc, opts);
  const wholeDocument = target === doc.documentElement && !opts.referenceById;
  if (!wholeDocument && !idOf(target)) target.setAttribute('Id', `id-${randomUUID()}`);
  let after: Element | undefined;
  if (opts.insertAfter) {
    after = childElements(target).find((c) => c.localName === opts.insertAfter);
    if (!after) throw new SigningError(`the signed element has no child ${opts.insertAfter} to put the signature after`);
  }
  const ref: Ref = { uri: wholeDocument ? '' : `#${idOf(target)}`, target, transforms: [ALG.enveloped, ALG.excC14n] };
  addSignature(doc, key, [ref], x509KeyInfo(key), (signature) => (after ? target.insertBefore(signature, after.nextSibling) : target.appendChild(signature)));
  return serialize(doc);
}

function ensureWsuId(el: Element, prefix: string): string {
  const existing = el.getAttributeNS(NS.wsu, 'Id');
  if (existing) return existing;
  const id = `${prefix}-${randomUUID()}`;
  el.setAttributeNS(NS.wsu, 'wsu:Id', id);
  return id;
}

/** ISO 8601 UTC with milliseconds, as WS-Security timestamps are usually written. */
function isoInstant(d: Date): string {
  return d.toISOString();
}

/**
 * WS-Security (SOAP 1.1, or 1.2 for the STS): adds wsse:Security (mustUnderstand) with wsu:Timestamp, an X.509v3
 * BinarySecurityToken and one ds:Signature over Body, Timestamp, the WS-Addressing headers present and the named
 * extra headers, each referenced by wsu:Id; KeyInfo is a SecurityTokenReference to the token.
 */
export function signWsSecurity(xml: string, key: SigningKey, opts: WsSecurityOptions = {}): string {
  const doc = parseXmlSafely(stripBom(xml), 'the SOAP envelope to sign');
  const env = doc.documentElement!;
  const soapNs = env.namespaceURI;
  if (env.localName !== 'Envelope' || (soapNs !== NS.soap11 && soapNs !== NS.soap12)) {
    throw new SigningError('WS-Security signing needs a SOAP envelope (soap:Envelope as the document element)');
  }
  existingSignatureCheck(env);
  if (!env.lookupNamespaceURI('wsu')) env.setAttributeNS(NS.xmlns, 'xmlns:wsu', NS.wsu);
  const lifetime = opts.lifetimeSeconds ?? 300;
  if (!Number.isFinite(lifetime) || lifetime <= 0) throw new SigningError('the timestamp lifetime must be a positive number of seconds');
  const soapPrefix = env.prefix ? `${env.prefix}:` : '';
  const bodies = childrenNS(env, soapNs, 'Body');
  if (bodies.length !== 1) throw new SigningError(`the envelope has ${bodies.length} Body elements; it must have exactly one`);
  const body = bodies[0];
  let headers = childrenNS(env, soapNs, 'Header');
  if (headers.length > 1) throw new SigningError('the envelope has more than one Header');
  let header = headers[0];
  if (!header) {
    header = doc.createElementNS(soapNs, `${soapPrefix}Header`);
    env.insertBefore(header, body);
  }
  headers = [header];
  let security = childrenNS(header, NS.wsse, 'Security')[0];
  if (!security) {
    security = doc.createElementNS(NS.wsse, 'wsse:Security');
    security.setAttributeNS(NS.xmlns, 'xmlns:wsse', NS.wsse);
    header.insertBefore(security, header.firstChild);
  }
  security.setAttributeNS(soapNs, `${env.prefix ? env.prefix : 'soap'}:mustUnderstand`, soapNs === NS.soap12 ? 'true' : '1');

  const now = opts.now ?? new Date();
  const timestamp = doc.createElementNS(NS.wsu, 'wsu:Timestamp');
  const created = doc.createElementNS(NS.wsu, 'wsu:Created');
  created.appendChild(doc.createTextNode(isoInstant(now)));
  const expires = doc.createElementNS(NS.wsu, 'wsu:Expires');
  expires.appendChild(doc.createTextNode(isoInstant(new Date(now.getTime() + lifetime * 1000))));
  timestamp.appendChild(created);
  timestamp.appendChild(expires);
  ensureWsuId(timestamp, 'TS');

  const token = doc.createElementNS(NS.wsse, 'wsse:BinarySecurityToken');
  token.setAttribute('EncodingType', WSS.base64Binary);
  token.setAttribute('ValueType', WSS.x509v3);
  token.appendChild(doc.createTextNode(key.certBase64));
  const bstId = ensureWsuId(token, 'X509');
  const keyInfo = node(
    NS.wsse,
    'wsse:SecurityTokenReference',
    { 'xmlns:wsse': NS.wsse },
    node(NS.wsse, 'wsse:Reference', { URI: `#${bstId}`, ValueType: WSS.x509v3 }),
  );
  // Strict layout: Timestamp first, the token before the signature that uses it.
  security.insertBefore(token, security.firstChild);
  security.insertBefore(timestamp, security.firstChild);

  const signed: Element[] = [body, timestamp];
  ensureWsuId(body, 'Body');
  const extra = (opts.extraHeaders ?? []).filter((h) => h.trim()).map(headerMatcher);
  for (const h of childElements(header)) {
    if (h === security) continue;
    const isWsa = h.namespaceURI === NS.wsa && (WSA_HEADERS as readonly string[]).includes(h.localName ?? '');
    if (isWsa || extra.some((m) => m(h))) {
      ensureWsuId(h, h.localName ?? 'H');
      signed.push(h);
    }
  }
  if (opts.signToken) signed.push(token);
  const refs = signed.map(
    (el): Ref => ({
      uri: `#${el.getAttributeNS(NS.wsu, 'Id') || idOf(el)}`,
      target: el,
      transforms: [ALG.excC14n],
    }),
  );
  addSignature(doc, key, refs, keyInfo, (signature) => security.appendChild(signature));
  return serialize(doc);
}

/** Signs according to a request (the shape the worker pool passes around). */
export function signXml(req: SignRequest, key: SigningKey): string {
  if (req?.mode === 'token') return signTokenRequest(req, key);
  if (!req || typeof req.xml !== 'string') throw new SigningError('the XML to sign must be a string');
  if (req.mode === 'enveloped') return signEnveloped(req.xml, key, req);
  if (req.mode === 'wssecurity') return signWsSecurity(req.xml, key, req);
  throw new SigningError(`unknown signing mode "${(req as { mode?: unknown }).mode}"`);
}

/** In-thread signer with the same Promise API as the worker pool. */
export class Signer {
  readonly key: SigningKey;
  constructor(material: KeyMaterial) {
    this.key = loadSigningKey(material);
  }
  signSync(req: SignRequest): string {
    return signXml(req, this.key);
  }
  async sign(req: SignRequest): Promise<string> {
    return signXml(req, this.key);
  }
  async close(): Promise<void> {}
}
