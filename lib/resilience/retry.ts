/**
 * Retrying with exponential backoff + full jitter, transient failures only.
 * Two ways to use it:
 * - `retry(fn, options)` — in process (the delays are slept here);
 * - `nextRetryAt(attemptsMade, options, now)` — durable: the caller stores the next attempt's time in the ledger's
 *   work queue (`ledger.release(id, owner, at)`) so pending retries survive a restart; undefined = give up.
 */
import { fullJitterDelay } from './backoff';
import { sleep, systemClock } from './clock';
import type { Clock } from './clock';
import { classifyError, describeError } from './errors';
import type { ErrorClass } from './errors';

/**
 * Defaults for a platform that may be down for hours: 20 attempts (19 retries), delays random up to
 * 30 s · 2^n capped at 1 h. The ceilings add up to ≈ 13 h, so with full jitter the last attempt comes on average
 * ≈ 6.5 h (at most ≈ 13 h) after the first.
 */
export const RETRY_DEFAULTS = { attempts: 20, baseMs: 30_000, capMs: 3_600_000 } as const;

export interface AttemptInfo {
  /** 1-based. */
  attempt: number;
  ok: boolean;
  durationMs: number;
  error?: string;
  errorClass?: ErrorClass;
  /** The delay before the next attempt, when one follows. */
  delayMs?: number;
}

export interface RetryOptions {
  /** Total attempts including the first. Default 20. */
  attempts?: number;
  baseMs?: number;
  capMs?: number;
  classify?: (err: unknown) => ErrorClass;
  /** Called after every attempt (for the ledger's attempt records and status). */
  onAttempt?: (info: AttemptInfo) => void;
  /** Stops waiting/retrying (rejects with the abort reason). */
  signal?: AbortSignal;
  clock?: Clock;
  random?: () => number;
}

export class RetryError extends Error {
  override readonly name = 'RetryError';
  constructor(
    message: string,
    readonly attempts: AttemptInfo[],
    readonly lastError: unknown,
    readonly errorClass: ErrorClass,
  ) {
    super(message);
  }
}

export async function retry<T>(fn: (attempt: number, signal?: AbortSignal) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const clock = options.clock ?? systemClock;
  const attempts = Math.max(1, options.attempts ?? RETRY_DEFAULTS.attempts);
  const classify = options.classify ?? classifyError;
  const log: AttemptInfo[] = [];
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('Aborted');
    const started = clock.now();
    try {
      const v = await fn(attempt, options.signal);
      const info: AttemptInfo = { attempt, ok: true, durationMs: clock.now() - started };
      log.push(info);
      options.onAttempt?.(info);
      return v;
    } catch (err) {
      const errorClass = classify(err);
      const info: AttemptInfo = { attempt, ok: false, durationMs: clock.now() - started, error: describeError(err), errorClass };
      const last = errorClass === 'permanent' || attempt >= attempts || options.signal?.aborted;
      if (!last) info.delayMs = fullJitterDelay(attempt - 1, backoffOf(options));
      log.push(info);
      options.onAttempt?.(info);
      if (last) {
        const why = errorClass === 'permanent' ? 'permanent failure' : `gave up after ${attempt} attempts`;
        throw new RetryError(`${why}: ${info.error}`, log, err, errorClass);
      }
      await sleep(info.delayMs!, options.signal, clock);
    }
  }
}

/** When attempt number `attemptsMade + 1` should run, or undefined when the attempts are used up. */
export function nextRetryAt(
  attemptsMade: number,
  options: Pick<RetryOptions, 'attempts' | 'baseMs' | 'capMs' | 'random'> = {},
  now: Date = new Date(),
): Date | undefined {
  if (attemptsMade >= (options.attempts ?? RETRY_DEFAULTS.attempts)) return undefined;
  return new Date(now.getTime() + fullJitterDelay(Math.max(0, attemptsMade - 1), backoffOf(options)));
}

function backoffOf(options: Pick<RetryOptions, 'baseMs' | 'capMs' | 'random'>) {
  return { baseMs: options.baseMs ?? RETRY_DEFAULTS.baseMs, capMs: options.capMs ?? RETRY_DEFAULTS.capMs, random: options.random };
}

/**
 * `retry` as a policy wrapper `(attempt) => Promise` (the shape lib/delivery's `Policy` has) that rethrows the last
 * error itself (not a RetryError), so callers keep their own error classes.
 */
export function retryPolicy(options: RetryOptions = {}): <T>(attempt: (n: number) => Promise<T>) => Promise<T> {
  return async <T>(attempt: (n: number) => Promise<T>): Promise<T> => {
    try {
      return await retry((n) => attempt(n), options);
    } catch (err) {
      throw err instanceof RetryError ? err.lastError : err;
    }
  };
}
