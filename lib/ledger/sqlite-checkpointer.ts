/**
 * WAL checkpoints for the embedded ledger, in a worker thread with a connection of its own, so that copying the WAL
 * into the database file (and its fsync) never holds the event loop that acknowledges receipts and submissions.
 *
 * Why a thread (measured, docs/performance.md): on the main connection a checkpoint every 250 ms held the event loop
 * 10 ms (p50) to 26 ms (max) on a 5 k ledger taking one receipt at a time, and every receipt that arrived meanwhile
 * waited for it: a third of the slowest 1 % of receipts overlapped one. SQLite lets a checkpoint run beside the
 * writer in WAL mode; `PASSIVE` never waits for, or blocks, a writer or reader, and what it cannot copy now it copies
 * on the next round. The writer restarts the WAL from its beginning once everything was copied, and
 * `journal_size_limit` (set on the writer) shrinks the file then, so the WAL stays bounded under steady load.
 */
import { Worker } from 'node:worker_threads';

// Runs in the worker: plain CommonJS, the driver loaded by its resolved path (an eval'd worker resolves from the cwd).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = FULL'); // the checkpoint fsyncs the WAL before and the database file after copying
let timer;
const round = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* next round; a failing disk shows in the writes */ }
  timer = setTimeout(round, workerData.everyMs);
};
timer = setTimeout(round, workerData.everyMs);
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  /** Starts checkpointing `file` (a WAL database that exists) every `everyMs`. */
  constructor(file: string, everyMs = 250) {
    this.worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs, driver: require.resolve('better-sqlite3') } });
    this.worker.unref(); // never keeps the process alive; the OS closes its file with the process
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', () => undefined); // the writer's own errors tell the story; nothing here may crash Node-RED
  }

  /** Stops after the round in progress and closes the worker's connection. */
  async stop(): Promise<void> {
    this.worker.ref(); // the close being awaited keeps the process alive until the worker is gone
    this.worker.postMessage('stop');
    await Promise.race([this.exited, new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())]);
    await this.worker.terminate();
  }
}
