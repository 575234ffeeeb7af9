import assert from 'node:assert/strict';
import { BreakerOpenError, BreakerRegistry, CircuitBreaker } from '../../../lib/resilience/breaker';
import type { StateChange } from '../../../lib/resilience/breaker';
import { FakeClock } from './fake-clock';

const transient = () => Object.assign(new Error('HTTP 503'), { statusCode: 503 });
const permanent = () => Object.assign(new Error('HTTP 400'), { statusCode: 400 });
const fail = (b: CircuitBreaker, e: Error = transient()) => b.execute(() => Promise.reject(e)).catch((x: Error) => x);
const ok = (b: CircuitBreaker) => b.execute(async () => 'ok');

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, rejects fast while open, half-opens for one probe, closes on success', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker('https://sp/x', { consecutiveFailures: 3, openMs: 10_000, clock, failureRate: 0 });
    const changes: string[] = [];
    b.on('stateChange', (c: StateChange) => changes.push(`${c.from}->${c.to}`));
    await fail(b);
    await ok(b); // resets the run
    await fail(b);
    await fail(b);
    assert.equal(b.state, 'closed');
    await fail(b);
    assert.equal(b.state, 'open');
    let called = false;
    const rejected = await b.execute(async () => (called = true)).catch((e: unknown) => e);
    assert.ok(rejected instanceof BreakerOpenError);
    assert.equal(called, false);
    assert.equal(rejected.retryAfterMs, 10_000);
    await clock.advance(9_999);
    assert.equal(b.state, 'open');
    await clock.advance(1);
    assert.equal(b.state, 'half-open');
    // one probe at a time
    let releaseProbe!: () => void;
    const probe = b.execute(() => new Promise<string>((r) => (releaseProbe = () => r('probe ok'))));
    assert.ok((await fail(b)) instanceof BreakerOpenError, 'a second call during the probe is refused');
    releaseProbe();
    assert.equal(await probe, 'probe ok');
    assert.equal(b.state, 'closed');
    assert.deepEqual(changes, ['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('re-opens when the half-open probe fails', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker('k', { consecutiveFailures: 1, openMs: 1000, clock });
    await fail(b);
    await clock.advance(1000);
    assert.equal(b.state, 'half-open');
    await fail(b);
    assert.equal(b.state, 'open');
    assert.equal(b.retryAt, clock.now() + 1000);
  });

  it('opens on a failure rate over the window once the minimum volume is reached', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker('k', { consecutiveFailures: 0, failureRate: 0.5, minimumCalls: 10, windowMs: 10_000, clock });
    for (let i = 0; i < 4; i++) {
      await ok(b);
      await fail(b);
    }
    assert.equal(b.state, 'closed', '8 calls: below the minimum volume');
    await ok(b);
    await fail(b);
    assert.equal(b.state, 'open', '5 of 10 failed');
  });

  it('forgets failures that slid out of the window', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker('k', { consecutiveFailures: 0, failureRate: 0.5, minimumCalls: 4, windowMs: 10_000, clock });
    await fail(b);
    await fail(b);
    await clock.advance(20_000);
    await ok(b);
    await ok(b);
    await fail(b);
    assert.equal(b.state, 'closed', 'only 1 of 3 in the window');
  });

  it('does not count permanent failures (the platform answered)', async () => {
    const b = new CircuitBreaker('k', { consecutiveFailures: 2, clock: new FakeClock() });
    for (let i = 0; i < 5; i++) await fail(b, permanent());
    assert.equal(b.state, 'closed');
  });

  it('keeps one breaker per endpoint in a registry and forwards state changes', async () => {
    const reg = new BreakerRegistry({ consecutiveFailures: 1, clock: new FakeClock() });
    const seen: StateChange[] = [];
    reg.on('stateChange', (c: StateChange) => seen.push(c));
    await fail(reg.get('a'));
    assert.deepEqual(reg.states(), { a: 'open' });
    assert.equal(reg.get('b').state, 'closed');
    assert.equal(seen[0]!.key, 'a');
    assert.equal(seen[0]!.to, 'open');
  });
});
