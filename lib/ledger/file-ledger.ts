/**
 * Reading the journal-and-snapshot directory of the file ledger this package used before its embedded ledger moved to
 * SQLite (`sqlite-ledger.ts`): only to import it, once, on the first start of the new version (`embedded.ts`).
 *
 * Layout: `snapshot.json` (the whole state as of sequence number `seq`) and `journal.jsonl` (one JSON line per change
 * `{"n":<seq>,"op":{...}}`, replayed when n > seq). A torn last line (a crash mid-append) is left out; damage before
 * the end is an error, never silently dropped data.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { LedgerCore } from './core';
import type { CoreSnapshot, Op } from './core';

interface SnapshotFile {
  version: 1;
  seq: number;
  writtenAt: string;
  state: CoreSnapshot;
}

export const FILE_LEDGER_FILES = ['journal.jsonl', 'snapshot.json', 'LOCK'] as const;
const JOURNAL = 'journal.jsonl';
const SNAPSHOT = 'snapshot.json';

/** Whether `dir` holds a file ledger (a journal or a snapshot). */
export async function hasFileLedger(dir: string): Promise<boolean> {
  for (const f of [JOURNAL, SNAPSHOT])
    if (
      await fsp.stat(path.join(dir, f)).then(
        () => true,
        () => false,
      )
    )
      return true;
  return false;
}

/** The file ledger's whole content, as it would have been after opening it. */
export async function readFileLedger(dir: string): Promise<Required<CoreSnapshot> & { tornLines: number }> {
  const { core, torn } = await load(dir);
  const snap = core.snapshot();
  return { ...snap, cursors: snap.cursors ?? {}, tornLines: torn };
}

async function load(dir: string): Promise<{ core: LedgerCore; seq: number; goodBytes: number; torn: number }> {
  let core = new LedgerCore();
  let seq = 0;
  const snapText = await fsp.readFile(path.join(dir, SNAPSHOT), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (snapText !== undefined) {
    let snap: SnapshotFile;
    try {
      snap = JSON.parse(snapText) as SnapshotFile;
    } catch {
      throw new Error(`The ledger snapshot ${path.join(dir, SNAPSHOT)} is damaged (not JSON)`);
    }
    if (snap.version !== 1) throw new Error(`Unsupported ledger snapshot version ${String(snap.version)}`);
    core = LedgerCore.fromSnapshot(snap.state);
    seq = snap.seq;
  }
  const buf = await fsp.readFile(path.join(dir, JOURNAL)).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return Buffer.alloc(0);
    throw e;
  });
  let offset = 0;
  let goodBytes = 0;
  let torn = 0;
  let lineNo = 0;
  while (offset < buf.length) {
    const nl = buf.indexOf(0x0a, offset);
    const end = nl === -1 ? buf.length : nl;
    lineNo++;
    let rec: { n: number; op: Op } | undefined;
    if (nl !== -1) {
      try {
        rec = JSON.parse(buf.toString('utf8', offset, end)) as { n: number; op: Op };
      } catch {
        rec = undefined;
      }
    }
    if (!rec || typeof rec.n !== 'number' || !rec.op) {
      // Acceptable only as a torn tail: nothing valid may follow.
      if (hasValidLineAfter(buf, end + 1)) throw new Error(`The ledger journal ${path.join(dir, JOURNAL)} is damaged at line ${lineNo}`);
      torn = countLines(buf, offset);
      break;
    }
    if (rec.n > seq) {
      try {
        core.apply(rec.op);
      } catch (err) {
        throw new Error(`The ledger journal cannot be replayed at line ${lineNo}: ${(err as Error).message}`);
      }
      seq = rec.n;
    }
    offset = end + 1;
    goodBytes = offset;
  }
  return { core, seq, goodBytes, torn };
}

function hasValidLineAfter(buf: Buffer, from: number): boolean {
  let offset = from;
  while (offset < buf.length) {
    const nl = buf.indexOf(0x0a, offset);
    if (nl === -1) return false;
    try {
      const rec = JSON.parse(buf.toString('utf8', offset, nl)) as { n?: unknown };
      if (typeof rec.n === 'number') return true;
    } catch {
      /* keep looking */
    }
    offset = nl + 1;
  }
  return false;
}

function countLines(buf: Buffer, from: number): number {
  let n = 0;
  for (let offset = from; offset < buf.length; n++) {
    const nl = buf.indexOf(0x0a, offset);
    offset = nl === -1 ? buf.length : nl + 1;
  }
  return n;
}
