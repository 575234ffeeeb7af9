import { SqliteLedger } from './sqlite-ledger';
import type { SqliteLedgerOptions } from './sqlite-ledger';

export type MemoryLedgerOptions = SqliteLedgerOptions;

/**
 * A throw-away ledger for tests and benchmarks: the embedded ledger on an in-memory SQLite database, so tests run the
 * same code and SQL as the default store. Never chosen by a flow without asking: it forgets on restart.
 */
export class MemoryLedger extends SqliteLedger {
  constructor(options: MemoryLedgerOptions = {}) {
    super(':memory:', options);
  }
}
