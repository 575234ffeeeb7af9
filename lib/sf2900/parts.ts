/**
 * Fragments shared by several SF2900 messages: DistributionContext, Forretningskvittering, FejlListe.
 * Writers emit v2 elements with the prefix `v2:` (the caller declares xmlns:v2 on an ancestor);
 * readers match by local name.
 */
import type { Element } from '@xmldom/xmldom';
import { escapeXml } from '../xml/safe-xml';
import { child, childText, children, text } from '../xml/dom';

export interface FejlEntry {
  code: string;
  text: string;
}

/** A Forretningskvittering (v2 ForretningskvitteringType). */
export interface Kvittering {
  /** ForretningsValideringsKode: MODTAGET | AFLEVERET | ACCEPTERET | AFVIST | FEJLET. */
  code: string;
  /** Kvitteringstype: Teknisk | Forretning | Digital post. */
  type: string;
  /** Begrundelse. */
  reason?: string;
  /** FejlListe/Fejl. */
  errors: FejlEntry[];
}

/** DistributionContext as data (v2 DistributionContextType). */
export interface DistributionContextData {
  /** AnvenderTransaktionsID. */
  transactionId: string;
  /** DistributionTransktionsID (set by the platform). */
  distributionTransactionId?: string;
  /** DigitalPostMeddelelsesID. */
  digitalPostMessageId?: string;
  /** AfsendendeMyndighed. */
  senderCvr: string;
  /** RoutingMyndighed. */
  routingCvr: string;
  /** RoutingValg/RoutingKLEEmneHandling/RoutingKLEEmne. */
  kle?: string;
  /** RoutingValg/RoutingKLEEmneHandling/RoutingHandlingFacet. */
  handlingFacet?: string;
  /** RoutingValg/RoutingModtagerAktoer. */
  receivingSystemUuid?: string;
  /** DokumentFilNavn. */
  documentFileName?: string;
}

/** What a reader found in a DistributionContext; fields the sender left out stay undefined. */
export type ParsedDistributionContext = Partial<DistributionContextData>;

export const KVITTERING_CODES = ['MODTAGET', 'AFLEVERET', 'ACCEPTERET', 'AFVIST', 'FEJLET'] as const;
export const KVITTERING_TYPES = ['Teknisk', 'Forretning', 'Digital post'] as const;

/** `<p:Name>text</p:Name>`, or '' when the value is undefined/empty and the element optional. */
export function el(prefix: string, name: string, value: unknown, optional = false): string {
  if (value === undefined || value === null || value === '') {
    if (optional) return '';
    throw new Error(`${name} is required`);
  }
  return `<${prefix}:${name}>${escapeXml(value)}</${prefix}:${name}>`;
}

export function fejlListeXml(prefix: string, errors: FejlEntry[] | undefined): string {
  if (!errors || errors.length === 0) return '';
  const items = errors
    .map((e) => `<${prefix}:Fejl>${el(prefix, 'FejlKode', e.code || 'UKENDT')}${el(prefix, 'FejlTekst', e.text ?? '')}</${prefix}:Fejl>`)
    .join('');
  return `<${prefix}:FejlListe>${items}</${prefix}:FejlListe>`;
}

export function parseFejlListe(parent: Element | undefined): FejlEntry[] {
  const list = child(parent, 'FejlListe');
  return children(list, 'Fejl').map((f) => ({ code: childText(f, 'FejlKode') ?? '', text: childText(f, 'FejlTekst') ?? '' }));
}

/** The content of a ForretningskvitteringType element (its children, in schema order). */
export function kvitteringContentXml(prefix: string, k: Kvittering): string {
  if (!(KVITTERING_CODES as readonly string[]).includes(k.code)) throw new Error(`Unknown ForretningsValideringsKode "${k.code}"`);
  if (!(KVITTERING_TYPES as readonly string[]).includes(k.type)) throw new Error(`Unknown Kvitteringstype "${k.type}"`);
  return (
    el(prefix, 'ForretningsValideringsKode', k.code) +
    el(prefix, 'Kvitteringstype', k.type) +
    el(prefix, 'Begrundelse', k.reason, true) +
    fejlListeXml(prefix, k.errors)
  );
}

export function parseKvittering(e: Element | undefined): Kvittering {
  return {
    code: childText(e, 'ForretningsValideringsKode') ?? '',
    type: childText(e, 'Kvitteringstype') ?? '',
    reason: childText(e, 'Begrundelse'),
    errors: parseFejlListe(e),
  };
}

/** The content of a DistributionContextType element (its children, in schema order). */
export function distributionContextContentXml(prefix: string, c: DistributionContextData): string {
  const hasKle = !!c.kle;
  const hasSystem = !!c.receivingSystemUuid;
  if (hasKle === hasSystem) throw new Error('Routing needs exactly one of a KLE subject or a receiving IT-system UUID');
  const valg = hasKle
    ? `<${prefix}:RoutingKLEEmneHandling>${el(prefix, 'RoutingKLEEmne', c.kle)}${el(prefix, 'RoutingHandlingFacet', c.handlingFacet, true)}</${prefix}:RoutingKLEEmneHandling>`
    : el(prefix, 'RoutingModtagerAktoer', c.receivingSystemUuid);
  return (
    el(prefix, 'AnvenderTransaktionsID', c.transactionId) +
    el(prefix, 'DistributionTransktionsID', c.distributionTransactionId, true) +
    el(prefix, 'DigitalPostMeddelelsesID', c.digitalPostMessageId, true) +
    el(prefix, 'AfsendendeMyndighed', c.senderCvr) +
    el(prefix, 'RoutingMyndighed', c.routingCvr) +
    `<${prefix}:RoutingValg>${valg}</${prefix}:RoutingValg>` +
    el(prefix, 'DokumentFilNavn', c.documentFileName, true)
  );
}

export function parseDistributionContext(e: Element | undefined): ParsedDistributionContext {
  const valg = child(e, 'RoutingValg');
  const kleInfo = child(valg, 'RoutingKLEEmneHandling');
  const out: ParsedDistributionContext = {
    transactionId: childText(e, 'AnvenderTransaktionsID'),
    // Tolerate a corrected spelling should the platform ever send one.
    distributionTransactionId: childText(e, 'DistributionTransktionsID') ?? childText(e, 'DistributionTransaktionsID'),
    digitalPostMessageId: childText(e, 'DigitalPostMeddelelsesID'),
    senderCvr: childText(e, 'AfsendendeMyndighed'),
    routingCvr: childText(e, 'RoutingMyndighed'),
    kle: childText(kleInfo, 'RoutingKLEEmne'),
    handlingFacet: childText(kleInfo, 'RoutingHandlingFacet'),
    receivingSystemUuid: text(child(valg, 'RoutingModtagerAktoer')),
    documentFileName: childText(e, 'DokumentFilNavn'),
  };
  for (const k of Object.keys(out) as (keyof ParsedDistributionContext)[]) if (out[k] === undefined) delete out[k];
  return out;
}
