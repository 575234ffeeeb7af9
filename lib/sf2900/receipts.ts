/**
 * Receipts (kvitteringer) on the sender's own endpoint FordelingskvitteringModtag
 * (SF2900_EP_MS1-2/DistributionServiceAnvenderV2.wsdl, v2 namespace, soapAction "").
 */
import { XmlError } from '../xml/safe-xml';
import { child, childOf } from '../xml/dom';
import type { Routing } from './model';
import { NS } from './namespaces';
import {
  distributionContextContentXml,
  kvitteringContentXml,
  parseDistributionContext,
  parseKvittering,
  type Kvittering,
  type ParsedDistributionContext,
} from './parts';
import { parseSoapBody, soapEnvelope } from './soap';

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

/**
 * Reads a receipt request envelope. Accepts the anvender v2 element and, tolerantly, the v3
 * FordelingskvitteringModtagRequest shape. Throws XmlError when it is not a usable receipt
 * (no AnvenderTransaktionsID, no ForretningsValideringsKode), SoapFaultError for a fault.
 */
export function parseReceiptRequest(envelopeXml: string): ParsedReceipt {
  const body = parseSoapBody(envelopeXml);
  if (body.localName !== 'FordelingskvitteringModtagAnvenderRequest' && body.localName !== 'FordelingskvitteringModtagRequest') {
    throw new XmlError(`Expected FordelingskvitteringModtagAnvenderRequest, got <${body.nodeName}>`);
  }
  const kv = childOf(body, 'Forretningskvittering', 'ForretningsKvittering');
  if (!kv) throw new XmlError('Receipt has no Forretningskvittering');
  const receipt = parseKvittering(kv);
  if (!receipt.code) throw new XmlError('Receipt has no ForretningsValideringsKode');
  const context = parseDistributionContext(child(body, 'DistributionContext'));
  if (!context.transactionId) throw new XmlError('Receipt has no DistributionContext/AnvenderTransaktionsID');
  return { transactionId: context.transactionId, distributionTransactionId: context.distributionTransactionId, receipt, context };
}

/** The envelope with the empty FordelingskvitteringModtagAnvenderResponse. */
export function buildReceiptResponse(): string {
  return soapEnvelope(`<v2:FordelingskvitteringModtagAnvenderResponse xmlns:v2="${NS.v2}"/>`);
}
