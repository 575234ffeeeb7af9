/**
 * WAL checkpoints for the embedded ledger, in a worker thread with a connection of its own, so that copying the WAL
 * into the database file (and its fsync) never holds the event loop that acknowledges receipts and submissions.
 *
 * Why a thread (measured, docs/performance.md): on the main connection a checkpoint every 250 ms held the event loop
 * 10 ms (p50) to 26 ms (max) on a 5 k ledger taking one receipt at a time, and every receipt that arrived meanwhile
 * waited for it: a third of the slowest 1 % of receipts overlapped one. SQLite lets a checkpoint run beside the
 * writer in WAL mode; `PASSIVE` never waits for, or blocks, a writer or reader.
 *
 * Keeping the WAL bounded: the writer restarts the WAL from its beginning (and `journal_size_limit` shrinks the file)
 * only when a checkpoint has copied every frame, which never happens while commits keep arriving faster than one
 * round. So when the WAL passes `holdFrames`, the worker asks the writer to hold, through a word of shared memory the
 * writer reads before each commit; the writer stops starting commits — changes wait in its queue, the event loop runs
 * on — and says so in the same word; the worker copies the little that is left (it caught up in quick rounds first)
 * and says "release". A hold is bounded (HOLD_MAX_MS) whatever the worker does.
 */
import { Worker } from 'node:worker_threads';

/** The longest the writer holds its commits for a catch-up checkpoint. */
const HOLD_MAX_MS = 1000;

/** How long the worker's request for a hold stands: a writer with nothing to commit meanwhile needs no hold. */
const ASK_MS = 200;
/** The shared word between writer and worker: nothing asked, a hold asked (by the worker), held (by the writer). */
const IDLE = 0;
const ASKED = 1;
const HELD = 2;

// Runs in the worker: plain CommonJS, the driver loaded by its resolved path (an eval'd worker resolves from the cwd).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = FULL'); // the checkpoint fsyncs the WAL before and the database file after copying
const state = new Int32Array(workerData.state);
let timer;
const checkpoint = () => {
  try { return db.pragma('wal_checkpoint(PASSIVE)')[0]; } catch { return undefined; } // a failing disk shows in the writes
};
const round = () => {
  const r = checkpoint();
  if (r && r.log >= workerData.holdFrames) {
    // Catch up in three quick rounds without holding anyone: each copies what came during the one before, so what
    // is left for the hold shrinks (measured at ~5,500 shipments/s, 64 in flight: with one round the holds took 66–82 ms
    // and the longest write 82–98 ms; with three, 13–61 ms and 58–75 ms).
    for (let i = 0; i < 3; i++) checkpoint();
    // The writer sees the request in shared memory before its next commit (no message to wait for), so what is
    // left to copy in the hold is what the writer committed during the last round above.
    Atomics.store(state, 0, ${ASKED});
    Atomics.wait(state, 0, ${ASKED}, ${ASK_MS});
    if (Atomics.compareExchange(state, 0, ${ASKED}, ${IDLE}) !== ${ASKED}) {
      checkpoint(); // held: every frame copied, so the writer's next commit starts the WAL over
      Atomics.store(state, 0, ${IDLE});
      parentPort.postMessage('release');
    }
  }
  timer = setTimeout(round, workerData.everyMs);
};
timer = setTimeout(round, workerData.everyMs);
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

export interface CheckpointerOptions {
  /** How often a checkpoint round runs. Default 250 ms. */
  everyMs?: number;
  /** WAL frames (pages) past which the writer is asked to hold for a catch-up. Default 16,384 (64 MiB of 4 KiB pages). */
  holdFrames?: number;
}

export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private hold: { released: Promise<void>; release: () => void; timer: NodeJS.Timeout; since: number } | undefined;
  private stopped = false;
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  /** Catch-up holds so far (tests, metrics). */
  holds = 0;
  /** The longest hold so far, in ms (tests, benchmarks). */
  longestHoldMs = 0;

  /** Starts checkpointing `file` (a WAL database that exists). */
  constructor(file: string, options: CheckpointerOptions = {}) {
    const workerData = {
      file,
      everyMs: options.everyMs ?? 250,
      holdFrames: options.holdFrames ?? 16_384,
      state: this.state.buffer,
      driver: require.resolve('better-sqlite3'),
    };
    this.worker = new Worker(WORKER, { eval: true, workerData });
    this.worker.unref(); // never keeps the process alive; the OS closes its file with the process
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', () => this.release()); // the writer's own errors tell the story; nothing here may crash Node-RED
    this.worker.on('message', (m: string) => {
      if (m === 'release') this.release();
    });
  }

  /**
   * Called by the writer before each commit (synchronously, so no commit is open): when the worker has asked for a
   * hold, takes it — commits then wait for `holding()` — and returns true.
   */
  takeHold(): boolean {
    if (this.hold || this.stopped || Atomics.compareExchange(this.state, 0, ASKED, HELD) !== ASKED) return false;
    Atomics.notify(this.state, 0);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.hold = { released, release, timer: setTimeout(() => this.release(), HOLD_MAX_MS), since: performance.now() };
    this.holds++;
    return true;
  }

  /** While the worker catches up: a promise for the moment commits may go on; otherwise undefined. */
  holding(): Promise<void> | undefined {
    return this.hold?.released;
  }

  private release(): void {
    const h = this.hold;
    if (!h) return;
    this.hold = undefined;
    clearTimeout(h.timer);
    this.longestHoldMs = Math.max(this.longestHoldMs, performance.now() - h.since);
    h.release();
  }

  /** Stops after the round in progress and closes the worker's connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.release();
    this.worker.ref(); // the close being awaited keeps the process alive until the worker is gone
    this.worker.postMessage('stop');
    await Promise.race([this.exited, new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())]);
    await this.worker.terminate();
  }
}
