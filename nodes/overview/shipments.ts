/**
 * What the OS2 overview sidebar shows of the ledger: shipment summaries and one shipment's details, with CPR
 * numbers masked and file contents left out (lib/privacy/file-content.ts). No Node-RED dependency.
 */
import type { ReceiptRecord, ShipmentFilter, ShipmentRecord, ShipmentState } from '../../lib/ledger/types';
import { maskCpr as maskCprOnly, maskCprDeep } from '../../lib/privacy/cpr';
import { elideFileContents, elideFileContentsDeep, isFileElement } from '../../lib/privacy/file-content';
import { ALL_STATES, RESENDABLE } from '../../lib/outbox/states';
import { shipmentIdentity, type ShipmentIdentity } from '../../lib/ledger/export';

/** Text as the overview shows it: file contents left out, CPR numbers masked. */
export function maskCpr(text: string): string {
  return maskCprOnly(elideFileContents(text));
}

/** maskCpr for every string of a JSON-like value, file objects' contents left out (a copy). */
export function maskDeep<T>(value: T): T {
  return maskCprDeep(elideFileContentsDeep(value));
}

export const STATES = ALL_STATES;

/** States from which the sidebar offers "resend". */
export { RESENDABLE };

/** A text-only element holding base64, any namespace prefix (candidates for an embedded XML document). */
const BASE64_ELEMENT = /<((?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*))(\s[^<>]*)?>\s*([A-Za-z0-9+/]{120,}={0,2})\s*<\/\1\s*>/g;

export interface RequestView {
  /** The request with CPR masked and file contents replaced by a note of their size. */
  text: string;
  /** Embedded XML documents (e.g. a base64-encoded form XML), decoded, masked and with their own file contents left out. */
  documents: string[];
}

/** The stored FordelingsobjektAfsend request as the sidebar shows it: no file contents, no CPR numbers. */
export function requestView(request: string | undefined): RequestView {
  const documents: string[] = [];
  if (!request) return { text: '', documents };
  const text = request.replace(BASE64_ELEMENT, (all, qname: string, name: string, attrs: string | undefined, b64: string) => {
    // a file (the PDF of a FORMULAR, a document) is never decoded, whatever it holds: it is left out below
    if (isFileElement(name) || documents.length >= 5) return all;
    const bytes = Buffer.from(b64, 'base64');
    const decoded = bytes.toString('utf8');
    const isXml = /^\s*(<\?xml[^>]*\?>\s*)?<[A-Za-z_]/.test(decoded) && !decoded.includes('\uFFFD') && !/[\u0000-\u0008\u000E-\u001F]/.test(decoded);
    if (!isXml) return all;
    documents.push(maskCpr(decoded.length > 200_000 ? decoded.slice(0, 200_000) + '…' : decoded));
    return `<${qname}${attrs ?? ''}>[XML document ${documents.length}, ${bytes.length} bytes]</${qname}>`;
  });
  return { text: maskCpr(text), documents };
}

/** A stored response (or any body) as the sidebar shows it. */
export function bodyView(body: string | undefined): string {
  return body ? maskCpr(body) : '';
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
    response: bodyView(s.response),
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
