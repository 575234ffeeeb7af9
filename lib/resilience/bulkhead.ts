import { abortReason } from './clock';

export class BulkheadFullError extends Error {
  override readonly name = 'BulkheadFullError';
  readonly code = 'EBULKHEADFULL';
  readonly transient = true;
  constructor(concurrency: number, queueLimit: number) {
    super(`Too many calls in progress (${concurrency} running, ${queueLimit} waiting)`);
  }
}

export interface BulkheadOptions {
  /** Calls running at once. */
  concurrency: number;
  /** Calls allowed to wait for a slot; beyond that BulkheadFullError. Default Infinity. */
  queueLimit?: number;
}

/** A concurrency limit with a bounded FIFO queue. */
export class Bulkhead {
  private running = 0;
  private readonly waiting: Array<{ start: () => void; cancel: (err: Error) => void }> = [];
  readonly concurrency: number;
  readonly queueLimit: number;

  constructor(options: BulkheadOptions) {
    if (!(options.concurrency >= 1)) throw new Error('Bulkhead concurrency must be at least 1');
    this.concurrency = Math.floor(options.concurrency);
    this.queueLimit = options.queueLimit ?? Infinity;
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async execute<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortReason(signal);
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw new BulkheadFullError(this.concurrency, this.queueLimit);
      await new Promise<void>((resolve, reject) => {
        const entry = {
          start: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          cancel: reject,
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(abortReason(signal!));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(entry);
      });
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next.start(); // hand the slot over: `running` stays the same
      else this.running--;
    }
  }
}
