/**
 * The embedded ledger's durability point: a change is acknowledged once the WAL holding its commit is on disk, and the
 * fsync that puts it there runs off the event loop (libuv's thread pool), shared by every commit made while the one
 * before was running.
 *
 * Why not SQLite's own `synchronous=FULL`: that fsyncs inside COMMIT, on the event loop. Measured in the end-to-end
 * bench (docs/performance.md, 2026-12-06): 4,700 messages made 2,250 commits that held the loop 4.0 s in all; with the
 * WAL's fsync taken out of COMMIT, 2.5 s. The connection runs `synchronous=NORMAL` instead — in WAL mode SQLite then
 * still syncs the WAL header when it starts the WAL over and around every checkpoint (so the file cannot be corrupted
 * by a power loss, https://sqlite.org/pragma.html#pragma_synchronous), but not at each commit — and nothing is
 * acknowledged before this module's fsync of the WAL returned. A process killed in between loses nothing (the
 * operating system has the pages); a power loss in between loses only changes never acknowledged.
 *
 * A lone change (a batch of one) while the event loop is quiet (`loopIsQuiet`) is fsynced in place instead (`syncNow`),
 * as `synchronous=FULL` would: nobody is there to share the fsync with or to be held up by it, and the thread pool's
 * round trip only adds latency (receipts one at a time at 1 M shipments: p99 6.3 ms off the loop, 4.5 ms in place).
 *
 * The writer commits only while no fsync runs (`syncing`): a change asked for meanwhile could not be acknowledged before
 * the next fsync anyway, and gathering them makes one commit of many (fewer WAL frames written per change).
 *
 * Reads wait too (`durable()`): what a read returns may rest on a commit not yet on disk, and a decision taken on it
 * (a repeat skipped, a lease seen) must not outlive a power loss that the data itself does not survive.
 *
 * An fsync that fails leaves the file's state unknown (Linux may drop the unwritten pages), so the ledger stops: every
 * waiting and later change and read is refused with the error, until Node-RED is restarted (PostgreSQL does the same).
 */
import * as fs from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** How often the event loop's business is looked at, and above which share of it (besides our own fsyncs) it is busy. */
const LOOK_EVERY_MS = 50;
const BUSY_SHARE = 0.5;

export type Fsync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
export type FsyncSync = (fd: number) => void;

interface Waiter {
  commit: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class WalSync {
  private fd: number | undefined;
  private commits = 0;
  private synced = 0;
  private running = false;
  private waiters: Waiter[] = [];
  private failure: Error | undefined;
  private looked: { at: number; elu: EventLoopUtilization; inPlaceMs: number } | undefined;
  private inPlaceMs = 0;
  private quiet = true;

  /**
   * `walFile`: the database's `-wal` file (opened on the first sync, once a commit made sure it exists). `onSynced`:
   * called after each fsync, once its waiters are answered.
   */
  constructor(
    private readonly walFile: string,
    private readonly fsync: Fsync = fs.fsync,
    private readonly onSynced: () => void = () => undefined,
    private readonly fsyncSync: FsyncSync = fs.fsyncSync,
  ) {}

  /**
   * Puts what was committed on disk now, on this thread, when no fsync runs: for a lone change (nothing else waiting to
   * share the fsync) handing the fsync to the thread pool and back only adds latency (receipts one at a time: p50
   * 0.81 → 1.02 ms at 1 M shipments, docs/performance.md). Returns false when an fsync is running (use durable()).
   */
  syncNow(): boolean {
    if (this.running || this.failure) return false;
    const started = performance.now();
    try {
      this.fsyncSync((this.fd ??= fs.openSync(this.walFile, 'r')));
    } catch (err) {
      this.fail(err as Error);
      return true;
    } finally {
      this.inPlaceMs += performance.now() - started;
    }
    this.synced = this.commits;
    const ready = this.waiters;
    this.waiters = [];
    for (const w of ready) w.resolve();
    return true;
  }

  /**
   * Whether the event loop has little else to do (it was busy less than half of the last ~50 ms, not counting the
   * fsyncs done in place): then a lone change is fsynced in place, else off the loop. Measured: in place, receipts one
   * at a time at 1 M shipments kept p99 4.1 ms (6.3 ms off the loop); under the end-to-end load, blocking the loop for
   * every lone commit would cost everyone else the fsync's time.
   */
  loopIsQuiet(): boolean {
    const now = performance.now();
    if (!this.looked) this.looked = { at: now, elu: performance.eventLoopUtilization(), inPlaceMs: this.inPlaceMs };
    else if (now - this.looked.at >= LOOK_EVERY_MS) {
      const elu = performance.eventLoopUtilization();
      const d = performance.eventLoopUtilization(elu, this.looked.elu);
      const others = d.active - (this.inPlaceMs - this.looked.inPlaceMs);
      this.quiet = others < BUSY_SHARE * (d.active + d.idle);
      this.looked = { at: now, elu, inPlaceMs: this.inPlaceMs };
    }
    return this.quiet;
  }

  /** Whether an fsync is running: the writer then gathers changes for its next commit instead of committing. */
  get syncing(): boolean {
    return this.running;
  }

  /** The error that stopped the ledger, if an fsync failed. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Called after each commit. */
  committed(): void {
    this.commits++;
  }

  /** Resolves once every commit made so far is on disk; rejects for good once an fsync failed. */
  durable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.synced >= this.commits) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ commit: this.commits, resolve, reject });
      this.run();
    });
  }

  private run(): void {
    if (this.running || this.failure) return;
    const upTo = this.commits;
    let fd: number;
    try {
      fd = this.fd ??= fs.openSync(this.walFile, 'r');
    } catch (err) {
      return this.fail(err as Error);
    }
    this.running = true;
    this.fsync(fd, (err) => {
      this.running = false;
      if (err) return this.fail(err);
      this.synced = upTo;
      const ready = this.waiters.filter((w) => w.commit <= upTo);
      this.waiters = this.waiters.filter((w) => w.commit > upTo);
      for (const w of ready) w.resolve();
      if (this.waiters.length) this.run(); // commits made while this fsync ran: one more covers them all
      this.onSynced();
    });
  }

  private fail(err: Error): void {
    this.failure = err;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.reject(err);
  }

  /** Waits for what was committed to be on disk, then lets go of the file. */
  async close(): Promise<void> {
    await this.durable().catch(() => undefined);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
