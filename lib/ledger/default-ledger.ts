import { MemoryLedger } from './memory-ledger';
import type { Ledger } from './types';

let shared: MemoryLedger | undefined;

/**
 * The ledger used by fordeling out and receipt in when no `ledger` config node is chosen:
 * one in-memory ledger per process, so a receipt-in node can correlate what a fordeling-out node recorded.
 */
export function defaultLedger(): Ledger {
  shared ??= new MemoryLedger();
  return shared;
}
