/**
 * Audit export of shipments and receipts (JSON or CSV), shared by every backend.
 * What leaves here: identifiers, states, timestamps, attempt outcomes, receipt codes and texts — with anything that
 * looks like a CPR number masked. Never request/response bodies, raw receipts or `meta` (they may carry file contents).
 */
import { maskCpr as maskAnyCpr } from '../privacy/cpr';
import { elideFileContents } from '../privacy/file-content';
import type { ExportFilter, Ledger, ReceiptRecord, ShipmentRecord } from './types';

/**
 * The export keeps the date part of a CPR number (`ddmmyy-XXXX`) so records can be told apart; file contents an error
 * text may quote are left out.
 */
const maskCpr = (text: string): string => maskAnyCpr(elideFileContents(text), { keepBirthDate: true });

export interface ExportedReceipt {
  type: string;
  code: string;
  reason?: string;
  errors: Array<{ code: string; text: string }>;
  receivedAt: string;
}

/** What identifies a shipment to a person (export, the OS2 sidebar): ids, form, type, state and times. */
export type ShipmentIdentity = Pick<
  ShipmentRecord,
  'transactionId' | 'distributionTransactionId' | 'submissionId' | 'webformId' | 'objektType' | 'state' | 'createdAt' | 'updatedAt'
>;

/** A shipment's identity, with anything shaped like a CPR number in the submission id masked by `mask`. */
export function shipmentIdentity(s: ShipmentRecord, mask: (text: string) => string): ShipmentIdentity {
  return {
    transactionId: s.transactionId,
    distributionTransactionId: s.distributionTransactionId,
    submissionId: mask(s.submissionId),
    webformId: s.webformId,
    objektType: s.objektType,
    state: s.state,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

export interface ExportedShipment extends ShipmentIdentity {
  attempts: Array<{ at: string; ok: boolean; errorClass?: string; error?: string; durationMs?: number }>;
  lastError?: string;
  receipts: ExportedReceipt[];
}

type Source = Pick<Ledger, 'listShipments' | 'listReceipts'>;

/** Shipments read per page while exporting: the export never holds more than this many at once. */
const EXPORT_PAGE = 500;

/** The shipments the filter selects, newest first, with their receipts, read page by page. */
export async function* exportedShipments(ledger: Source, filter: ExportFilter = {}, pageSize = EXPORT_PAGE): AsyncGenerator<ExportedShipment> {
  for (let offset = 0; ; offset += pageSize) {
    const page = await ledger.listShipments({ ...filter, limit: pageSize, offset });
    for (const s of page) yield exportShipment(s, await ledger.listReceipts(s.transactionId));
    if (page.length < pageSize) return;
  }
}

export async function collectExport(ledger: Source, filter: ExportFilter = {}): Promise<ExportedShipment[]> {
  const out: ExportedShipment[] = [];
  for await (const s of exportedShipments(ledger, filter)) out.push(s);
  return out;
}

export function exportShipment(s: ShipmentRecord, receipts: ReceiptRecord[]): ExportedShipment {
  const m = (v: string | undefined) => (v === undefined ? undefined : maskCpr(v));
  return {
    ...shipmentIdentity(s, maskCpr),
    attempts: s.attempts.map((a) => ({ at: a.at, ok: a.ok, errorClass: a.errorClass, error: m(a.error), durationMs: a.durationMs })),
    lastError: m(s.lastError),
    receipts: receipts.map((r) => ({
      type: r.type,
      code: r.code,
      reason: m(r.reason),
      errors: r.errors.map((e) => ({ code: e.code, text: maskCpr(e.text) })),
      receivedAt: r.receivedAt,
    })),
  };
}

/**
 * The export as text chunks, a page of shipments at a time (for a streamed HTTP answer: a year of shipments does not
 * fit in one string). JSON: `{ exportedAt, shipments: [...] }`; CSV: see CSV_COLUMNS.
 */
export async function* exportChunks(ledger: Source, format: 'json' | 'csv', filter?: ExportFilter, pageSize = EXPORT_PAGE): AsyncGenerator<string> {
  if (format === 'json') {
    yield `{"exportedAt":${JSON.stringify(new Date().toISOString())},"shipments":[`;
    let first = true;
    for await (const s of exportedShipments(ledger, filter, pageSize)) {
      yield `${first ? '' : ','}\n${JSON.stringify(s)}`;
      first = false;
    }
    yield '\n]}\n';
    return;
  }
  yield CSV_COLUMNS.join(',') + '\r\n';
  for await (const s of exportedShipments(ledger, filter, pageSize)) yield csvRows(s);
}

async function joined(chunks: AsyncIterable<string>): Promise<string> {
  const parts: string[] = [];
  for await (const c of chunks) parts.push(c);
  return parts.join('');
}

export function exportJson(ledger: Source, filter?: ExportFilter): Promise<string> {
  return joined(exportChunks(ledger, 'json', filter));
}

const CSV_COLUMNS = [
  'transactionId',
  'distributionTransactionId',
  'submissionId',
  'webformId',
  'objektType',
  'state',
  'createdAt',
  'updatedAt',
  'attempts',
  'lastError',
  'receiptType',
  'receiptCode',
  'receiptReason',
  'receiptErrors',
  'receiptReceivedAt',
] as const;

export function exportCsv(ledger: Source, filter?: ExportFilter): Promise<string> {
  return joined(exportChunks(ledger, 'csv', filter));
}

/** One CSV row per receipt (one for a shipment without receipts). */
function csvRows(s: ExportedShipment): string {
  const base = [
    s.transactionId,
    s.distributionTransactionId,
    s.submissionId,
    s.webformId,
    s.objektType,
    s.state,
    s.createdAt,
    s.updatedAt,
    String(s.attempts.length),
    s.lastError,
  ];
  const receipts = s.receipts.length ? s.receipts : [undefined];
  return receipts
    .map(
      (r) =>
        [...base, r?.type, r?.code, r?.reason, r ? r.errors.map((e) => `${e.code}: ${e.text}`).join('; ') : undefined, r?.receivedAt].map(csvCell).join(',') +
        '\r\n',
    )
    .join('');
}

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet does not run it as a formula. */
function csvCell(v: string | undefined): string {
  if (v === undefined || v === null) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
