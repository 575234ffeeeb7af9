/**
 * webform in's fetch cursor (CursorStore, lib/webform/cursor-store.ts) kept in the ledger, so it lives with the
 * shipments (embedded or PostgreSQL) instead of in a separate file. `has` answers from a set loaded on open and
 * kept up to date by `add`; with several instances a key added by another one is seen after a reopen — a
 * submission emitted twice is still one shipment (createShipment is idempotent per AnvenderTransaktionsID).
 */
import type { CursorStore } from '../webform/cursor-store';
import type { Ledger } from './types';

export class LedgerCursorStore implements CursorStore {
  private constructor(
    private readonly ledger: Ledger,
    readonly scope: string,
    private readonly seen: Set<string>,
  ) {}

  static async open(ledger: Ledger, scope: string): Promise<LedgerCursorStore> {
    return new LedgerCursorStore(ledger, scope, new Set(await ledger.listCursor(scope)));
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }

  async add(key: string): Promise<void> {
    await this.ledger.addCursor(this.scope, key);
    this.seen.add(key);
  }

  get size(): number {
    return this.seen.size;
  }
}
