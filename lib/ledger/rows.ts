/**
 * What both ledger engines share between their rows and the records: the column names of a shipment, the shipment
 * filter as SQL, and the row → record mappers. The engines differ only in how a row holds a time and JSON (SQLite: ISO
 * text and JSON text; PostgreSQL: timestamptz and jsonb), so each passes its `RowCodec`.
 */
import type { ApprovalFilter, ApprovalRecord, AttemptRecord, ReceiptRecord, ShipmentFilter, ShipmentRecord, WorkItem } from './types';

export type Row = Record<string, unknown>;

export interface RowCodec {
  time(v: unknown): string;
  json<T>(v: unknown): T;
}

/** Shipment fields stored in columns of `shipments` (the rest: bodies, attempts, times). */
export const SHIPMENT_COLUMNS: Readonly<Record<string, string>> = {
  distributionTransactionId: 'distribution_transaction_id',
  submissionId: 'submission_id',
  webformId: 'webform_id',
  objektType: 'objekt_type',
  state: 'state',
  lastError: 'last_error',
  meta: 'meta',
};

/** Removes undefined fields (a patch's undefined means "remove", so records never carry them). */
export function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

const opt = <T>(v: unknown): T | undefined => (v === null || v === undefined ? undefined : (v as T));

/** The filter as a WHERE clause; `mark(n)` is the engine's n-th placeholder (`?` or `$n`), `time` its time value. */
export function shipmentWhere(
  filter: Omit<ShipmentFilter, 'limit' | 'offset' | 'includeBodies'>,
  mark: (n: number) => string,
  time: (iso: string) => unknown = (v) => v,
): { where: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  const add = (column: string, op: string, v: unknown) => {
    values.push(v);
    parts.push(`${column} ${op} ${mark(values.length)}`);
  };
  if (filter.state) add('state', '=', filter.state);
  if (filter.webformId) add('webform_id', '=', filter.webformId);
  if (filter.since) add('created_at', '>=', time(filter.since));
  if (filter.until) add('created_at', '<=', time(filter.until));
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', values };
}

export function shipmentFromRow(r: Row, attempts: AttemptRecord[], bodies: { request?: string; response?: string } | undefined, c: RowCodec): ShipmentRecord {
  return strip({
    transactionId: r.transaction_id as string,
    distributionTransactionId: opt<string>(r.distribution_transaction_id),
    submissionId: r.submission_id as string,
    webformId: opt<string>(r.webform_id),
    objektType: opt<string>(r.objekt_type),
    state: r.state as ShipmentRecord['state'],
    attempts,
    createdAt: c.time(r.created_at),
    updatedAt: c.time(r.updated_at),
    request: bodies?.request ?? undefined,
    response: bodies?.response ?? undefined,
    lastError: opt<string>(r.last_error),
    meta: r.meta === null || r.meta === undefined ? undefined : c.json<Record<string, unknown>>(r.meta),
  });
}

export function receiptFromRow(r: Row, c: RowCodec): ReceiptRecord {
  return strip({
    id: r.id as string,
    transactionId: r.transaction_id as string,
    distributionTransactionId: opt<string>(r.distribution_transaction_id),
    type: r.type as string,
    code: r.code as string,
    reason: opt<string>(r.reason),
    errors: c.json<ReceiptRecord['errors']>(r.errors),
    receivedAt: c.time(r.received_at),
    fingerprint: r.fingerprint as string,
    raw: opt<string>(r.raw),
  });
}

export function workFromRow(r: Row, c: RowCodec): WorkItem {
  return strip({
    transactionId: r.transaction_id as string,
    queue: r.queue as string,
    notBefore: c.time(r.not_before),
    owner: opt<string>(r.owner),
    leaseUntil: r.lease_until ? c.time(r.lease_until) : undefined,
  });
}

/** The values of a receipt row, in the column order `RECEIPT_INSERT_COLUMNS`. */
export const RECEIPT_INSERT_COLUMNS = 'id, transaction_id, distribution_transaction_id, type, code, reason, errors, received_at, fingerprint';
export function receiptRowValues(id: string, r: ReceiptRecord): unknown[] {
  return [
    id,
    r.transactionId,
    r.distributionTransactionId ?? null,
    r.type,
    r.code,
    r.reason ?? null,
    JSON.stringify(r.errors ?? []),
    r.receivedAt,
    r.fingerprint,
  ];
}

/** The values of a new shipment's identity columns: transaction, distribution, submission, webform, objekt type, state. */
export function shipmentIdentityValues(
  init: Pick<ShipmentRecord, 'transactionId' | 'distributionTransactionId' | 'submissionId' | 'webformId' | 'objektType' | 'state'>,
): unknown[] {
  return [init.transactionId, init.distributionTransactionId ?? null, init.submissionId, init.webformId ?? null, init.objektType ?? null, init.state];
}

/** Columns of `approvals` read for a list (everything but the message). */
export const APPROVAL_COLUMNS =
  'id, queue, state, title, created_at, deadline_at, remind_at, reminded, view, decided_by, decided_at, reason, edits, emitted_at';

export function approvalFromRow(r: Row, c: RowCodec): ApprovalRecord {
  return strip({
    id: r.id as string,
    queue: r.queue as string,
    state: r.state as ApprovalRecord['state'],
    title: r.title as string,
    createdAt: c.time(r.created_at),
    deadlineAt: c.time(r.deadline_at),
    remindAt: r.remind_at ? c.time(r.remind_at) : undefined,
    reminded: r.reminded === true || r.reminded === 1,
    view: r.view === null || r.view === undefined ? undefined : c.json(r.view),
    msg: r.msg === null || r.msg === undefined ? undefined : c.json(r.msg),
    decidedBy: opt<string>(r.decided_by),
    decidedAt: r.decided_at ? c.time(r.decided_at) : undefined,
    reason: opt<string>(r.reason),
    edits: r.edits === null || r.edits === undefined ? undefined : c.json<Record<string, string>>(r.edits),
    emittedAt: r.emitted_at ? c.time(r.emitted_at) : undefined,
  });
}

/** The approval filter as a WHERE clause (see shipmentWhere). */
export function approvalWhere(f: Omit<ApprovalFilter, 'limit' | 'offset'>, mark: (n: number) => string): { where: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (f.queue !== undefined) conds.push(`queue = ${mark(params.push(f.queue))}`);
  if (f.state !== undefined) conds.push(`state = ${mark(params.push(f.state))}`);
  return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}
