/**
 * The ledger used when no `ledger` config node is chosen: the embedded ledger (SQLite) under the Node-RED user
 * directory, `<userDir>/os2-ledger/ledger.db`, created on first use and shared by every node of the process, so a
 * restart loses nothing and `receipt in` correlates what `fordeling out` recorded. `OS2_LEDGER_DIR` moves it.
 * It is the same store an `os2-ledger` node with default settings opens (they share it), with the same retention.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { openLedger } from './open';
import type { OpenedLedger } from './open';
import type { Ledger } from './types';

export const DEFAULT_RETENTION_DAYS = 365;

let shared: { dir: string; opened: OpenedLedger } | undefined;
let override: string | undefined;

/** Puts the default ledger of this process in `dir` (the test suite: one throw-away directory per run). */
export function useDefaultLedgerDir(dir: string | undefined): void {
  override = dir;
}

/** Where the default ledger lives for a Node-RED user directory. */
export function defaultLedgerDir(userDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (override) return override;
  if (env.OS2_LEDGER_DIR) return path.resolve(env.OS2_LEDGER_DIR);
  return path.join(userDir || path.join(os.homedir(), '.node-red'), 'os2-ledger');
}

/** The process's default ledger (usable at once; calls wait until it is open, or fail with why it could not open). */
export function defaultLedger(userDir?: string): Ledger {
  const dir = defaultLedgerDir(userDir);
  if (!shared || shared.dir !== dir) {
    const previous = shared;
    shared = { dir, opened: openLedger({ backend: 'embedded', path: dir }, { retentionDays: DEFAULT_RETENTION_DAYS }) };
    void previous?.opened.close().catch(() => undefined);
  }
  return shared.opened.ledger;
}

/** Closes the default ledger (tests, and a process shutting down). */
export async function closeDefaultLedger(): Promise<void> {
  const s = shared;
  shared = undefined;
  await s?.opened.close();
}
