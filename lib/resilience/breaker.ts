/**
 * Circuit breaker per endpoint: closed → open (after N consecutive failures, or a failure rate over a sliding window
 * once a minimum number of calls was seen) → after `openMs` half-open, letting `halfOpenProbes` calls (default 1)
 * through → a successful probe closes it, a failed one opens it again.
 * Only failures that `isFailure` accepts count (default: transient ones — a rejected document says nothing about the
 * platform's health). Emits 'stateChange' ({ key, from, to }) for status dots.
 */
import { EventEmitter } from 'node:events';
import { systemClock } from './clock';
import type { Clock } from './clock';
import { classifyError } from './errors';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Open after this many failures in a row. Default 5. 0 = off. */
  consecutiveFailures?: number;
  /** Open when the failure ratio in the window reaches this (0–1). Default 0.5. 0 = off. */
  failureRate?: number;
  /** Sliding window for the failure rate. Default 60 s. */
  windowMs?: number;
  /** The failure rate counts only once the window holds this many calls. Default 20. */
  minimumCalls?: number;
  /** How long it stays open before a probe. Default 30 s. */
  openMs?: number;
  /** Calls let through while half-open. Default 1. */
  halfOpenProbes?: number;
  /** Which errors count as failures. Default: transient ones (classifyError). */
  isFailure?: (err: unknown) => boolean;
  clock?: Clock;
}

export interface StateChange {
  key: string;
  from: BreakerState;
  to: BreakerState;
  /** When it may next let a probe through (open only), epoch ms. */
  retryAt?: number;
}

export class BreakerOpenError extends Error {
  override readonly name = 'BreakerOpenError';
  readonly code = 'EBREAKEROPEN';
  readonly transient = true;
  constructor(
    readonly key: string,
    readonly retryAfterMs: number,
  ) {
    super(`Circuit open for ${key}: not calling it for another ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

const BUCKETS = 10;

export class CircuitBreaker extends EventEmitter {
  private current: BreakerState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private probesInFlight = 0;
  /** [bucketStart, successes, failures] */
  private buckets: Array<[number, number, number]> = [];
  private readonly o: Required<Omit<BreakerOptions, 'clock' | 'isFailure'>>;
  private readonly clock: Clock;
  private readonly isFailure: (err: unknown) => boolean;

  constructor(
    readonly key: string,
    options: BreakerOptions = {},
  ) {
    super();
    this.o = {
      consecutiveFailures: options.consecutiveFailures ?? 5,
      failureRate: options.failureRate ?? 0.5,
      windowMs: options.windowMs ?? 60_000,
      minimumCalls: options.minimumCalls ?? 20,
      openMs: options.openMs ?? 30_000,
      halfOpenProbes: options.halfOpenProbes ?? 1,
    };
    this.clock = options.clock ?? systemClock;
    this.isFailure = options.isFailure ?? ((err) => classifyError(err) === 'transient');
  }

  /** The state now (an open breaker whose time is up reports half-open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.clock.now() >= this.openedAt + this.o.openMs) this.transition('half-open');
    return this.current;
  }

  /** Epoch ms at which an open breaker lets a probe through. */
  get retryAt(): number | undefined {
    return this.current === 'open' ? this.openedAt + this.o.openMs : undefined;
  }

  /**
   * Asks to make a call. Returns a ticket to report the outcome with, or throws BreakerOpenError.
   * Use `execute` unless the call's outcome is only known elsewhere.
   */
  acquire(): { success(): void; failure(err: unknown): void } {
    const state = this.state;
    if (state === 'open') throw new BreakerOpenError(this.key, this.openedAt + this.o.openMs - this.clock.now());
    let probe = false;
    if (state === 'half-open') {
      if (this.probesInFlight >= this.o.halfOpenProbes) throw new BreakerOpenError(this.key, 0);
      this.probesInFlight++;
      probe = true;
    }
    let done = false;
    const settle = (failed: boolean) => {
      if (done) return;
      done = true;
      if (probe) this.probesInFlight--;
      this.record(failed, probe);
    };
    return { success: () => settle(false), failure: (err) => settle(this.isFailure(err)) };
  }

  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const ticket = this.acquire();
    try {
      const v = await fn();
      ticket.success();
      return v;
    } catch (err) {
      ticket.failure(err);
      throw err;
    }
  }

  /** Back to closed with clean counters (e.g. an operator's "reset"). */
  reset(): void {
    this.consecutive = 0;
    this.buckets = [];
    this.transition('closed');
  }

  private record(failed: boolean, probe: boolean): void {
    if (probe) {
      if (failed) this.open();
      else this.reset();
      return;
    }
    if (this.current !== 'closed') return; // a slow call that started before the breaker opened
    const bucket = this.bucket();
    if (failed) {
      bucket[2]++;
      this.consecutive++;
    } else {
      bucket[1]++;
      this.consecutive = 0;
    }
    if (failed && this.shouldTrip()) this.open();
  }

  private shouldTrip(): boolean {
    if (this.o.consecutiveFailures > 0 && this.consecutive >= this.o.consecutiveFailures) return true;
    if (this.o.failureRate <= 0) return false;
    let ok = 0;
    let bad = 0;
    for (const [, s, f] of this.buckets) {
      ok += s;
      bad += f;
    }
    return ok + bad >= this.o.minimumCalls && bad / (ok + bad) >= this.o.failureRate;
  }

  private bucket(): [number, number, number] {
    const now = this.clock.now();
    const width = Math.max(1, this.o.windowMs / BUCKETS);
    const start = now - (now % width);
    this.buckets = this.buckets.filter(([t]) => t > now - this.o.windowMs);
    let last = this.buckets[this.buckets.length - 1];
    if (!last || last[0] !== start) {
      last = [start, 0, 0];
      this.buckets.push(last);
    }
    return last;
  }

  private open(): void {
    this.openedAt = this.clock.now();
    this.consecutive = 0;
    this.buckets = [];
    this.transition('open');
  }

  private transition(to: BreakerState): void {
    const from = this.current;
    if (from === to && to !== 'open') return;
    this.current = to;
    const change: StateChange = { key: this.key, from, to };
    if (to === 'open') change.retryAt = this.openedAt + this.o.openMs;
    this.emit('stateChange', change);
  }
}

/** One breaker per key (endpoint URL), sharing options; re-emits every breaker's 'stateChange'. */
export class BreakerRegistry extends EventEmitter {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(private readonly options: BreakerOptions = {}) {
    super();
  }

  get(key: string): CircuitBreaker {
    let b = this.breakers.get(key);
    if (!b) {
      b = new CircuitBreaker(key, this.options);
      b.on('stateChange', (c: StateChange) => this.emit('stateChange', c));
      this.breakers.set(key, b);
    }
    return b;
  }

  /** Current state of every breaker seen so far. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([k, b]) => [k, b.state]));
  }
}
