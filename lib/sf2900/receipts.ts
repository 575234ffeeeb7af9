/**
 * Receipts (kvitteringer) on the sender's own endpoint FordelingskvitteringModtag
 * (SF2900_EP_MS1-2/DistributionServiceAnvenderV2.wsdl, v2 namespace, soapAction ""): what that endpoint accepts —
 * SOAP 1.1 envelope, SOAPAction, body element and its children by namespace and local name — and what it answers.
 */
import type { Element } from '@xmldom/xmldom';
import { parseXmlSafely, XmlError } from '../xml/safe-xml';
import { allElements, childElements, childrenNS, isElement } from '../xml/dom';
import type { Routing } from './model';
import { NS, SOAP_ACTIONS } from './namespaces';
import {
  distributionContextContentXml,
  kvitteringContentXml,
  parseDistributionContext,
  parseKvittering,
  type Kvittering,
  type ParsedDistributionContext,
} from './parts';
import { soapEnvelope } from './soap';

export type { Kvittering, FejlEntry, DistributionContextData, ParsedDistributionContext } from './parts';
export { KVITTERING_CODES, KVITTERING_TYPES } from './parts';

export interface ReceiptRequestData {
  /** AnvenderTransaktionsID of the shipment. */
  transactionId: string;
  /** DistributionTransktionsID the platform assigned. */
  distributionTransactionId?: string;
  /** AfsendendeMyndighed. */
  senderCvr: string;
  /** RoutingMyndighed. */
  routingCvr: string;
  /** RoutingValg: kle (+ handlingFacet) or receivingSystemUuid. */
  routing: Partial<Omit<Routing, 'receivingAuthorityCvr'>>;
  documentFileName?: string;
  digitalPostMessageId?: string;
  receipt: Kvittering;
}

/** The `<v2:FordelingskvitteringModtagAnvenderRequest>` element (no XML declaration). */
export function buildReceiptRequest(r: ReceiptRequestData): string {
  return (
    `<v2:FordelingskvitteringModtagAnvenderRequest xmlns:v2="${NS.v2}">` +
    `<v2:Forretningskvittering>${kvitteringContentXml('v2', r.receipt)}</v2:Forretningskvittering>` +
    `<v2:DistributionContext>${distributionContextContentXml('v2', {
      transactionId: r.transactionId,
      distributionTransactionId: r.distributionTransactionId,
      digitalPostMessageId: r.digitalPostMessageId,
      senderCvr: r.senderCvr,
      routingCvr: r.routingCvr,
      kle: r.routing.kle,
      handlingFacet: r.routing.kle ? r.routing.handlingFacet : undefined,
      receivingSystemUuid: r.routing.kle ? undefined : r.routing.receivingSystemUuid,
      documentFileName: r.documentFileName,
    })}</v2:DistributionContext>` +
    `</v2:FordelingskvitteringModtagAnvenderRequest>`
  );
}

export interface ParsedReceipt {
  transactionId: string;
  distributionTransactionId?: string;
  receipt: Kvittering;
  context: ParsedDistributionContext;
}

/** The request was not a SOAP 1.1 envelope (SOAP 1.2, or another namespace): answered with a VersionMismatch fault. */
export class SoapVersionMismatchError extends XmlError {
  constructor(message: string) {
    super(message);
    this.name = 'SoapVersionMismatchError';
  }
}

/** At most this much of a name or namespace the caller chose goes into a fault or a log line. */
const clip = (s: string | null | undefined): string => {
  const t = s ?? '';
  return t.length > 100 ? `${t.slice(0, 100)}…` : t;
};
const qname = (e: Element): string => `{${clip(e.namespaceURI)}}${clip(e.localName)}`;

/**
 * True for a SOAPAction header the anvender binding allows: its soapAction is "", so the header may be absent, empty
 * (SOAP 1.1 §6.1.1: no intent given) or `""` (the quoted empty URI, what SOAP stacks send for soapAction="").
 */
export function isReceiptSoapAction(header: string | undefined): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  return (/^"(.*)"$/.exec(value)?.[1] ?? value) === SOAP_ACTIONS.anvenderKvitteringModtag;
}

/**
 * The body element of a SOAP 1.1 request, read strictly: the root must be the SOAP 1.1 Envelope (another SOAP
 * version or an unknown envelope namespace → SoapVersionMismatchError), with one SOAP 1.1 Body holding exactly one
 * element.
 */
function soap11RequestBody(envelopeXml: string): Element {
  // Tolerate a byte-order mark or blank lines before the XML declaration, as some SOAP stacks send them.
  const cleaned = typeof envelopeXml === 'string' ? envelopeXml.replace(/^\uFEFF?\s+|^\uFEFF/, '') : envelopeXml;
  const env = parseXmlSafely(cleaned, 'SOAP message').documentElement as unknown as Element;
  if (env.localName !== 'Envelope') throw new XmlError(`expected a SOAP 1.1 Envelope, got <${clip(env.nodeName)}>`);
  if (env.namespaceURI !== NS.soap11) {
    const version = env.namespaceURI === NS.soap12 ? 'a SOAP 1.2 envelope' : `an envelope in namespace "${clip(env.namespaceURI)}"`;
    throw new SoapVersionMismatchError(`${version}; this endpoint speaks SOAP 1.1 (${NS.soap11})`);
  }
  const bodies = childrenNS(env, NS.soap11, 'Body');
  if (bodies.length !== 1) throw new XmlError(`the SOAP Envelope must have one Body (has ${bodies.length})`);
  const parts = childElements(bodies[0]);
  if (parts.length !== 1) throw new XmlError(`the SOAP Body must hold exactly one element (holds ${parts.length})`);
  return parts[0];
}

/**
 * Reads a FordelingskvitteringModtagAnvenderRequest envelope as the anvender WSDL defines it: the body element
 * {v2}FordelingskvitteringModtagAnvenderRequest with {v2}Forretningskvittering and {v2}DistributionContext, and every
 * element below them in the v2 namespace too (elementFormDefault="qualified", no xs:any there). An element in any
 * other namespace — the body element, a child or a grandchild — refuses the whole request, so a look-alike can never
 * be read as a receipt. Throws SoapVersionMismatchError for a non-SOAP-1.1 envelope, XmlError for anything else that
 * is not a usable receipt (no AnvenderTransaktionsID, no ForretningsValideringsKode).
 */
export function parseReceiptRequest(envelopeXml: string): ParsedReceipt {
  const body = soap11RequestBody(envelopeXml);
  if (!isElement(body, NS.v2, 'FordelingskvitteringModtagAnvenderRequest')) {
    throw new XmlError(`Expected FordelingskvitteringModtagAnvenderRequest in namespace ${NS.v2}, got ${qname(body)}`);
  }
  const foreign = allElements(body).find((e) => e.namespaceURI !== NS.v2);
  if (foreign) throw new XmlError(`FordelingskvitteringModtagAnvenderRequest holds ${qname(foreign)}; its elements are all in ${NS.v2}`);
  const kv = childrenNS(body, NS.v2, 'Forretningskvittering');
  const ctx = childrenNS(body, NS.v2, 'DistributionContext');
  if (kv.length !== 1) throw new XmlError(`Receipt must have one Forretningskvittering (has ${kv.length})`);
  if (ctx.length !== 1) throw new XmlError(`Receipt must have one DistributionContext (has ${ctx.length})`);
  const receipt = parseKvittering(kv[0]);
  if (!receipt.code) throw new XmlError('Receipt has no ForretningsValideringsKode');
  const context = parseDistributionContext(ctx[0]);
  if (!context.transactionId) throw new XmlError('Receipt has no DistributionContext/AnvenderTransaktionsID');
  return { transactionId: context.transactionId, distributionTransactionId: context.distributionTransactionId, receipt, context };
}

/** The envelope with the empty FordelingskvitteringModtagAnvenderResponse. */
export function buildReceiptResponse(): string {
  return soapEnvelope(`<v2:FordelingskvitteringModtagAnvenderResponse xmlns:v2="${NS.v2}"/>`);
}
