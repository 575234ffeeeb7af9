import { randomUUID } from 'node:crypto';
import { LedgerCore, clone } from './core';
import type { Op, ShipmentPatch } from './core';
import { exportCsv, exportJson } from './export';
import type { AttemptRecord, ExportFilter, InboxEntry, Ledger, PurgeResult, ReceiptRecord, ShipmentFilter, ShipmentRecord, StateGuard, WorkItem } from './types';

export interface MemoryLedgerOptions {
  /** The clock (tests inject a fake one). */
  now?: () => Date;
}

/**
 * A ledger held in memory: for tests and for flows that do not configure a durable one. Lost on restart.
 * Every change goes through `persist(op)` after it was applied, which the file ledger overrides to journal it;
 * reads wait for `persist()` with no op so they never report something not yet durable.
 */
export class MemoryLedger implements Ledger {
  protected core = new LedgerCore();
  protected readonly now: () => Date;

  constructor(options: MemoryLedgerOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  /** Makes an applied change durable (nothing to do in memory); without an op, waits until earlier changes are. */
  protected async persist(_op?: Op): Promise<void> {}

  /** Applies the op and, when it changed something, persists it. */
  private async change(op: Op): Promise<boolean> {
    this.checkUsable();
    const changed = this.core.apply(op);
    await this.persist(changed ? op : undefined);
    return changed;
  }

  /** Throws when the ledger can no longer be used (closed, or the file ledger lost its journal). */
  protected checkUsable(): void {}

  private iso(): string {
    return this.now().toISOString();
  }

  async createShipment(init: Parameters<Ledger['createShipment']>[0]): Promise<{ created: boolean; shipment: ShipmentRecord }> {
    const now = this.iso();
    const shipment: ShipmentRecord = { attempts: [], ...init, createdAt: now, updatedAt: now };
    const created = await this.change({ o: 'create', s: shipment });
    return { created, shipment: clone(this.core.require(init.transactionId)) };
  }

  async updateShipment(transactionId: string, patch: Partial<Omit<ShipmentRecord, 'transactionId' | 'createdAt'>>, guard?: StateGuard): Promise<ShipmentRecord> {
    const { transactionId: _t, createdAt: _c, ...rest } = patch as Partial<ShipmentRecord>;
    // undefined means "remove the field"; JSON (the file journal) keeps that only as null
    const clean = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, v === undefined ? null : v])) as ShipmentPatch;
    await this.change({ o: 'update', t: transactionId, patch: clean, at: this.iso(), ...(guard?.keepStateIf?.length ? { keep: guard.keepStateIf } : {}) });
    return clone(this.core.require(transactionId));
  }

  async addAttempt(transactionId: string, attempt: AttemptRecord): Promise<ShipmentRecord> {
    await this.change({ o: 'attempt', t: transactionId, a: attempt, at: this.iso() });
    return clone(this.core.require(transactionId));
  }

  async getShipment(transactionId: string): Promise<ShipmentRecord | undefined> {
    await this.read();
    const s = this.core.shipments.get(transactionId);
    return s ? clone(s) : undefined;
  }

  async findByDistributionId(distributionTransactionId: string): Promise<ShipmentRecord | undefined> {
    await this.read();
    const s = this.core.findByDistributionId(distributionTransactionId);
    return s ? clone(s) : undefined;
  }

  async listShipments(filter: ShipmentFilter = {}): Promise<ShipmentRecord[]> {
    await this.read();
    return this.core.list(filter).map(clone);
  }

  async addReceipt(receipt: ReceiptRecord): Promise<{ duplicate: boolean; receipt: ReceiptRecord }> {
    const stored = { ...receipt, id: receipt.id ?? randomUUID() };
    const created = await this.change({ o: 'receipt', r: stored });
    const same = (this.core.receipts.get(receipt.transactionId) ?? []).find((r) => r.fingerprint === receipt.fingerprint);
    return { duplicate: !created, receipt: clone(same ?? stored) };
  }

  async listReceipts(transactionId: string): Promise<ReceiptRecord[]> {
    await this.read();
    return (this.core.receipts.get(transactionId) ?? []).map(clone);
  }

  async putInbox(entry: Omit<InboxEntry, 'receivedAt'> & { receivedAt?: string }): Promise<{ created: boolean }> {
    const created = await this.change({ o: 'inbox', e: { ...entry, receivedAt: entry.receivedAt ?? this.iso() } });
    return { created };
  }

  async ackInbox(id: string): Promise<void> {
    await this.change({ o: 'ack', id });
  }

  async pendingInbox(): Promise<InboxEntry[]> {
    await this.read();
    return [...this.core.inbox.values()].sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0)).map(clone);
  }

  async enqueue(transactionId: string, notBefore?: Date, queue = 'default'): Promise<void> {
    const leased = this.core.queue.get(transactionId)?.leaseUntil;
    if (leased && leased >= this.iso()) return this.read(); // its holder decides what happens next
    await this.change({ o: 'enqueue', t: transactionId, notBefore: (notBefore ?? this.now()).toISOString(), q: queue });
  }

  // Leases live in memory only (the file ledger is single-process by its lock; after a restart nobody holds a lease).
  async claimDue(owner: string, limit: number, leaseMs: number, now?: Date, queue = 'default'): Promise<WorkItem[]> {
    await this.read();
    const at = now ?? this.now();
    const leaseUntil = new Date(at.getTime() + leaseMs).toISOString();
    const items = this.core.due(at.toISOString(), limit, queue);
    for (const w of items) Object.assign(w, { owner, leaseUntil });
    return items.map(clone);
  }

  async extendLease(transactionId: string, owner: string, leaseMs: number, now?: Date): Promise<boolean> {
    await this.read();
    const w = this.core.queue.get(transactionId);
    if (!w || w.owner !== owner) return false;
    w.leaseUntil = new Date((now ?? this.now()).getTime() + leaseMs).toISOString();
    return true;
  }

  async release(transactionId: string, owner: string, retryAt?: Date): Promise<boolean> {
    this.checkUsable();
    const w = this.core.queue.get(transactionId);
    if (!w || w.owner !== owner) {
      await this.read();
      return false;
    }
    if (retryAt) await this.change({ o: 'enqueue', t: transactionId, notBefore: retryAt.toISOString(), q: w.queue });
    else await this.change({ o: 'dequeue', t: transactionId });
    return true;
  }

  async listQueue(): Promise<WorkItem[]> {
    await this.read();
    return this.core.sortedQueue().map(clone);
  }

  async addCursor(scope: string, key: string): Promise<{ created: boolean }> {
    return { created: await this.change({ o: 'cursor', s: scope, k: key }) };
  }

  async listCursor(scope: string): Promise<string[]> {
    await this.read();
    return [...(this.core.cursors.get(scope) ?? [])];
  }

  async purgeOlderThan(cutoff: Date): Promise<PurgeResult> {
    this.checkUsable();
    const result = this.core.purge(cutoff.toISOString());
    await this.persist(result.shipments + result.receipts > 0 ? { o: 'purge', cutoff: cutoff.toISOString() } : undefined);
    return result;
  }

  exportJson(filter?: ExportFilter): Promise<string> {
    return exportJson(this, filter);
  }

  exportCsv(filter?: ExportFilter): Promise<string> {
    return exportCsv(this, filter);
  }

  async close(): Promise<void> {}

  private async read(): Promise<void> {
    this.checkUsable();
    await this.persist();
  }
}
