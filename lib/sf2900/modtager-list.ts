/** FordelingsmodtagerList (who can receive for an authority + KLE subject) and FordelingsmodtagerValider. */
import type { Element } from '@xmldom/xmldom';
import { XmlError } from '../xml/safe-xml';
import { child, childText, children } from '../xml/dom';
import { CVR_PATTERN, HANDLING_FACET_PATTERN, KLE_PATTERN, UUID_PATTERN } from './model';
import { NS } from './namespaces';
import { el } from './parts';
import { parseSoapBody, soapEnvelope } from './soap';

export interface ModtagerListQuery {
  /** AfsendendeMyndighed (and AuthorityContext/MunicipalityCVR). */
  senderCvr: string;
  /** RoutingMyndighed. */
  routingCvr: string;
  kle: string;
  handlingFacet?: string;
}

export interface ModtagerSystem {
  authorityCvr?: string;
  systemUuid: string;
  systemName?: string;
  kle?: string;
  handlingFacet?: string;
}

function checked(value: string | undefined, name: string, pattern: RegExp): string {
  const v = String(value ?? '').trim();
  if (!pattern.test(v)) throw new Error(`${name} "${v}" is not valid`);
  return v;
}

const header = (senderCvr: string) => `<ac:AuthorityContext>${el('ac', 'MunicipalityCVR', senderCvr)}</ac:AuthorityContext>`;
const rootAttrs = `xmlns:v3="${NS.v3}" xmlns:v2="${NS.v2}" xmlns:ac="${NS.authorityContext}"`;

/** The `<v3:FordelingsmodtagerListRequest>` element. */
export function buildModtagerListRequest(q: ModtagerListQuery): string {
  const sender = checked(q.senderCvr, 'sender CVR', CVR_PATTERN);
  const facet = q.handlingFacet ? checked(q.handlingFacet, 'handling facet', HANDLING_FACET_PATTERN) : undefined;
  return (
    `<v3:FordelingsmodtagerListRequest ${rootAttrs}>${header(sender)}<v3:Routing>` +
    el('v2', 'AfsendendeMyndighed', sender) +
    el('v2', 'RoutingMyndighed', checked(q.routingCvr, 'routing CVR', CVR_PATTERN)) +
    el('v2', 'RoutingKLEEmne', checked(q.kle, 'KLE subject', KLE_PATTERN)) +
    el('v2', 'RoutingHandlingFacet', facet, true) +
    `</v3:Routing></v3:FordelingsmodtagerListRequest>`
  );
}

/** Reads the systems; tolerant of answers that break the schema (wildcard KLE, missing SystemMyndighed). */
export function parseModtagerListResponse(envelopeXml: string): ModtagerSystem[] {
  const body = parseSoapBody(envelopeXml);
  if (body.localName !== 'FordelingsmodtagerListResponse') throw new XmlError(`Expected FordelingsmodtagerListResponse, got <${body.nodeName}>`);
  return children(child(body, 'Systemer'), 'System').map((s) => {
    const out: ModtagerSystem = { systemUuid: (childText(s, 'SystemUUID') ?? '').toLowerCase() };
    const cvr = childText(s, 'SystemMyndighed');
    const name = childText(s, 'SystemNavn');
    const kle = childText(s, 'RoutingKLEEmne');
    const facet = childText(s, 'RoutingHandlingFacet');
    if (cvr) out.authorityCvr = cvr;
    if (name) out.systemName = name;
    if (kle) out.kle = kle;
    if (facet) out.handlingFacet = facet;
    return out;
  });
}

/** Server side (simulator): the query of a FordelingsmodtagerListRequest element. */
export function parseModtagerListRequest(request: Element): Partial<ModtagerListQuery> & { authorityCvr?: string } {
  const r = child(request, 'Routing');
  return {
    authorityCvr: childText(child(request, 'AuthorityContext'), 'MunicipalityCVR'),
    senderCvr: childText(r, 'AfsendendeMyndighed'),
    routingCvr: childText(r, 'RoutingMyndighed'),
    kle: childText(r, 'RoutingKLEEmne'),
    handlingFacet: childText(r, 'RoutingHandlingFacet'),
  };
}

/** Server side (simulator): the whole response envelope. */
export function buildModtagerListResponse(systems: ModtagerSystem[]): string {
  const items = systems
    .map(
      (s) =>
        `<v2:System>${el('v2', 'SystemMyndighed', s.authorityCvr)}${el('v2', 'SystemUUID', s.systemUuid)}${el('v2', 'SystemNavn', s.systemName ?? '')}` +
        `${el('v2', 'RoutingKLEEmne', s.kle)}${el('v2', 'RoutingHandlingFacet', s.handlingFacet, true)}</v2:System>`,
    )
    .join('');
  return soapEnvelope(
    `<v3:FordelingsmodtagerListResponse xmlns:v3="${NS.v3}" xmlns:v2="${NS.v2}"><v3:Systemer>${items}</v3:Systemer></v3:FordelingsmodtagerListResponse>`,
  );
}

// ---- FordelingsmodtagerValider ----

export interface ModtagerValiderQuery {
  senderCvr: string;
  routings: Array<{ routingCvr: string; receivingSystemUuid: string }>;
}

export interface ModtagerValiderResult {
  routingCvr: string;
  receivingSystemUuid: string;
  canReceive: boolean;
}

/** The `<v3:FordelingsmodtagerValiderRequest>` element. */
export function buildModtagerValiderRequest(q: ModtagerValiderQuery): string {
  const sender = checked(q.senderCvr, 'sender CVR', CVR_PATTERN);
  if (!q.routings?.length) throw new Error('FordelingsmodtagerValider needs at least one routing');
  const list = q.routings
    .map(
      (r) =>
        `<v2:Routing>${el('v2', 'RoutingMyndighed', checked(r.routingCvr, 'routing CVR', CVR_PATTERN))}` +
        `${el('v2', 'RoutingModtagerAktoer', checked(r.receivingSystemUuid, 'receiving system UUID', UUID_PATTERN).toLowerCase())}</v2:Routing>`,
    )
    .join('');
  return (
    `<v3:FordelingsmodtagerValiderRequest ${rootAttrs}>${header(sender)}` +
    `${el('v3', 'AfsendendeMyndighed', sender)}<v3:RoutingListe>${list}</v3:RoutingListe></v3:FordelingsmodtagerValiderRequest>`
  );
}

export function parseModtagerValiderResponse(envelopeXml: string): ModtagerValiderResult[] {
  const body = parseSoapBody(envelopeXml);
  if (body.localName !== 'FordelingsmodtagerValiderResponse') throw new XmlError(`Expected FordelingsmodtagerValiderResponse, got <${body.nodeName}>`);
  return children(child(body, 'RoutingListe'), 'RoutingModtager').map((r) => ({
    routingCvr: childText(r, 'RoutingMyndighed') ?? '',
    receivingSystemUuid: (childText(r, 'RoutingModtagerAktoer') ?? '').toLowerCase(),
    canReceive: /^(true|1)$/i.test(childText(r, 'KanModtage') ?? ''),
  }));
}

/** Server side (simulator). */
export function parseModtagerValiderRequest(request: Element): {
  authorityCvr?: string;
  senderCvr?: string;
  routings: Array<{ routingCvr?: string; receivingSystemUuid?: string }>;
} {
  return {
    authorityCvr: childText(child(request, 'AuthorityContext'), 'MunicipalityCVR'),
    senderCvr: childText(request, 'AfsendendeMyndighed'),
    routings: children(child(request, 'RoutingListe'), 'Routing').map((r) => ({
      routingCvr: childText(r, 'RoutingMyndighed'),
      receivingSystemUuid: childText(r, 'RoutingModtagerAktoer'),
    })),
  };
}

export function buildModtagerValiderResponse(results: ModtagerValiderResult[]): string {
  const items = results
    .map(
      (r) =>
        `<v2:RoutingModtager>${el('v2', 'RoutingMyndighed', r.routingCvr)}${el('v2', 'RoutingModtagerAktoer', r.receivingSystemUuid)}` +
        `${el('v2', 'KanModtage', r.canReceive ? 'true' : 'false')}</v2:RoutingModtager>`,
    )
    .join('');
  return soapEnvelope(
    `<v3:FordelingsmodtagerValiderResponse xmlns:v3="${NS.v3}" xmlns:v2="${NS.v2}"><v3:RoutingListe>${items}</v3:RoutingListe></v3:FordelingsmodtagerValiderResponse>`,
  );
}
