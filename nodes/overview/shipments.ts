/**
 * What the OS2 overview sidebar shows of the ledger: shipment summaries and one shipment's details, with CPR
 * numbers masked and file contents left out. No Node-RED dependency.
 */
import type { ReceiptRecord, ShipmentFilter, ShipmentRecord, ShipmentState } from '../../lib/ledger/types';
import { maskCpr, maskCprDeep as maskDeep } from '../../lib/privacy/cpr';
import { ALL_STATES, RESENDABLE } from '../../lib/outbox/states';
import { shipmentIdentity, type ShipmentIdentity } from '../../lib/ledger/export';

export { maskCpr };

export const STATES = ALL_STATES;

/** States from which the sidebar offers "resend". */
export { RESENDABLE };

const BASE64_TEXT = />\s*([A-Za-z0-9+/]{120,}={0,2})\s*</g;

export interface RequestView {
  /** The request with CPR masked and long base64 contents replaced by a note of their size. */
  text: string;
  /** Embedded XML documents (e.g. the form XML of a FORMULAR), decoded and masked. */
  documents: string[];
}

/** The stored FordelingsobjektAfsend request as the sidebar shows it: no file contents, no CPR numbers. */
export function requestView(request: string | undefined): RequestView {
  const documents: string[] = [];
  if (!request) return { text: '', documents };
  const text = request.replace(BASE64_TEXT, (_m, b64: string) => {
    const bytes = Buffer.from(b64, 'base64');
    const decoded = bytes.toString('utf8');
    const isXml = /^\s*(<\?xml[^>]*\?>\s*)?<[A-Za-z_]/.test(decoded) && !decoded.includes('\uFFFD') && !/[\u0000-\u0008\u000E-\u001F]/.test(decoded);
    if (isXml && documents.length < 5) {
      documents.push(maskCpr(decoded.length > 200_000 ? decoded.slice(0, 200_000) + '…' : decoded));
      return `>[XML document ${documents.length}, ${bytes.length} bytes]<`;
    }
    return `>[base64 content, ${bytes.length} bytes]<`;
  });
  return { text: maskCpr(text), documents };
}

export interface ReceiptView {
  type: string;
  code: string;
  reason?: string;
  errors: Array<{ code: string; text: string }>;
  receivedAt: string;
}

export interface ShipmentSummary extends ShipmentIdentity {
  attempts: number;
  lastError?: string;
  ledger: { id: string; name: string };
  receipts: ReceiptView[];
}

export function receiptView(r: ReceiptRecord): ReceiptView {
  return maskDeep({ type: r.type, code: r.code, reason: r.reason, errors: r.errors ?? [], receivedAt: r.receivedAt });
}

export function summary(s: ShipmentRecord, receipts: ReceiptRecord[], ledger: { id: string; name: string }): ShipmentSummary {
  return {
    ...shipmentIdentity(s, maskCpr),
    attempts: s.attempts.length,
    lastError: s.lastError === undefined ? undefined : maskCpr(s.lastError),
    ledger,
    receipts: receipts.map(receiptView),
  };
}

export interface ShipmentDetails extends ShipmentSummary {
  attemptList: Array<{ at: string; ok: boolean; errorClass?: string; error?: string; durationMs?: number }>;
  request: RequestView;
  response: string;
  meta: Record<string, unknown>;
  resendable: boolean;
}

export function details(s: ShipmentRecord, receipts: ReceiptRecord[], ledger: { id: string; name: string }): ShipmentDetails {
  const meta: Record<string, unknown> = {};
  // meta may carry anything (file names, counters); keep only short scalar values.
  for (const [k, v] of Object.entries(s.meta ?? {})) {
    if ((typeof v === 'string' && v.length <= 300) || typeof v === 'number' || typeof v === 'boolean') meta[k] = typeof v === 'string' ? maskCpr(v) : v;
  }
  return {
    ...summary(s, receipts, ledger),
    attemptList: maskDeep(s.attempts),
    request: requestView(s.request),
    response: maskCpr(s.response ? requestView(s.response).text : ''),
    meta,
    resendable: RESENDABLE.includes(s.state),
  };
}

/** The list query (`state`, `form`, `since`, `until`, `limit`, `offset`) as a ledger filter, or a one-line reason it is invalid. */
export function parseFilter(q: Record<string, unknown>): ShipmentFilter | string {
  const f: ShipmentFilter = {};
  const str = (k: string) => (typeof q[k] === 'string' && (q[k] as string).trim() !== '' ? (q[k] as string).trim() : undefined);
  const state = str('state');
  if (state) {
    if (!STATES.includes(state as ShipmentState)) return `state must be one of ${STATES.join(', ')}`;
    f.state = state as ShipmentState;
  }
  const form = str('form');
  if (form) f.webformId = form;
  for (const key of ['since', 'until'] as const) {
    const v = str(key);
    if (!v) continue;
    const t = Date.parse(v);
    if (Number.isNaN(t)) return `${key} must be a date (ISO 8601, e.g. 2026-11-22)`;
    // A bare date as "until" means the whole of that day.
    f[key] = new Date(key === 'until' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? t + 86_400_000 - 1 : t).toISOString();
  }
  const limit = str('limit');
  const n = limit === undefined ? 200 : Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > 1000) return 'limit must be a whole number from 1 to 1000';
  f.limit = n;
  const offset = str('offset');
  const o = offset === undefined ? 0 : Number(offset);
  if (!Number.isInteger(o) || o < 0 || o > 10_000_000) return 'offset must be a whole number from 0';
  if (o) f.offset = o;
  return f;
}
