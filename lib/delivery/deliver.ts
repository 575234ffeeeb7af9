/**
 * The calls to the Fordelingskomponent, in stages the outbox (lib/outbox, lib/delivery/durable-delivery.ts) runs:
 *   1. prepareFiles  — SFTP upload of files (a hook; no-op when no SFTP stage is configured)
 *   2. serialise     — FordelingsobjektAfsendRequest (lib/sf2900)            — prepareAfsend()
 *   3. security      — certificate model (mutual TLS + AuthorityContext, nothing to add to the envelope) or token
 *                      (lib/delivery/token-security.ts); built per send, a refused token is renewed once
 *   4. send and interpret the answer, classified (transient / permanent) — sendAfsend()
 * Recording, retries and state are the outbox's; nothing here writes to the ledger. No Node-RED dependency.
 */
import type { FordelingsObject } from '../sf2900/model';
import { buildAfsendRequest, readAfsendResponse } from '../sf2900/afsend';
import {
  buildModtagerListRequest,
  buildModtagerValiderRequest,
  parseModtagerListResponse,
  parseModtagerValiderResponse,
  type ModtagerValiderResult,
} from '../sf2900/modtager-list';
import { isSoapFault, parseSoapBody, soapEnvelope } from '../sf2900/soap';
import { SERVICE_PATH, SOAP_ACTIONS } from '../sf2900/namespaces';
import { transactionIdFor } from '../sf2900/transaction-id';
import type { Kvittering } from '../sf2900/receipts';
import { classifyFault, DeliveryError } from './errors';
import { SoapTransport, type SoapResponse } from './soap-transport';

export interface EndpointConfig {
  /** https://exttest.serviceplatformen.dk, https://prod.serviceplatformen.dk or a custom base URL. */
  baseUrl: string;
  senderCvr: string;
  senderSystemUuid: string;
  timeoutMs: number;
}

/** Stage 3: the security model turns a body element into the envelope that goes on the wire. */
export interface SecurityModel {
  readonly name: 'certificate' | 'token';
  envelope(bodyXml: string, operation: string): Promise<string>;
  /**
   * Called when the platform refused a request. Resolves true when the model renewed its credentials (token model:
   * a fresh assertion), and the request is then sent once more with a new envelope.
   */
  renew?(err: DeliveryError): Promise<boolean>;
}

/** The certificate model: mutual TLS carries the identity; the AuthorityContext is in the body already. */
export const certificateSecurity: SecurityModel = {
  name: 'certificate',
  envelope: async (bodyXml) => soapEnvelope(bodyXml),
};

/** Stage 1: returns the object with files uploaded and names assigned (e.g. DokumentFilNavn). */
export type PrepareFiles = (obj: FordelingsObject, ctx: { transactionId: string }) => Promise<FordelingsObject>;

export interface DeliveryContext {
  endpoint: EndpointConfig;
  transport: SoapTransport;
  security?: SecurityModel;
  prepareFiles?: PrepareFiles;
  now?: () => Date;
  /** Called when a stage starts (for node status). */
  onStage?: (stage: 'prepare') => void;
}

export function serviceUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '') + SERVICE_PATH;
}

/** Fills the sender from the serviceplatform configuration where the object does not say otherwise. */
export function withSender(obj: FordelingsObject, endpoint: EndpointConfig): FordelingsObject {
  return {
    ...obj,
    context: {
      ...obj.context,
      senderAuthorityCvr: obj.context?.senderAuthorityCvr || endpoint.senderCvr,
      senderSystemUuid: (obj.context?.senderSystemUuid || endpoint.senderSystemUuid).toLowerCase(),
    },
  };
}

/** The shipment fields of a prepared request (what the ledger records). */
export interface ShipmentIds {
  transactionId: string;
  submissionId: string;
  webformId?: string;
  objektType?: string;
}

/**
 * Stages 1–2: files (prepareFiles) and the serialised FordelingsobjektAfsendRequest, which the outbox records and
 * sends from its durable queue.
 */
export async function prepareAfsend(
  input: FordelingsObject,
  ctx: Pick<DeliveryContext, 'endpoint' | 'prepareFiles' | 'onStage' | 'now'>,
  shipmentKey?: string,
): Promise<{ request: string; ids: ShipmentIds }> {
  if (!input || typeof input !== 'object' || !input.objektType || !input.context) {
    throw new DeliveryError({
      class: 'permanent',
      code: 'INVALID',
      reason: 'msg.payload is not a FordelingsObject (objektType and context are required)',
      errors: [],
    });
  }
  if (!input.submissionId) throw new DeliveryError({ class: 'permanent', code: 'INVALID', reason: 'The FordelingsObject has no submissionId', errors: [] });
  const transactionId = transactionIdFor(input.submissionId, input.webformId, shipmentKey, input.revision);
  let obj = withSender(input, ctx.endpoint);
  if (ctx.prepareFiles) {
    ctx.onStage?.('prepare');
    obj = await ctx.prepareFiles(obj, { transactionId });
  }
  let request: string;
  try {
    request = buildAfsendRequest(obj, {
      transactionId,
      senderCvr: obj.context.senderAuthorityCvr as string,
      senderSystemUuid: obj.context.senderSystemUuid as string,
      now: ctx.now?.(),
    });
  } catch (err) {
    throw new DeliveryError({
      class: 'permanent',
      code: 'INVALID',
      reason: `The FordelingsObject cannot be serialised: ${(err as Error).message}`,
      errors: [],
    });
  }
  return { request, ids: { transactionId, submissionId: obj.submissionId, webformId: obj.webformId, objektType: obj.objektType } };
}

/**
 * One FordelingsobjektAfsend call with a stored request (stages 3 + 4, no ledger writes): a fresh envelope, the POST,
 * the answer interpreted. Throws a classified DeliveryError (transient: network, timeout, 5xx, 429, SOAP Server fault).
 */
export async function sendAfsend(
  request: string,
  ctx: Pick<DeliveryContext, 'endpoint' | 'transport' | 'security'>,
): Promise<{ distributionTransactionId?: string; receipt: Kvittering; raw: string }> {
  try {
    const { res, value } = await exchange(ctx.security ?? certificateSecurity, request, 'FordelingsobjektAfsend', SOAP_ACTIONS.afsend, ctx, interpretAfsend);
    return { ...value, raw: res.body };
  } catch (err) {
    throw toDeliveryError(err);
  }
}

/**
 * Stages 3 + 4 for one send: a fresh envelope each time (the token model's MessageID and Timestamp must be new), posted
 * and interpreted; when the security model renews its credentials after a refusal, the request goes once more.
 */
async function exchange<T>(
  security: SecurityModel,
  bodyXml: string,
  operation: string,
  action: string,
  ctx: Pick<DeliveryContext, 'endpoint' | 'transport'>,
  interpret: (res: SoapResponse) => T,
): Promise<{ res: SoapResponse; value: T }> {
  for (let renewed = false; ; renewed = true) {
    const envelope = await security.envelope(bodyXml, operation);
    const res = await ctx.transport.post(serviceUrl(ctx.endpoint.baseUrl), action, envelope, ctx.endpoint.timeoutMs);
    try {
      return { res, value: interpret(res) };
    } catch (err) {
      const e = toDeliveryError(err, res);
      if (renewed || !security.renew || !(await security.renew(e))) throw e;
    }
  }
}

const REJECTED_CODES = new Set(['AFVIST', 'FEJLET']);

/** Turns an HTTP answer to FordelingsobjektAfsend into a result, or throws a classified DeliveryError. */
export function interpretAfsend(res: SoapResponse): { distributionTransactionId?: string; receipt: Kvittering } {
  // read without a DOM when the answer is plain XML (readAfsendResponse uses only lib/xml/dom.ts's readers)
  const body = interpretSoap(res, { plain: true });
  let parsed: ReturnType<typeof readAfsendResponse>;
  try {
    parsed = readAfsendResponse(body);
  } catch (err) {
    throw toDeliveryError(err, res);
  }
  const receipt = parsed.receipt;
  if (receipt && REJECTED_CODES.has(receipt.code)) {
    const detail = receipt.reason || receipt.errors.map((e) => `${e.code}: ${e.text}`).join('; ') || 'no reason given';
    throw new DeliveryError(
      { class: 'permanent', code: receipt.code, reason: `The Fordelingskomponent answered ${receipt.code}: ${detail}`, errors: receipt.errors },
      res.body,
    );
  }
  return { distributionTransactionId: parsed.distributionTransactionId, receipt };
}

/** Checks status and body of a SOAP answer; returns the body's first element or throws a classified error. */
export function interpretSoap(res: SoapResponse, options: { plain?: boolean } = {}): ReturnType<typeof parseSoapBody> {
  if (res.status >= 200 && res.status < 300) {
    try {
      return parseSoapBody(res.body, options);
    } catch (err) {
      throw toDeliveryError(err, res);
    }
  }
  if (/<\s*([A-Za-z_][\w.-]*:)?Envelope[\s>]/.test(res.body)) {
    try {
      parseSoapBody(res.body);
    } catch (err) {
      if (isSoapFault(err)) throw new DeliveryError(classifyFault(err, res.status), res.body);
    }
  }
  throw SoapTransport.httpError(res);
}

export function toDeliveryError(err: unknown, res?: SoapResponse): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (isSoapFault(err)) return new DeliveryError(classifyFault(err, res?.status), res?.body);
  const message = String((err as Error)?.message ?? err);
  return new DeliveryError(
    {
      class: 'permanent',
      code: 'BAD_RESPONSE',
      reason: `The Serviceplatform's answer cannot be read: ${message.split('\n')[0]}`,
      errors: [],
      httpStatus: res?.status,
    },
    res?.body,
  );
}

/** FordelingsmodtagerList: which IT-systems receive for (authority, KLE, facet). */
export async function listReceivers(
  q: { routingCvr: string; kle: string; handlingFacet?: string; senderCvr?: string },
  ctx: Pick<DeliveryContext, 'endpoint' | 'transport' | 'security'>,
): Promise<ReturnType<typeof parseModtagerListResponse>> {
  const security = ctx.security ?? certificateSecurity;
  const body = buildModtagerListRequest({
    senderCvr: q.senderCvr || ctx.endpoint.senderCvr,
    routingCvr: q.routingCvr,
    kle: q.kle,
    handlingFacet: q.handlingFacet,
  });
  const { value } = await exchange(security, body, 'FordelingsmodtagerList', SOAP_ACTIONS.modtagerList, ctx, reading(parseModtagerListResponse));
  return value;
}

/** Interprets a SOAP answer and reads its body with `parse`; what cannot be read is a classified error. */
function reading<T>(parse: (envelopeXml: string) => T): (res: SoapResponse) => T {
  return (res) => {
    interpretSoap(res);
    try {
      return parse(res.body);
    } catch (err) {
      throw toDeliveryError(err, res);
    }
  };
}

/** FordelingsmodtagerValider: whether each (authority, IT-system) can receive now — the platform's own confirmation. */
export async function validateReceivers(
  q: { routings: Array<{ routingCvr: string; receivingSystemUuid: string }>; senderCvr?: string },
  ctx: Pick<DeliveryContext, 'endpoint' | 'transport' | 'security'>,
): Promise<ModtagerValiderResult[]> {
  const body = buildModtagerValiderRequest({ senderCvr: q.senderCvr || ctx.endpoint.senderCvr, routings: q.routings });
  const security = ctx.security ?? certificateSecurity;
  const { value } = await exchange(security, body, 'FordelingsmodtagerValider', SOAP_ACTIONS.modtagerValider, ctx, reading(parseModtagerValiderResponse));
  return value;
}

export interface RoutingQuery {
  routingCvr: string;
  /** KLE routing: the subject (and facet). */
  kle?: string;
  handlingFacet?: string;
  /** System routing: the receiving IT-system (takes precedence over kle). */
  receivingSystemUuid?: string;
}

export interface RoutingCheck {
  deliverable: boolean;
  receivers: Array<{ systemUuid: string; systemName?: string; authorityCvr?: string; canReceive: boolean }>;
  /** One sentence a builder understands. */
  reason: string;
}

/**
 * Whether the platform would deliver an object routed like this. KLE routing: FordelingsmodtagerList for authority +
 * KLE (+ facet), then FordelingsmodtagerValider for the systems found; system routing: FordelingsmodtagerValider for
 * that system. Throws a classified DeliveryError when the platform cannot be asked.
 */
export async function checkRouting(q: RoutingQuery, ctx: Pick<DeliveryContext, 'endpoint' | 'transport' | 'security'>): Promise<RoutingCheck> {
  const system = q.receivingSystemUuid?.trim().toLowerCase();
  const named = (r: { systemUuid: string; systemName?: string }) => (r.systemName ? `${r.systemName} (${r.systemUuid})` : `IT-system ${r.systemUuid}`);
  if (system) {
    const [v] = await validateReceivers({ routings: [{ routingCvr: q.routingCvr, receivingSystemUuid: system }] }, ctx);
    const canReceive = !!v?.canReceive;
    return {
      deliverable: canReceive,
      receivers: [{ systemUuid: system, authorityCvr: q.routingCvr, canReceive }],
      reason: canReceive
        ? `Would be delivered to IT-system ${system} of authority ${q.routingCvr}`
        : `IT-system ${system} cannot receive for authority ${q.routingCvr}`,
    };
  }
  const kle = String(q.kle ?? '').trim();
  const what = `KLE ${kle}${q.handlingFacet ? ` with handling facet ${q.handlingFacet}` : ''}`;
  const systems = await listReceivers({ routingCvr: q.routingCvr, kle, handlingFacet: q.handlingFacet || undefined }, ctx);
  if (!systems.length) return { deliverable: false, receivers: [], reason: `No system receives ${what} for authority ${q.routingCvr}` };
  const checked = await validateReceivers(
    { routings: systems.map((s) => ({ routingCvr: s.authorityCvr || q.routingCvr, receivingSystemUuid: s.systemUuid })) },
    ctx,
  );
  const receivers = systems.map((s) => ({
    systemUuid: s.systemUuid,
    ...(s.systemName ? { systemName: s.systemName } : {}),
    ...(s.authorityCvr ? { authorityCvr: s.authorityCvr } : {}),
    canReceive: checked.some((c) => c.receivingSystemUuid === s.systemUuid && c.canReceive),
  }));
  const able = receivers.filter((r) => r.canReceive);
  return {
    deliverable: able.length > 0,
    receivers,
    reason: able.length
      ? `Would be delivered to ${able.map(named).join(', ')}`
      : `${what} has receivers for authority ${q.routingCvr} (${receivers.map(named).join(', ')}), but the platform says none of them can receive`,
  };
}
