/**
 * Opening the embedded ledger of a directory: one SqliteLedger per directory in this process, shared by everyone who
 * opens it (the default ledger, `ledger` config nodes naming the same directory, a redeploy that opens the new
 * node before the old one closed) and closed when the last user closes it.
 * A directory still holding the older file ledger (journal + snapshot) is imported on first open, in one transaction,
 * and its files are then moved aside into `file-ledger-backup-<time>/` (kept, never deleted).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FILE_LEDGER_FILES, hasFileLedger, readFileLedger } from './file-ledger';
import { SqliteLedger } from './sqlite-ledger';

const IMPORTED = 'imported-file-ledger';

interface Shared {
  ledger: Promise<SqliteLedger>;
  users: number;
}
const open = new Map<string, Shared>();

/** Opens (or shares) the embedded ledger in `dir`; `release()` gives it back (closing it after the last user). */
export async function openEmbedded(dir: string): Promise<{ ledger: SqliteLedger; notice?: string; release: () => Promise<void> }> {
  const key = path.resolve(dir);
  let shared = open.get(key);
  let notice: string | undefined;
  if (!shared) {
    const opening = (async () => {
      const ledger = new SqliteLedger(key);
      try {
        notice = await importFileLedger(key, ledger);
      } catch (err) {
        await ledger.close();
        throw err;
      }
      return ledger;
    })();
    shared = { ledger: opening, users: 0 };
    open.set(key, shared);
    opening.catch(() => open.delete(key));
  }
  shared.users++;
  const mine = shared;
  let released = false;
  const ledger = await mine.ledger.catch((err: Error) => {
    mine.users--;
    throw err;
  });
  return {
    ledger,
    notice,
    release: async () => {
      if (released) return;
      released = true;
      if (--mine.users > 0) return;
      if (open.get(key) === mine) open.delete(key);
      await ledger.close();
    },
  };
}

async function importFileLedger(dir: string, ledger: SqliteLedger): Promise<string | undefined> {
  if (!(await hasFileLedger(dir))) return undefined;
  let count: number | undefined;
  if ((await ledger.info(IMPORTED)) === undefined) {
    const content = await readFileLedger(dir);
    count = await ledger.importAll(content, { name: IMPORTED, value: new Date().toISOString() });
  }
  const backup = path.join(dir, `file-ledger-backup-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await fsp.mkdir(backup, { recursive: true, mode: 0o700 });
  for (const f of FILE_LEDGER_FILES) {
    await fsp.rename(path.join(dir, f), path.join(backup, f)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
  return count === undefined
    ? `moved the already imported file ledger aside to ${backup}`
    : `imported the file ledger (${count} shipments) into ${path.join(dir, 'ledger.db')}; its files are kept in ${backup}`;
}
