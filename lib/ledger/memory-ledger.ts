import { randomUUID } from 'node:crypto';
import type { AttemptRecord, Ledger, ReceiptRecord, ShipmentFilter, ShipmentRecord } from './types';

/** A ledger held in memory: for tests and for flows that do not configure a durable one. Lost on restart. */
export class MemoryLedger implements Ledger {
  private readonly shipments = new Map<string, ShipmentRecord>();
  private readonly receipts = new Map<string, ReceiptRecord[]>();

  async createShipment(init: Parameters<Ledger['createShipment']>[0]): Promise<{ created: boolean; shipment: ShipmentRecord }> {
    const existing = this.shipments.get(init.transactionId);
    if (existing) return { created: false, shipment: clone(existing) };
    const now = new Date().toISOString();
    const shipment: ShipmentRecord = { attempts: [], ...init, createdAt: now, updatedAt: now };
    this.shipments.set(shipment.transactionId, shipment);
    return { created: true, shipment: clone(shipment) };
  }

  async updateShipment(transactionId: string, patch: Partial<Omit<ShipmentRecord, 'transactionId' | 'createdAt'>>): Promise<ShipmentRecord> {
    const current = this.require(transactionId);
    Object.assign(current, patch, { updatedAt: new Date().toISOString() });
    return clone(current);
  }

  async addAttempt(transactionId: string, attempt: AttemptRecord): Promise<ShipmentRecord> {
    const current = this.require(transactionId);
    current.attempts.push({ ...attempt });
    current.updatedAt = new Date().toISOString();
    return clone(current);
  }

  async getShipment(transactionId: string): Promise<ShipmentRecord | undefined> {
    const s = this.shipments.get(transactionId);
    return s ? clone(s) : undefined;
  }

  async findByDistributionId(distributionTransactionId: string): Promise<ShipmentRecord | undefined> {
    for (const s of this.shipments.values()) if (s.distributionTransactionId === distributionTransactionId) return clone(s);
    return undefined;
  }

  async listShipments(filter: ShipmentFilter = {}): Promise<ShipmentRecord[]> {
    const out = [...this.shipments.values()].filter(
      (s) =>
        (!filter.state || s.state === filter.state) &&
        (!filter.webformId || s.webformId === filter.webformId) &&
        (!filter.since || s.createdAt >= filter.since) &&
        (!filter.until || s.createdAt <= filter.until),
    );
    out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    return out.slice(0, filter.limit ?? out.length).map(clone);
  }

  async addReceipt(receipt: ReceiptRecord): Promise<{ duplicate: boolean; receipt: ReceiptRecord }> {
    const list = this.receipts.get(receipt.transactionId) ?? [];
    const same = list.find((r) => r.fingerprint === receipt.fingerprint);
    if (same) return { duplicate: true, receipt: { ...same } };
    const stored = { ...receipt, id: receipt.id ?? randomUUID() };
    list.push(stored);
    this.receipts.set(receipt.transactionId, list);
    return { duplicate: false, receipt: { ...stored } };
  }

  async listReceipts(transactionId: string): Promise<ReceiptRecord[]> {
    return (this.receipts.get(transactionId) ?? []).map((r) => ({ ...r }));
  }

  async close(): Promise<void> {}

  private require(transactionId: string): ShipmentRecord {
    const s = this.shipments.get(transactionId);
    if (!s) throw new Error(`No shipment with AnvenderTransaktionsID ${transactionId}`);
    return s;
  }
}

function clone<T>(v: T): T {
  return structuredClone(v);
}
