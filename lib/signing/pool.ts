import { availableParallelism } from 'os';
import { extname, join } from 'path';
import { Worker } from 'worker_threads';
import { loadSigningKey, SigningError, type KeyMaterial } from './keys';
import type { SignRequest } from './sign';

export interface PoolOptions {
  /** Number of worker threads (default: the number of cores). */
  size?: number;
}

interface Pending {
  resolve: (xml: string) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/**
 * Signs on N worker threads, each holding its own parsed key. Same API as the in-thread `Signer`:
 * `sign(req)` returns a Promise of the signed XML; `close()` waits for the queued work and stops the threads.
 */
export class SigningPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending & { slot: Slot }>();
  private next = 0;
  private seq = 0;
  private closed = false;

  constructor(material: KeyMaterial, opts: PoolOptions = {}) {
    // Check the key here, so a bad key fails where the pool is made, not on the first message.
    loadSigningKey(material);
    this.size = Math.max(1, Math.floor(opts.size ?? availableParallelism()));
    const data = { material: { keyPem: material.keyPem, certPem: material.certPem, passphrase: material.passphrase } };
    for (let i = 0; i < this.size; i++) {
      const slot = { busy: 0 } as Slot;
      this.start(slot, data);
      this.slots.push(slot);
    }
  }

  /** Starts (or restarts, after a crash) the worker of a slot. */
  private start(slot: Slot, data: unknown): void {
    const worker = spawn(data);
    slot.worker = worker;
    slot.busy = 0;
    worker.on('message', (m: { id: number; xml?: string; error?: string; name?: string }) => this.settle(m));
    worker.on('error', (err) => this.fail(slot, err));
    worker.on('exit', (code) => {
      if (this.closed || slot.worker !== worker) return;
      this.fail(slot, new Error(`signing worker stopped (exit code ${code})`));
      this.start(slot, data);
    });
    worker.unref();
  }

  sign(req: SignRequest): Promise<string> {
    if (this.closed) return Promise.reject(new SigningError('the signing pool is closed'));
    // Round-robin, preferring the least busy worker.
    let slot = this.slots[this.next++ % this.slots.length];
    for (const s of this.slots) if (s.busy < slot.busy) slot = s;
    const id = ++this.seq;
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      slot.busy++;
      if (slot.busy === 1) slot.worker.ref();
      slot.worker.postMessage({ id, req });
    });
  }

  /** Waits for work in flight, then terminates the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const inFlight = [...this.pending.values()].map(
      (p) =>
        new Promise<void>((r) => {
          const { resolve, reject } = p;
          p.resolve = (x) => (resolve(x), r());
          p.reject = (e) => (reject(e), r());
        }),
    );
    await Promise.all(inFlight);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private settle(m: { id: number; xml?: string; error?: string; name?: string }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    p.slot.busy--;
    if (p.slot.busy === 0) p.slot.worker.unref();
    if (m.error !== undefined) {
      const err = m.name === 'XmlError' || m.name === 'SigningError' ? new SigningError(m.error) : new Error(m.error);
      p.reject(err);
    } else p.resolve(m.xml ?? '');
  }

  private fail(slot: Slot, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      p.reject(err);
    }
    slot.busy = 0;
  }
}

function spawn(workerData: unknown): Worker {
  const ext = extname(__filename);
  const file = join(__dirname, `worker${ext}`);
  if (ext === '.ts') {
    // Running from source (tests, benchmarks): let the worker load TypeScript through tsx.
    const code = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(file)});`;
    return new Worker(code, { eval: true, workerData });
  }
  return new Worker(file, { workerData });
}
