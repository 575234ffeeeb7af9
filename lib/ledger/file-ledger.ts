/**
 * The embedded durable ledger: no set-up, no native build, crash-safe.
 *
 * Layout of the directory:
 * - `journal.jsonl` — one JSON line per change `{"n":<seq>,"op":{...}}`, appended and fdatasync'ed before the change is
 *   acknowledged. Concurrent changes share one write + one fdatasync (group commit).
 * - `snapshot.json` — the whole state as of sequence number `seq`, written as tmp + fsync + rename + fsync(dir) when the
 *   journal grows past `compactBytes`; then the journal is truncated. On open: snapshot, then journal lines with n > seq.
 *   A torn last line (a crash mid-append) is cut off; damage before the end is an error, never silently dropped data.
 * - `LOCK` — the owning process (pid@host); a second process opening the same ledger is refused.
 *
 * The whole state is held in memory (retention keeps it bounded).
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LedgerCore } from './core';
import type { CoreSnapshot, Op } from './core';
import { MemoryLedger } from './memory-ledger';
import type { MemoryLedgerOptions } from './memory-ledger';

export interface FileLedgerOptions extends MemoryLedgerOptions {
  /** Compact (snapshot + truncate) once the journal exceeds this many bytes. Default 16 MiB. */
  compactBytes?: number;
  /** Skip fsync (benchmarks only; not crash-safe). */
  unsafeNoSync?: boolean;
}

interface SnapshotFile {
  version: 1;
  seq: number;
  writtenAt: string;
  state: CoreSnapshot;
}

const JOURNAL = 'journal.jsonl';
const SNAPSHOT = 'snapshot.json';
const LOCK = 'LOCK';
const openInProcess = new Set<string>();

export class FileLedger extends MemoryLedger {
  private seq = 0;
  private journalBytes = 0;
  private pending: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private flushing: Promise<void> | undefined;
  private failed: Error | undefined;
  private closed = false;
  private compactRequested = false;
  /** Lines dropped from a torn tail on open (for logging by the caller). */
  tornLinesDropped = 0;

  private constructor(
    readonly dir: string,
    private readonly journal: fsp.FileHandle,
    private readonly options: FileLedgerOptions,
  ) {
    super(options);
  }

  /** Opens (creating if needed) the ledger in `dir`. Refused when another process (or this one) has it open. */
  static async open(dir: string, options: FileLedgerOptions = {}): Promise<FileLedger> {
    const abs = path.resolve(dir);
    await fsp.mkdir(abs, { recursive: true });
    if (openInProcess.has(abs)) throw new Error(`The ledger at ${abs} is already open in this process`);
    await acquireLock(abs);
    openInProcess.add(abs);
    try {
      const { core, seq, goodBytes, torn } = await load(abs);
      const fh = await fsp.open(path.join(abs, JOURNAL), fsc.O_RDWR | fsc.O_CREAT | fsc.O_APPEND, 0o600);
      if (torn) {
        await fh.truncate(goodBytes);
        await fh.sync();
      }
      const ledger = new FileLedger(abs, fh, options);
      ledger.core = core;
      ledger.seq = seq;
      ledger.journalBytes = goodBytes;
      ledger.tornLinesDropped = torn;
      return ledger;
    } catch (err) {
      openInProcess.delete(abs);
      await fsp.rm(path.join(abs, LOCK), { force: true });
      throw err;
    }
  }

  protected override checkUsable(): void {
    if (this.closed) throw new Error(`The ledger at ${this.dir} is closed`);
    if (this.failed) throw new Error(`The ledger at ${this.dir} can no longer be written: ${this.failed.message}`);
  }

  protected override persist(op?: Op): Promise<void> {
    if (op) this.pending.push(JSON.stringify({ n: ++this.seq, op }) + '\n');
    else if (!this.pending.length && !this.flushing) return Promise.resolve();
    return this.waitForFlush();
  }

  private waitForFlush(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** Writes batches until nothing is pending: one write + one fdatasync per batch. */
  private async flushLoop(): Promise<void> {
    await Promise.resolve(); // let the changes of this tick join the batch
    try {
      while (this.waiters.length) {
        const lines = this.pending;
        const waiters = this.waiters;
        this.pending = [];
        this.waiters = [];
        try {
          if (lines.length) {
            const buf = Buffer.from(lines.join(''), 'utf8');
            await writeAll(this.journal, buf);
            if (!this.options.unsafeNoSync) await this.journal.datasync();
            this.journalBytes += buf.length;
          }
          if (this.compactRequested || this.journalBytes > (this.options.compactBytes ?? 16 * 1024 * 1024)) {
            this.compactRequested = false;
            await this.compactNow();
          }
        } catch (err) {
          // The in-memory state is now ahead of the disk: stop accepting changes (like a database after a failed fsync).
          this.failed = err as Error;
          for (const w of [...waiters, ...this.waiters]) w.reject(new Error(`Ledger write failed: ${(err as Error).message}`));
          this.waiters = [];
          return;
        }
        for (const w of waiters) w.resolve();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Writes a snapshot now (in turn with the journal writes) and truncates the journal. */
  compact(): Promise<void> {
    this.checkUsable();
    this.compactRequested = true;
    return this.waitForFlush();
  }

  /** Writes a snapshot of the state (atomically) and truncates the journal. Only from the flush loop. */
  private async compactNow(): Promise<void> {
    const snap: SnapshotFile = { version: 1, seq: this.seq, writtenAt: new Date().toISOString(), state: this.core.snapshot() };
    const target = path.join(this.dir, SNAPSHOT);
    const tmp = `${target}.tmp`;
    const fh = await fsp.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(snap));
      if (!this.options.unsafeNoSync) await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, target);
    if (!this.options.unsafeNoSync) await syncDir(this.dir);
    // Lines already written are covered by the snapshot (n <= seq); pending ones are appended after.
    await this.journal.truncate(0);
    if (!this.options.unsafeNoSync) await this.journal.sync();
    this.journalBytes = 0;
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.failed) await this.persist();
    } finally {
      this.closed = true;
      await this.journal.close().catch(() => undefined);
      openInProcess.delete(this.dir);
      await fsp.rm(path.join(this.dir, LOCK), { force: true });
    }
  }
}

async function writeAll(fh: fsp.FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

async function acquireLock(dir: string): Promise<void> {
  const file = path.join(dir, LOCK);
  const me = `${process.pid}@${os.hostname()}`;
  for (let i = 0; i < 2; i++) {
    try {
      await fsp.writeFile(file, me, { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = (await fsp.readFile(file, 'utf8').catch(() => '')).trim();
    const [pid, host] = holder.split('@');
    if (host === os.hostname() && pid && Number(pid) !== process.pid && isAlive(Number(pid))) {
      throw new Error(`The ledger at ${dir} is in use by process ${pid}; two Node-RED instances cannot share an embedded ledger (use PostgreSQL)`);
    }
    if (host && host !== os.hostname()) {
      throw new Error(`The ledger at ${dir} is locked by ${holder} (another host); remove ${file} if that instance is gone`);
    }
    await fsp.rm(file, { force: true }); // stale: its process is gone
  }
  throw new Error(`Could not lock the ledger at ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
