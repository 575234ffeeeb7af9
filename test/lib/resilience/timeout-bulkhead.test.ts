import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bulkhead, BulkheadFullError } from '../../../lib/resilience/bulkhead';
import { BreakerOpenError, CircuitBreaker } from '../../../lib/resilience/breaker';
import { guardedCall } from '../../../lib/resilience/index';
import { TimeoutError, withTimeout } from '../../../lib/resilience/timeout';
import { FakeClock, flush } from './fake-clock';

describe('withTimeout', () => {
  it("aborts the call's own signal and rejects with TimeoutError at the deadline, even if the call ignores it", async () => {
    const clock = new FakeClock();
    let seen: AbortSignal | undefined;
    const p = withTimeout(
      1000,
      (signal) => {
        seen = signal;
        return new Promise(() => undefined);
      },
      { clock },
    );
    const check = assert.rejects(p, (e: unknown) => e instanceof TimeoutError && e.timeoutMs === 1000);
    await clock.advance(999);
    assert.equal(seen!.aborted, false);
    await clock.advance(1);
    await check;
    assert.equal(seen!.aborted, true);
  });

  it('gives each call its own signal: one timing out does not abort another', async () => {
    const clock = new FakeClock();
    const signals: AbortSignal[] = [];
    const slow = withTimeout(100, (s) => (signals.push(s), new Promise(() => undefined)), { clock }).catch((e: unknown) => e);
    const fast = withTimeout(1000, async (s) => (signals.push(s), 'fast'), { clock });
    assert.equal(await fast, 'fast');
    await clock.advance(100);
    assert.ok((await slow) instanceof TimeoutError);
    assert.deepEqual(
      signals.map((s) => s.aborted),
      [true, false],
    );
    assert.equal(clock.pending, 0);
  });

  it('really cancels an HTTP request', async () => {
    const server = createServer(() => undefined); // never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const started = Date.now();
      await assert.rejects(
        withTimeout(150, (signal) => fetch(url, { signal })),
        TimeoutError,
      );
      assert.ok(Date.now() - started < 2000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('Bulkhead', () => {
  it('runs at most `concurrency` calls, queues up to the limit, refuses beyond it', async () => {
    const b = new Bulkhead({ concurrency: 2, queueLimit: 2 });
    let running = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const task = () =>
      b.execute(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => releases.push(r));
        running--;
        return 'done';
      });
    const ps = [task(), task(), task(), task()];
    await flush();
    assert.equal(b.active, 2);
    assert.equal(b.queued, 2);
    await assert.rejects(task(), BulkheadFullError);
    while (releases.length || b.active) {
      releases.shift()?.();
      await flush();
    }
    assert.deepEqual(await Promise.all(ps), ['done', 'done', 'done', 'done']);
    assert.equal(peak, 2);
    assert.equal(b.active, 0);
  });

  it('removes an aborted waiter from the queue', async () => {
    const b = new Bulkhead({ concurrency: 1 });
    let release!: () => void;
    const first = b.execute(() => new Promise<void>((r) => (release = r)));
    const ac = new AbortController();
    const waiting = b.execute(async () => 'never', ac.signal);
    ac.abort(new Error('closing'));
    await assert.rejects(waiting, /closing/);
    assert.equal(b.queued, 0);
    release();
    await first;
    assert.equal(b.active, 0);
  });
});

describe('guardedCall', () => {
  it('composes bulkhead, breaker and timeout: timeouts trip the breaker, which then refuses without calling', async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker('sp', { consecutiveFailures: 2, clock });
    const bulkhead = new Bulkhead({ concurrency: 1 });
    let calls = 0;
    const hang = () => {
      calls++;
      return new Promise<string>(() => undefined);
    };
    for (let i = 0; i < 2; i++) {
      const p = guardedCall(hang, { breaker, bulkhead, timeoutMs: 50, clock });
      const check = assert.rejects(p, TimeoutError);
      await clock.advance(50);
      await check;
    }
    assert.equal(breaker.state, 'open');
    await assert.rejects(guardedCall(hang, { breaker, bulkhead, timeoutMs: 50, clock }), BreakerOpenError);
    assert.equal(calls, 2);
    assert.equal(bulkhead.active, 0);
  });
});
