/**
 * Exponential backoff with "full jitter" (AWS): delay = random(0, min(cap, base · 2^n)), n = 0 for the first retry.
 * Jitter spreads the retries of many shipments so a recovering platform is not hit by a synchronised storm.
 */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** Largest delay ever. */
  capMs: number;
  /** [0, 1) source of randomness (tests inject a fixed one). */
  random?: () => number;
}

/** The largest delay retry `n` (0-based) may get. */
export function backoffCeiling(n: number, { baseMs, capMs }: BackoffOptions): number {
  if (n < 0) return 0;
  // 2^n overflows to Infinity for large n; min() keeps it at the cap.
  return Math.min(capMs, baseMs * Math.pow(2, n));
}

/** A random delay in [0, ceiling] for retry `n` (0-based). */
export function fullJitterDelay(n: number, options: BackoffOptions): number {
  const r = (options.random ?? Math.random)();
  return Math.floor(r * backoffCeiling(n, options));
}
