/**
 * The state of the older file ledger and the journal operations that changed it: replayed only to import such a
 * directory into the embedded SQLite ledger (`file-ledger.ts`, `embedded.ts`). Every change is an `Op` (plain JSON,
 * timestamps included), applied synchronously in journal order.
 */
import { ACTIVE_STATES } from './types';
import type { AttemptRecord, InboxEntry, PurgeResult, ReceiptRecord, ShipmentChange, ShipmentRecord, WorkItem } from './types';

export type Op =
  | { o: 'create'; s: ShipmentRecord }
  | { o: 'update'; t: string; patch: ShipmentChange; at: string; keep?: readonly string[] }
  | { o: 'attempt'; t: string; a: AttemptRecord; at: string }
  | { o: 'receipt'; r: ReceiptRecord }
  | { o: 'inbox'; e: InboxEntry }
  | { o: 'ack'; id: string }
  | { o: 'enqueue'; t: string; notBefore: string; q?: string }
  | { o: 'dequeue'; t: string }
  | { o: 'purge'; cutoff: string }
  | { o: 'cursor'; s: string; k: string };

export interface CoreSnapshot {
  shipments: ShipmentRecord[];
  receipts: ReceiptRecord[];
  inbox: InboxEntry[];
  queue: WorkItem[];
  /** Added later: absent in older snapshots. */
  cursors?: Record<string, string[]>;
}

export class LedgerCore {
  readonly shipments = new Map<string, ShipmentRecord>();
  readonly receipts = new Map<string, ReceiptRecord[]>();
  readonly inbox = new Map<string, InboxEntry>();
  readonly queue = new Map<string, WorkItem>();
  readonly cursors = new Map<string, Set<string>>();
  private readonly byDistributionId = new Map<string, string>();

  /** Applies a change. Returns false when it changed nothing (so it need not be journaled). Throws for an unknown shipment. */
  apply(op: Op): boolean {
    switch (op.o) {
      case 'create': {
        if (this.shipments.has(op.s.transactionId)) return false;
        const s = clone(op.s);
        this.shipments.set(s.transactionId, s);
        this.index(s);
        return true;
      }
      case 'update': {
        const s = this.require(op.t);
        const keepState = op.keep?.includes(s.state) ?? false;
        for (const [k, v] of Object.entries(clone(op.patch))) {
          if (k === 'state' && keepState) continue;
          // null (what undefined becomes in the journal) removes the field
          if (v === undefined || v === null) delete (s as unknown as Record<string, unknown>)[k];
          else (s as unknown as Record<string, unknown>)[k] = v;
        }
        s.updatedAt = op.at;
        this.index(s);
        return true;
      }
      case 'attempt': {
        const s = this.require(op.t);
        s.attempts.push(clone(op.a));
        s.updatedAt = op.at;
        return true;
      }
      case 'receipt': {
        const list = this.receipts.get(op.r.transactionId) ?? [];
        if (list.some((r) => r.fingerprint === op.r.fingerprint)) return false;
        list.push(clone(op.r));
        this.receipts.set(op.r.transactionId, list);
        return true;
      }
      case 'inbox':
        if (this.inbox.has(op.e.id)) return false;
        this.inbox.set(op.e.id, clone(op.e));
        return true;
      case 'ack':
        return this.inbox.delete(op.id);
      case 'enqueue':
        this.queue.set(op.t, { transactionId: op.t, queue: op.q ?? 'default', notBefore: op.notBefore });
        return true;
      case 'dequeue':
        return this.queue.delete(op.t);
      case 'cursor': {
        let set = this.cursors.get(op.s);
        if (!set) this.cursors.set(op.s, (set = new Set()));
        if (set.has(op.k)) return false;
        set.add(op.k);
        return true;
      }
      case 'purge': {
        const r = this.purge(op.cutoff);
        return r.shipments + r.receipts > 0;
      }
    }
  }

  /** The purge rule shared by all backends (see Ledger.purgeOlderThan). */
  purge(cutoff: string): PurgeResult {
    let shipments = 0;
    let receipts = 0;
    for (const s of [...this.shipments.values()]) {
      if (s.updatedAt < cutoff && !ACTIVE_STATES.includes(s.state) && !this.queue.has(s.transactionId)) {
        this.shipments.delete(s.transactionId);
        if (s.distributionTransactionId) this.byDistributionId.delete(s.distributionTransactionId);
        shipments++;
      }
    }
    for (const [t, list] of [...this.receipts]) {
      if (this.shipments.has(t)) continue;
      const keep = list.filter((r) => r.receivedAt >= cutoff);
      receipts += list.length - keep.length;
      if (keep.length) this.receipts.set(t, keep);
      else this.receipts.delete(t);
    }
    return { shipments, receipts };
  }

  findByDistributionId(id: string): ShipmentRecord | undefined {
    const t = this.byDistributionId.get(id);
    return t ? this.shipments.get(t) : undefined;
  }

  require(transactionId: string): ShipmentRecord {
    const s = this.shipments.get(transactionId);
    if (!s) throw new Error(`No shipment with AnvenderTransaktionsID ${transactionId}`);
    return s;
  }

  snapshot(): CoreSnapshot {
    return {
      shipments: [...this.shipments.values()],
      receipts: [...this.receipts.values()].flat(),
      inbox: [...this.inbox.values()],
      // Leases are not persisted: after a restart nobody holds them.
      queue: [...this.queue.values()].map((w) => ({ transactionId: w.transactionId, queue: w.queue, notBefore: w.notBefore })),
      cursors: Object.fromEntries([...this.cursors].map(([s, set]) => [s, [...set]])),
    };
  }

  static fromSnapshot(snap: CoreSnapshot): LedgerCore {
    const core = new LedgerCore();
    for (const s of snap.shipments) core.apply({ o: 'create', s });
    for (const r of snap.receipts) core.apply({ o: 'receipt', r });
    for (const e of snap.inbox) core.apply({ o: 'inbox', e });
    for (const w of snap.queue) core.apply({ o: 'enqueue', t: w.transactionId, notBefore: w.notBefore, q: w.queue });
    for (const [s, keys] of Object.entries(snap.cursors ?? {})) core.cursors.set(s, new Set(keys));
    return core;
  }

  private index(s: ShipmentRecord): void {
    if (s.distributionTransactionId) this.byDistributionId.set(s.distributionTransactionId, s.transactionId);
  }
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}
