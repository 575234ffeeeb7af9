/**
 * Shared settings and checks of the property-based fuzz tests (test/fuzz/*.fuzz.test.ts, fast-check).
 *
 *   FUZZ_SEED   the seed of every property (default 2900, fixed, so `npm test` is repeatable); `random` picks one and
 *               prints it, which is what `npm run fuzz` does: replay a failure with FUZZ_SEED=<printed seed>
 *   FUZZ_RUNS   the base number of cases per property (default 100); a property over large inputs runs a fixed
 *               fraction of it (its weight), at least one case
 *   FUZZ_CASE_MS  the wall-clock limit of one case (default 1000 ms): a case that takes longer fails as a hang
 *               (catastrophic backtracking, quadratic scans) even though it ended
 *
 * Every case is timed; a parser's failure must be its module's own error class with a non-empty message.
 */
import assert from 'node:assert';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';

export const DEFAULT_SEED = 2900;
export const DEFAULT_RUNS = 100;

function positiveInt(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined || text.trim() === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

function resolveSeed(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return DEFAULT_SEED;
  if (text.trim().toLowerCase() === 'random') return Math.floor(Math.random() * 0x7fffffff);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer or "random", got ${JSON.stringify(text)}`);
  return n | 0;
}

export const FUZZ_SEED = resolveSeed(process.env.FUZZ_SEED);
export const FUZZ_RUNS = positiveInt(process.env.FUZZ_RUNS, DEFAULT_RUNS, 'FUZZ_RUNS');
export const CASE_LIMIT_MS = positiveInt(process.env.FUZZ_CASE_MS, 1000, 'FUZZ_CASE_MS');
/** How long shrinking a failure may take before the smallest one found so far is reported. */
const SHRINK_MS = 30_000;

/** Printed (once per process) when the settings are not the defaults, so a failing run can be replayed. */
const announced = process.env.FUZZ_SEED !== undefined || process.env.FUZZ_RUNS !== undefined;
if (announced) {
  console.log(`fuzz: FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${FUZZ_RUNS} FUZZ_CASE_MS=${CASE_LIMIT_MS} (replay with these values)`);
}

/** Cases run per parser (suite) and their time, printed at the end when the settings were given. */
const tally = new Map<string, { properties: number; cases: number; ms: number }>();
after(function () {
  if (!announced || tally.size === 0) return;
  const rows = [...tally].map(
    ([suite, t]) =>
      `  ${suite.padEnd(28)} ${String(t.properties).padStart(3)} properties ${String(t.cases).padStart(8)} cases ${(t.ms / 1000).toFixed(1).padStart(7)} s`,
  );
  console.log(`fuzz summary (seed ${FUZZ_SEED}):\n${rows.join('\n')}`);
});

/** Relative case counts (× FUZZ_RUNS): cheap properties run more, signed or huge inputs fewer. */
export const WEIGHT = { cheap: 2, normal: 1, signed: 0.25, huge: 0.1 } as const;

/** The number of cases for a property of the given weight (1: cheap inputs; below 1: large inputs). */
export function runsFor(weight = 1): number {
  return Math.max(1, Math.round(FUZZ_RUNS * weight));
}

/** Runs `body` and fails when it took longer than CASE_LIMIT_MS (the call itself cannot be interrupted). */
export function timed<R>(what: string, body: () => R): R {
  const start = performance.now();
  const result = body();
  const ms = performance.now() - start;
  if (ms > CASE_LIMIT_MS) throw new Error(`${what}: one case took ${Math.round(ms)} ms (limit ${CASE_LIMIT_MS} ms): a hang or super-linear work`);
  return result;
}

/**
 * Checks a synchronous property with the shared seed: `weight` × FUZZ_RUNS cases, each timed. `suite` names the
 * parser in the summary.
 */
export function fuzz<T>(suite: string, arb: fc.Arbitrary<T>, predicate: (value: T) => void, weight = 1): void {
  const numRuns = runsFor(weight);
  const start = performance.now();
  let cases = 0;
  // After the first failure fast-check shrinks it; with large inputs that can take long (slow cases run again and
  // again): give it SHRINK_MS, then let the remaining candidates pass so the smallest failure so far is reported.
  let shrinkUntil: number | undefined;
  try {
    const details = fc.check(
      fc.property(arb, (value) => {
        if (shrinkUntil !== undefined && performance.now() > shrinkUntil) return;
        cases++;
        try {
          timed(suite, () => predicate(value));
        } catch (err) {
          shrinkUntil ??= performance.now() + SHRINK_MS;
          throw err;
        }
      }),
      { seed: FUZZ_SEED, numRuns },
    );
    if (details.failed) {
      const shown = details.counterexample ? clip(fc.stringify(details.counterexample[0])) : '(none)';
      const cause = details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance);
      throw new Error(
        `${suite}: property failed after ${details.numRuns} case(s) (FUZZ_SEED=${details.seed}, path ${details.counterexamplePath}, shrunk ${details.numShrinks}×)\n` +
          `counterexample: ${shown}\n${clip(cause)}`,
      );
    }
  } finally {
    const t = tally.get(suite) ?? { properties: 0, cases: 0, ms: 0 };
    t.properties++;
    t.cases += cases;
    t.ms += performance.now() - start;
    tally.set(suite, t);
  }
}

export type ErrorClass = new (...args: any[]) => Error;

/** JavaScript's own error types: a parser that throws one of these has crashed, unless the caller lists it. */
const BUILTIN_ERRORS: readonly ErrorClass[] = [TypeError, RangeError, ReferenceError, SyntaxError, URIError, EvalError, assert.AssertionError];

/**
 * A clear error: an instance of one of `allowed` (a module's own subclass of it counts), never one of JavaScript's
 * own error types (TypeError, RangeError: "Maximum call stack size exceeded", …) unless listed, with a non-empty
 * message, matching `message` when given. Anything else fails with the original stack.
 */
export function assertClearError(err: unknown, allowed: readonly ErrorClass[], where: string, message?: RegExp): asserts err is Error {
  if (!(err instanceof Error)) assert.fail(`${where}: threw a non-Error ${typeof err}: ${String(err)}`);
  const builtin = BUILTIN_ERRORS.find((B) => err instanceof B);
  const ok = builtin ? allowed.includes(builtin) : allowed.some((C) => err instanceof C);
  if (!ok) {
    assert.fail(`${where}: threw ${err.name} (not ${allowed.map((C) => C.name).join(' or ')}): ${err.message}\n${err.stack ?? ''}`);
  }
  if (typeof err.message !== 'string' || err.message.trim() === '') assert.fail(`${where}: threw ${err.name} with an empty message`);
  if (message && !message.test(err.message)) assert.fail(`${where}: ${err.name} message ${JSON.stringify(err.message)} does not match ${message}`);
}

/** Long counterexamples (huge inputs) are cut for the report: their beginning and their end. */
function clip(text: string, max = 4000): string {
  return text.length <= max ? text : `${text.slice(0, max / 2)} … (${text.length} characters) … ${text.slice(-max / 2)}`;
}

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: Error };

/** Calls `fn`; a failure must be a clear error (see assertClearError). */
export function attempt<R>(where: string, fn: () => R, allowed: readonly ErrorClass[], message?: RegExp): Outcome<R> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    assertClearError(err, allowed, where, message);
    return { ok: false, error: err };
  }
}
