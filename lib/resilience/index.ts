/**
 * Resilience toolkit (no dependencies, fake-clock friendly): backoff, retry, circuit breaker, timeout, bulkhead,
 * and `guardedCall`, the composition fordeling out uses per request: bulkhead → breaker → timeout → call.
 */
import type { Bulkhead } from './bulkhead';
import type { CircuitBreaker } from './breaker';
import type { Clock } from './clock';
import { withTimeout } from './timeout';

export * from './backoff';
export * from './breaker';
export * from './bulkhead';
export * from './clock';
export * from './errors';
export * from './retry';
export * from './timeout';

export interface GuardOptions {
  breaker?: CircuitBreaker;
  bulkhead?: Bulkhead;
  /** Per-call timeout; 0/undefined = none. */
  timeoutMs?: number;
  signal?: AbortSignal;
  clock?: Clock;
}

/** One guarded call: waits for a bulkhead slot, asks the breaker, runs `fn` with a per-call timeout signal. */
export function guardedCall<T>(fn: (signal?: AbortSignal) => Promise<T>, g: GuardOptions): Promise<T> {
  const timed = () => (g.timeoutMs ? withTimeout(g.timeoutMs, fn, { signal: g.signal, clock: g.clock }) : fn(g.signal));
  const broken = () => (g.breaker ? g.breaker.execute(timed) : timed());
  return g.bulkhead ? g.bulkhead.execute(broken, g.signal) : broken();
}
