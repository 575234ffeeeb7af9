import { abortReason, systemClock } from './clock';
import type { Clock } from './clock';

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
  readonly transient = true;
  constructor(readonly timeoutMs: number) {
    super(`Timed out after ${timeoutMs} ms`);
  }
}

export interface TimeoutOptions {
  /** An outer signal (e.g. node closing); its abort is passed through. */
  signal?: AbortSignal;
  clock?: Clock;
}

/**
 * Runs `fn` with its own AbortSignal that aborts after `ms` (per call, unlike a shared controller).
 * Rejects with TimeoutError at the deadline even if `fn` ignores the signal.
 */
export function withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>, options: TimeoutOptions = {}): Promise<T> {
  const clock = options.clock ?? systemClock;
  const controller = new AbortController();
  const outer = options.signal;
  if (outer?.aborted) return Promise.reject(abortReason(outer));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (fnDone: () => void) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      fnDone();
    };
    const onOuterAbort = () => {
      const reason = abortReason(outer!);
      controller.abort(reason);
      finish(() => reject(reason));
    };
    const timer = clock.setTimeout(() => {
      const err = new TimeoutError(ms);
      controller.abort(err);
      finish(() => reject(err));
    }, ms);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    let p: Promise<T>;
    try {
      p = fn(controller.signal);
    } catch (err) {
      return finish(() => reject(err));
    }
    p.then(
      (v) => finish(() => resolve(v)),
      (err) => finish(() => reject(err)),
    );
  });
}
