/**
 * Audit export of shipments and receipts (JSON or CSV), shared by every backend.
 * What leaves here: identifiers, states, timestamps, attempt outcomes, receipt codes and texts — with anything that
 * looks like a CPR number masked. Never request/response bodies, raw receipts or `meta` (they may carry file contents).
 */
import { maskCpr as maskAnyCpr } from '../privacy/cpr';
import type { ExportFilter, Ledger, ReceiptRecord, ShipmentRecord } from './types';

/** The export keeps the date part of a CPR number (`ddmmyy-XXXX`) so records can be told apart. */
const maskCpr = (text: string): string => maskAnyCpr(text, { keepBirthDate: true });

export interface ExportedReceipt {
  type: string;
  code: string;
  reason?: string;
  errors: Array<{ code: string; text: string }>;
  receivedAt: string;
}

export interface ExportedShipment {
  transactionId: string;
  distributionTransactionId?: string;
  submissionId: string;
  webformId?: string;
  objektType?: string;
  state: string;
  createdAt: string;
  updatedAt: string;
  attempts: Array<{ at: string; ok: boolean; errorClass?: string; error?: string; durationMs?: number }>;
  lastError?: string;
  receipts: ExportedReceipt[];
}

type Source = Pick<Ledger, 'listShipments' | 'listReceipts'>;

export async function collectExport(ledger: Source, filter: ExportFilter = {}): Promise<ExportedShipment[]> {
  const shipments = await ledger.listShipments({ ...filter });
  const out: ExportedShipment[] = [];
  for (const s of shipments) out.push(exportShipment(s, await ledger.listReceipts(s.transactionId)));
  return out;
}

export function exportShipment(s: ShipmentRecord, receipts: ReceiptRecord[]): ExportedShipment {
  const m = (v: string | undefined) => (v === undefined ? undefined : maskCpr(v));
  return {
    transactionId: s.transactionId,
    distributionTransactionId: s.distributionTransactionId,
    submissionId: maskCpr(s.submissionId),
    webformId: s.webformId,
    objektType: s.objektType,
    state: s.state,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
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

export async function exportJson(ledger: Source, filter?: ExportFilter): Promise<string> {
  return JSON.stringify({ exportedAt: new Date().toISOString(), shipments: await collectExport(ledger, filter) }, null, 2);
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

export async function exportCsv(ledger: Source, filter?: ExportFilter): Promise<string> {
  const rows: string[] = [CSV_COLUMNS.join(',')];
  for (const s of await collectExport(ledger, filter)) {
    const base = [s.transactionId, s.distributionTransactionId, s.submissionId, s.webformId, s.objektType, s.state, s.createdAt, s.updatedAt, String(s.attempts.length), s.lastError];
    const receipts = s.receipts.length ? s.receipts : [undefined];
    for (const r of receipts) {
      const cells = [...base, r?.type, r?.code, r?.reason, r ? r.errors.map((e) => `${e.code}: ${e.text}`).join('; ') : undefined, r?.receivedAt];
      rows.push(cells.map(csvCell).join(','));
    }
  }
  return rows.join('\r\n') + '\r\n';
}

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet does not run it as a formula. */
function csvCell(v: string | undefined): string {
  if (v === undefined || v === null) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
