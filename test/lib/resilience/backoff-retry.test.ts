import assert from 'node:assert/strict';
import { backoffCeiling, fullJitterDelay } from '../../../lib/resilience/backoff';
import { classifyError } from '../../../lib/resilience/errors';
import { RETRY_DEFAULTS, RetryError, nextRetryAt, retry, retryPolicy } from '../../../lib/resilience/retry';
import type { AttemptInfo } from '../../../lib/resilience/retry';
import { TimeoutError } from '../../../lib/resilience/timeout';
import { FakeClock, flush } from './fake-clock';

const err = (props: Record<string, unknown>, message = 'boom') => Object.assign(new Error(message), props);

describe('backoff (full jitter)', () => {
  it('stays within [0, min(cap, base·2^n)] and reaches both ends', () => {
    const o = { baseMs: 30_000, capMs: 3_600_000 };
    assert.deepEqual(
      [0, 1, 2, 6, 7, 50, 2000].map((n) => backoffCeiling(n, o)),
      [30_000, 60_000, 120_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000],
    );
    assert.equal(fullJitterDelay(3, { ...o, random: () => 0 }), 0);
    assert.equal(fullJitterDelay(3, { ...o, random: () => 0.999999 }), 239_999);
    for (let n = 0; n < 30; n++) {
      for (let i = 0; i < 50; i++) {
        const d = fullJitterDelay(n, o);
        assert.ok(d >= 0 && d <= backoffCeiling(n, o), `n=${n} d=${d}`);
      }
    }
  });

  it('spreads delays (jitter) rather than synchronising them', () => {
    const delays = new Set(Array.from({ length: 100 }, () => fullJitterDelay(5, { baseMs: 1000, capMs: 60_000 })));
    assert.ok(delays.size > 80);
  });
});

describe('classifyError', () => {
  it('treats network errors, timeouts, 408/429/5xx and Server faults as transient; the rest as permanent', () => {
    for (const e of [
      err({ code: 'ECONNREFUSED' }),
      err({ code: 'ECONNRESET' }),
      err({ code: 'UND_ERR_SOCKET' }),
      new TimeoutError(5),
      err({ statusCode: 503 }),
      err({ status: 429 }),
      err({ statusCode: 408 }),
      err({ faultCode: 'soap:Server' }),
      err({ faultCode: 'Receiver' }),
      err({ cause: err({ code: 'EPIPE' }) }),
      err({ transient: true, statusCode: 400 }),
      err({ class: 'transient', code: 'SOAP_SERVER' }),
    ]) {
      assert.equal(classifyError(e), 'transient', e.message + JSON.stringify(e));
    }
    for (const e of [
      new Error('invalid document'),
      err({ statusCode: 400 }),
      err({ statusCode: 404 }),
      err({ faultCode: 'soap:Client' }),
      err({ code: 'ECONNREFUSED', transient: false }),
      err({ class: 'permanent', code: 'ECONNRESET' }),
      'a string',
      undefined,
    ]) {
      assert.equal(classifyError(e), 'permanent', JSON.stringify(e));
    }
  });
});

describe('retry', () => {
  it('retries transient failures with jittered delays, reporting every attempt', async () => {
    const clock = new FakeClock();
    const seen: AttemptInfo[] = [];
    let calls = 0;
    const p = retry(
      async () => {
        if (++calls < 3) throw err({ statusCode: 503 }, 'HTTP 503');
        return 'ok';
      },
      { attempts: 5, baseMs: 1000, capMs: 10_000, clock, random: () => 0.5, onAttempt: (i) => seen.push(i) },
    );
    await flush();
    assert.equal(calls, 1);
    await clock.advance(499);
    assert.equal(calls, 1, 'first retry waits 0.5 · 1000 ms');
    await clock.advance(1);
    assert.equal(calls, 2);
    await clock.advance(1000); // 0.5 · 2000
    assert.equal(await p, 'ok');
    assert.deepEqual(
      seen.map((s) => [s.attempt, s.ok, s.errorClass, s.delayMs]),
      [
        [1, false, 'transient', 500],
        [2, false, 'transient', 1000],
        [3, true, undefined, undefined],
      ],
    );
  });

  it('does not retry a permanent failure', async () => {
    let calls = 0;
    await assert.rejects(
      retry(async () => {
        calls++;
        throw err({ statusCode: 400 }, 'Bad request');
      }),
      (e: RetryError) => e instanceof RetryError && e.errorClass === 'permanent' && e.attempts.length === 1 && /permanent failure: Bad request/.test(e.message),
    );
    assert.equal(calls, 1);
  });

  it("gives up after the configured attempts with every attempt's error", async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = retry(
      async () => {
        throw err({ code: 'ECONNREFUSED' }, `refused ${++calls}`);
      },
      { attempts: 4, baseMs: 10, capMs: 100, clock },
    );
    const check = assert.rejects(
      p,
      (e: RetryError) => e.attempts.length === 4 && e.attempts[3]!.error === 'refused 4 (ECONNREFUSED)' && /gave up after 4 attempts/.test(e.message),
    );
    await clock.advance(1000);
    await check;
    assert.equal(calls, 4);
  });

  it('stops waiting when aborted', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const p = retry(async () => Promise.reject(err({ statusCode: 502 })), { clock, signal: ac.signal });
    const check = assert.rejects(p, /node closed/);
    await flush();
    ac.abort(new Error('node closed'));
    await check;
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('plans durable retries with nextRetryAt and stops when attempts are used up', () => {
    const now = new Date('2026-11-22T08:00:00Z');
    assert.equal(nextRetryAt(1, { random: () => 0.999 }, now)!.getTime() - now.getTime(), Math.floor(0.999 * 30_000));
    assert.equal(nextRetryAt(10, { random: () => 0.999 }, now)!.getTime() - now.getTime(), Math.floor(0.999 * 3_600_000));
    assert.equal(nextRetryAt(RETRY_DEFAULTS.attempts, {}, now), undefined);
    assert.equal(nextRetryAt(3, { attempts: 3 }, now), undefined);
  });

  it('defaults cover a platform outage of hours (≈13 h of ceilings)', () => {
    let total = 0;
    for (let n = 0; n < RETRY_DEFAULTS.attempts - 1; n++) total += backoffCeiling(n, RETRY_DEFAULTS);
    assert.ok(total > 12 * 3600_000 && total < 14 * 3600_000, String(total));
  });

  it("as a policy wrapper, rethrows the caller's own last error", async () => {
    class MyError extends Error {
      readonly class = 'transient';
    }
    const clock = new FakeClock();
    const policy = retryPolicy({ attempts: 2, baseMs: 10, capMs: 10, clock });
    const seen: number[] = [];
    const p = policy(async (n) => {
      seen.push(n);
      throw new MyError(`try ${n}`);
    });
    const check = assert.rejects(p, (e: unknown) => e instanceof MyError && e.message === 'try 2');
    await clock.advance(100);
    await check;
    assert.deepEqual(seen, [1, 2]);
  });
});
