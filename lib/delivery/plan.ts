/**
 * What `fordeling out` does with a message, without Node-RED: its settings read once, and a message planned into a
 * shipment — which AnvenderTransaktionsID it has and how its request is built (run only when nothing usable is
 * recorded yet). No Node-RED dependency.
 *
 * Identity per target: a shipment's id derives from the submission (webform id + submission uuid) and the node's
 * shipment key, so two fordeling out nodes sending one submission to two targets make two shipments, while the same
 * submission through the same target again is still one shipment. The key:
 *   - 'target' (default): where the object goes — objekt type, receiving authority, KLE + facet or receiving system;
 *     stable across redeploy, restart, copy and import of the flow;
 *   - 'custom': a text the builder sets (e.g. "sag" and "journal" for two nodes that send the same object twice);
 *   - 'submission': no key — one shipment per submission whichever node sends it (how versions before it worked).
 */
import type { ShipmentRecord } from '../ledger/types';
import type { FordelingsObject } from '../sf2900/model';
import { UUID_PATTERN } from '../sf2900/model';
import { buildAfsendRequestFromAnmodning } from '../sf2900/afsend';
import { transactionIdFor } from '../sf2900/transaction-id';
import { parseXmlSafely } from '../xml/safe-xml';
import { prepareAfsend, type DeliveryContext, type ShipmentIds } from './deliver';
import { DeliveryError } from './errors';
import { DURABLE_DEFAULTS, DUPLICATE_REFUSAL_DEFAULT } from './durable-delivery';
import { filesOf } from './sftp-files';

export type ShipmentKeyMode = 'target' | 'custom' | 'submission';

export interface FordelingOutSettings {
  attempts: number;
  baseMs: number;
  capMs: number;
  concurrency: number;
  breakerFailures: number;
  breakerOpenMs: number;
  confirmWithinMs: number;
  duplicateRefusal: RegExp;
  keyMode: ShipmentKeyMode;
  keyText: string;
}

/** A number setting (as the editor stores it, often text) at least `min`, or the default. */
function num(v: unknown, dflt: number, min = 0): number {
  const n = Number(v);
  return v !== '' && v !== undefined && v !== null && Number.isFinite(n) && n >= min ? n : dflt;
}

/** The node's settings from its configuration; throws Error(one line) for a setting that cannot be used. */
export function fordelingOutSettings(c: Record<string, unknown>): FordelingOutSettings {
  const seconds = (v: unknown, dfltMs: number) => Math.round(num(v, dfltMs / 1000) * 1000);
  const keyMode: ShipmentKeyMode = c.shipmentKey === 'custom' || c.shipmentKey === 'submission' ? c.shipmentKey : 'target';
  const keyText = String(c.shipmentKeyText ?? '').trim();
  if (keyMode === 'custom' && !keyText) throw new Error('fordeling out: the shipment key is "custom" but no key text is set');
  let duplicateRefusal = DUPLICATE_REFUSAL_DEFAULT;
  if (typeof c.duplicateRefusal === 'string' && c.duplicateRefusal.trim()) {
    try {
      duplicateRefusal = new RegExp(c.duplicateRefusal.trim(), 'i');
    } catch (err) {
      throw new Error(`fordeling out: the duplicate-refusal pattern is not a regular expression: ${(err as Error).message}`);
    }
  }
  return {
    attempts: Math.max(1, Math.round(num(c.attempts, DURABLE_DEFAULTS.attempts, 1))),
    baseMs: seconds(c.retryBase, DURABLE_DEFAULTS.baseMs),
    capMs: seconds(c.retryCap, DURABLE_DEFAULTS.capMs),
    concurrency: Math.max(1, Math.round(num(c.concurrency, DURABLE_DEFAULTS.concurrency, 1))),
    breakerFailures: Math.round(num(c.breakerFailures, DURABLE_DEFAULTS.breakerFailures)),
    breakerOpenMs: seconds(c.breakerOpen, DURABLE_DEFAULTS.breakerOpenMs),
    confirmWithinMs: Math.round(num(c.confirmWithin, DURABLE_DEFAULTS.confirmWithinMs / 60_000) * 60_000),
    duplicateRefusal,
    keyMode,
    keyText,
  };
}

/** The shipment key of an object under the node's setting (undefined: one shipment per submission). */
export function shipmentKeyOf(obj: FordelingsObject, s: Pick<FordelingOutSettings, 'keyMode' | 'keyText'>): string | undefined {
  if (s.keyMode === 'submission') return undefined;
  if (s.keyMode === 'custom') return `custom:${s.keyText}`;
  const r = obj.context?.routing ?? ({} as FordelingsObject['context']['routing']);
  const to = r.receivingSystemUuid ? `system:${r.receivingSystemUuid.toLowerCase()}` : `kle:${r.kle ?? ''}:${r.handlingFacet ?? ''}`;
  return `${obj.objektType}:${r.receivingAuthorityCvr ?? ''}:${to}`;
}

export function invalid(reason: string): DeliveryError {
  return new DeliveryError({ class: 'permanent', code: 'INVALID', reason, errors: [] });
}

export interface PlannedShipment {
  transactionId: string;
  /** The id this submission had before shipment keys, to recognise what this node already sent to this target under it. */
  legacy?: { id: string; sameTarget(old: ShipmentRecord): boolean };
  prepare: () => Promise<{ request: string; ids: ShipmentIds }>;
}

/**
 * Plans a delivery message: a FordelingsObject in msg.payload, or an expert's XML anmodning with msg.transactionId.
 * Throws a permanent DeliveryError for a message that cannot be delivered.
 */
export function planShipment(
  msg: { payload?: unknown; transactionId?: unknown; submissionId?: unknown },
  ctx: DeliveryContext,
  o: { settings: Pick<FordelingOutSettings, 'keyMode' | 'keyText'>; sftp: boolean },
): PlannedShipment {
  if (typeof msg.payload === 'string') return planXml(msg.payload, msg, ctx);
  const obj = msg.payload as FordelingsObject;
  if (!obj || typeof obj !== 'object' || !obj.objektType || !obj.context)
    throw invalid('msg.payload is not a FordelingsObject (objektType and context are required)');
  if (typeof obj.submissionId !== 'string' || !obj.submissionId) throw invalid('The FordelingsObject has no submissionId');
  if (!o.sftp) {
    const count = filesOf(obj).length;
    if (count) throw invalid(`The ${obj.objektType} carries ${count} file(s), which go by SFTP, but no SFTP configuration is chosen in fordeling out`);
  }
  const key = shipmentKeyOf(obj, o.settings);
  let transactionId: string;
  try {
    transactionId = transactionIdFor(obj.submissionId, obj.webformId, key, obj.revision);
  } catch (err) {
    throw invalid((err as Error).message);
  }
  const legacy =
    key && !obj.revision ? { id: transactionIdFor(obj.submissionId, obj.webformId), sameTarget: (old: ShipmentRecord) => sameTarget(obj, old) } : undefined;
  return { transactionId, legacy, prepare: () => prepareAfsend(obj, ctx, key) };
}

/** Whether a shipment recorded before shipment keys went where `obj` goes: the same objekt type and routing in its request. */
function sameTarget(obj: FordelingsObject, old: ShipmentRecord): boolean {
  const r = obj.context.routing ?? ({} as FordelingsObject['context']['routing']);
  const wanted = [r.receivingAuthorityCvr, r.receivingSystemUuid ?? r.kle, r.receivingSystemUuid ? undefined : r.handlingFacet].filter(Boolean) as string[];
  const req = (old.request ?? '').toLowerCase();
  return old.objektType === obj.objektType && wanted.every((v) => req.includes(`>${v.toLowerCase()}<`));
}

function planXml(xml: string, msg: { transactionId?: unknown; submissionId?: unknown }, ctx: DeliveryContext): PlannedShipment {
  const transactionId = String(msg.transactionId ?? '')
    .trim()
    .toLowerCase();
  if (!UUID_PATTERN.test(transactionId)) throw invalid('An XML anmodning in msg.payload needs msg.transactionId (the AnvenderTransaktionsID, a UUID)');
  let requestXml: string;
  try {
    const root = parseXmlSafely(xml, 'msg.payload').documentElement;
    if (root?.localName === 'FordelingsobjektAfsendRequest') requestXml = xml.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
    else requestXml = buildAfsendRequestFromAnmodning(xml, ctx.endpoint.senderCvr);
  } catch (err) {
    throw invalid(`msg.payload is not a usable anmodning: ${(err as Error).message}`);
  }
  const submissionId = typeof msg.submissionId === 'string' ? msg.submissionId : transactionId;
  return { transactionId, prepare: async () => ({ request: requestXml, ids: { transactionId, submissionId } }) };
}

/** The AnvenderTransaktionsID fordeling out gives a FordelingsObject under a shipment-key setting (default: by target). */
export function shipmentIdOf(
  obj: Pick<FordelingsObject, 'submissionId' | 'webformId' | 'objektType' | 'context' | 'revision'>,
  s: Pick<FordelingOutSettings, 'keyMode' | 'keyText'> = { keyMode: 'target', keyText: '' },
): string {
  return transactionIdFor(obj.submissionId, obj.webformId, shipmentKeyOf(obj as FordelingsObject, s), obj.revision);
}
