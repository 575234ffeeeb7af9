/** SOAP 1.1 envelopes and faults as the Serviceplatform uses them (document/literal). */
import type { Element } from '@xmldom/xmldom';
import { parsePlainXml } from '../xml/plain-xml';
import { escapeXml, parseXmlSafely, XmlError } from '../xml/safe-xml';
import { child, childElements, childText, children, descendant } from '../xml/dom';
import { NS } from './namespaces';
import { el, fejlListeXml, parseFejlListe, type FejlEntry } from './parts';

export type TransportValideringsKode = 'OK' | 'ADVARSEL' | 'FEJL';

/** The TransportKvittering a Serviceplatform operation returns as fault detail. */
export interface TransportKvittering {
  code: TransportValideringsKode;
  reason?: string;
  errors: FejlEntry[];
}

/** A SOAP Fault answered by the platform (or by the sender's receipt endpoint). */
export class SoapFaultError extends Error {
  readonly faultCode: string;
  readonly faultString: string;
  /** TransportKvittering from the fault detail (FEJL + FejlListe), when present. */
  readonly transportKvittering?: TransportKvittering;
  /** ServiceplatformFault/ErrorList/Error entries, when present. */
  readonly platformErrors?: FejlEntry[];

  constructor(opts: { faultCode: string; faultString: string; transportKvittering?: TransportKvittering; platformErrors?: FejlEntry[] }) {
    super(describeFault(opts));
    this.name = 'SoapFaultError';
    this.faultCode = opts.faultCode;
    this.faultString = opts.faultString;
    if (opts.transportKvittering) this.transportKvittering = opts.transportKvittering;
    if (opts.platformErrors) this.platformErrors = opts.platformErrors;
  }
}

function describeFault(o: { faultCode: string; faultString: string; transportKvittering?: TransportKvittering; platformErrors?: FejlEntry[] }): string {
  const parts = [`SOAP fault ${o.faultCode || '(no code)'}: ${o.faultString || '(no text)'}`];
  const errs = [...(o.transportKvittering?.errors ?? []), ...(o.platformErrors ?? [])];
  if (o.transportKvittering?.reason && o.transportKvittering.reason !== o.faultString) parts.push(o.transportKvittering.reason);
  if (errs.length) parts.push(errs.map((e) => `${e.code}: ${e.text}`).join('; '));
  return parts.join(' — ');
}

/** A SOAP 1.1 envelope around a body element (and an optional header content), with an XML declaration. */
export function soapEnvelope(bodyXml: string, headerXml?: string): string {
  const header = headerXml ? `<soapenv:Header>${headerXml}</soapenv:Header>` : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soapenv:Envelope xmlns:soapenv="${NS.soap11}">${header}<soapenv:Body>${bodyXml}</soapenv:Body></soapenv:Envelope>`
  );
}

function isSoapNs(ns: string | null | undefined): boolean {
  return ns === NS.soap11 || ns === NS.soap12;
}

function parseTransportKvittering(e: Element | undefined): TransportKvittering | undefined {
  if (!e) return undefined;
  const code = (childText(e, 'TransportValideringsKode') ?? 'FEJL') as TransportValideringsKode;
  return { code, reason: childText(e, 'Begrundelse'), errors: parseFejlListe(e) };
}

function parsePlatformErrors(e: Element | undefined): FejlEntry[] | undefined {
  if (!e) return undefined;
  return children(child(e, 'ErrorList'), 'Error').map((x) => ({ code: childText(x, 'ErrorCode') ?? '', text: childText(x, 'ErrorText') ?? '' }));
}

function faultFrom(fault: Element): SoapFaultError {
  // SOAP 1.1: faultcode/faultstring/detail; SOAP 1.2: Code/Value, Reason/Text, Detail.
  const faultCode = childText(fault, 'faultcode') ?? childText(fault, 'Code', 'Value') ?? '';
  const faultString = childText(fault, 'faultstring') ?? childText(fault, 'Reason', 'Text') ?? '';
  const detail = child(fault, 'detail') ?? child(fault, 'Detail');
  return new SoapFaultError({
    faultCode,
    faultString,
    transportKvittering: parseTransportKvittering(descendant(detail, 'TransportKvittering')),
    platformErrors: parsePlatformErrors(descendant(detail, 'ServiceplatformFault')),
  });
}

/**
 * The first element inside the SOAP Body. Throws SoapFaultError for a Fault (or a bare TransportKvittering
 * with FEJL in place of a response), XmlError for text that is not a SOAP envelope.
 */
export function parseSoapBody(envelopeXml: string, options: { plain?: boolean } = {}): Element {
  // Tolerate a byte-order mark or blank lines before the XML declaration, as some SOAP stacks send them.
  const cleaned = typeof envelopeXml === 'string' ? envelopeXml.replace(/^\uFEFF?\s+|^\uFEFF/, '') : envelopeXml;
  // plain: an answer in plain XML is read without a DOM (lib/xml/plain-xml.ts: the lib/xml/dom.ts readers work on
  // its tree, nothing else may be asked of the element returned); any other text is parsed by xmldom as always
  const plain = options.plain ? (parsePlainXml(cleaned) as unknown as Element | undefined) : undefined;
  const env = plain ?? (parseXmlSafely(cleaned, 'SOAP message').documentElement as unknown as Element);
  if (env.localName !== 'Envelope' || !isSoapNs(env.namespaceURI)) {
    throw new XmlError(`SOAP message: expected a SOAP Envelope, got <${env.nodeName}>`);
  }
  const body = childElements(env).find((e) => e.localName === 'Body' && isSoapNs(e.namespaceURI));
  if (!body) throw new XmlError('SOAP message has no Body');
  const first = childElements(body)[0];
  if (!first) throw new XmlError('SOAP Body is empty');
  if (first.localName === 'Fault' && isSoapNs(first.namespaceURI)) throw faultFrom(first);
  if (first.localName === 'TransportKvittering') {
    const tk = parseTransportKvittering(first)!;
    if (tk.code === 'FEJL') throw new SoapFaultError({ faultCode: 'Server', faultString: tk.reason ?? 'TransportKvittering FEJL', transportKvittering: tk });
  }
  return first;
}

export interface SoapFaultOptions {
  /** `Client`, `Server` or a qualified code; unqualified codes get the soapenv prefix. */
  faultCode: string;
  faultString: string;
  transportKvittering?: TransportKvittering;
  platformErrors?: FejlEntry[];
  /** Namespace of the TransportKvittering detail: v3 for the Serviceplatform port (default), v2 for the anvender endpoint. */
  transportKvitteringNs?: 'v3' | 'v2';
}

/** A whole SOAP 1.1 envelope carrying a Fault. */
export function buildSoapFault(opts: SoapFaultOptions): string {
  const code = opts.faultCode.includes(':') ? opts.faultCode : `soapenv:${opts.faultCode || 'Server'}`;
  let detail = '';
  if (opts.transportKvittering) {
    const tk = opts.transportKvittering;
    const ns = opts.transportKvitteringNs === 'v2' ? NS.v2 : NS.v3;
    detail +=
      `<tk:TransportKvittering xmlns:tk="${ns}">${el('tk', 'TransportValideringsKode', tk.code)}` +
      `${el('tk', 'Begrundelse', tk.reason, true)}${fejlListeXml('tk', tk.errors)}</tk:TransportKvittering>`;
  }
  if (opts.platformErrors && opts.platformErrors.length) {
    const errs = opts.platformErrors.map((e) => `<spf:Error>${el('spf', 'ErrorCode', e.code)}${el('spf', 'ErrorText', e.text ?? '')}</spf:Error>`).join('');
    detail += `<spf:ServiceplatformFault xmlns:spf="${NS.serviceplatformFault}"><spf:ErrorList>${errs}</spf:ErrorList></spf:ServiceplatformFault>`;
  }
  const body =
    `<soapenv:Fault><faultcode>${escapeXml(code)}</faultcode><faultstring>${escapeXml(opts.faultString)}</faultstring>` +
    (detail ? `<detail>${detail}</detail>` : '') +
    `</soapenv:Fault>`;
  return soapEnvelope(body);
}

/** True when the error is a SoapFaultError (works across module copies). */
export function isSoapFault(err: unknown): err is SoapFaultError {
  return err instanceof SoapFaultError || (err as Error | undefined)?.name === 'SoapFaultError';
}
