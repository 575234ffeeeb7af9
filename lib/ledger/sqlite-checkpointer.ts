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
 * round. So when the WAL passes `holdFrames`, the worker asks the writer to hold ("hold"); the writer stops starting
 * commits — changes wait in its queue, the event loop runs on — and answers "held"; the worker copies the little that
 * is left (it ran a round just before asking) and says "release". A hold is bounded (HOLD_MAX_MS) whatever the worker does.
 */
import { Worker } from 'node:worker_threads';

/** The longest the writer holds its commits for a catch-up checkpoint. */
const HOLD_MAX_MS = 1000;

// Runs in the worker: plain CommonJS, the driver loaded by its resolved path (an eval'd worker resolves from the cwd).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = FULL'); // the checkpoint fsyncs the WAL before and the database file after copying
let timer;
const checkpoint = () => {
  try { return db.pragma('wal_checkpoint(PASSIVE)')[0]; } catch { return undefined; } // a failing disk shows in the writes
};
const round = () => {
  const r = checkpoint();
  if (r && r.log >= workerData.holdFrames) {
    checkpoint(); // at once: what is left for the hold is only what came during this short round
    return parentPort.postMessage('hold'); // continues on "held"
  }
  timer = setTimeout(round, workerData.everyMs);
};
timer = setTimeout(round, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m === 'held') {
    checkpoint();
    parentPort.postMessage('release');
    timer = setTimeout(round, workerData.everyMs);
    return;
  }
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
  private hold: { released: Promise<void>; release: () => void; timer: NodeJS.Timeout } | undefined;
  private stopped = false;
  /** Catch-up holds so far (tests, metrics). */
  holds = 0;

  /** Starts checkpointing `file` (a WAL database that exists). */
  constructor(file: string, options: CheckpointerOptions = {}) {
    const workerData = { file, everyMs: options.everyMs ?? 250, holdFrames: options.holdFrames ?? 16_384, driver: require.resolve('better-sqlite3') };
    this.worker = new Worker(WORKER, { eval: true, workerData });
    this.worker.unref(); // never keeps the process alive; the OS closes its file with the process
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', () => this.release()); // the writer's own errors tell the story; nothing here may crash Node-RED
    this.worker.on('message', (m: string) => {
      if (m === 'hold' && !this.hold && !this.stopped) {
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        this.hold = { released, release, timer: setTimeout(() => this.release(), HOLD_MAX_MS) };
        this.holds++;
        this.worker.postMessage('held'); // a commit is synchronous: none is open while this runs
      } else if (m === 'release') this.release();
    });
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
