import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeliveryWorker } from '../../../lib/outbox/worker';
import type { DeliveryOptions, SendResult } from '../../../lib/outbox/worker';
import { SqliteLedger } from '../../../lib/ledger/sqlite-ledger';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';
import type { ShipmentRecord } from '../../../lib/ledger/types';
import { BreakerRegistry } from '../../../lib/resilience/breaker';
import { FakeClock } from '../resilience/fake-clock';

const http = (status: number) => Object.assign(new Error(`HTTP ${status}`), { statusCode: status });

describe('DeliveryWorker', () => {
  let clock: FakeClock;
  let ledger: MemoryLedger;
  const workers: DeliveryWorker[] = [];
  beforeEach(() => {
    clock = new FakeClock();
    ledger = new MemoryLedger({ now: () => new Date(clock.now()) });
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
  });

  function worker(send: DeliveryOptions['send'], extra: Partial<DeliveryOptions> = {}): DeliveryWorker {
    const w = new DeliveryWorker({ ledger, send, clock, baseMs: 1000, capMs: 60_000, timeoutMs: 5000, random: () => 0.5, ...extra });
    workers.push(w);
    w.start();
    return w;
  }

  async function ship(w: DeliveryWorker, t: string): Promise<void> {
    await ledger.createShipment({ transactionId: t, submissionId: t, state: 'queued' });
    await w.submit(t);
  }

  it('sends a submitted shipment once and records the result', async () => {
    const sent: string[] = [];
    const delivered: ShipmentRecord[] = [];
    const w = worker(async (s) => (sent.push(s.transactionId), { distributionTransactionId: `d-${s.transactionId}`, response: 'OK' }), {
      onDelivered: (s) => delivered.push(s),
    });
    await ship(w, 't1');
    await ship(w, 't1'); // submitted twice: still one send
    await clock.advance(10);
    await clock.advance(5000);
    assert.deepEqual(sent, ['t1']);
    const s = await ledger.getShipment('t1');
    assert.equal(s?.state, 'sent');
    assert.equal(s?.distributionTransactionId, 'd-t1');
    assert.equal(s?.attempts.length, 1);
    assert.equal(delivered.length, 1);
    assert.deepEqual(await ledger.listQueue(), []);
  });

  it('reports a delivery once: queued again after it was sent (a second arrival of the submission), it is neither sent nor reported again', async () => {
    const sent: string[] = [];
    const delivered: ShipmentRecord[] = [];
    const w = worker(async (s) => (sent.push(s.transactionId), { distributionTransactionId: 'd-t2' }), { onDelivered: (s) => delivered.push(s) });
    await ship(w, 't2');
    await clock.advance(10);
    assert.equal(delivered.length, 1);
    await w.submit('t2'); // e.g. the same submission posted to another instance, which joined the shipment late
    await clock.advance(10);
    await clock.advance(2000);
    assert.deepEqual(sent, ['t2']);
    assert.equal(delivered.length, 1, 'output 1 once');
    assert.deepEqual(await ledger.listQueue(), []);
  });

  it('reports a shipment a receipt moved on while it waited for a retry (nothing reported it yet)', async () => {
    const delivered: ShipmentRecord[] = [];
    let calls = 0;
    const w = worker(
      async () => {
        calls++;
        throw http(503);
      },
      { onDelivered: (s) => delivered.push(s) },
    );
    await ship(w, 't3');
    await clock.advance(10);
    assert.equal(calls, 1);
    await ledger.updateShipment('t3', { state: 'accepted' }); // a Forretning receipt arrived meanwhile
    await clock.advance(60_000);
    assert.equal(calls, 1, 'not sent again');
    assert.deepEqual(
      delivered.map((s) => s.state),
      ['accepted'],
    );
  });

  it('stop lets a send in flight finish within the drain time (no cut-off send to repeat); without it the send is aborted and requeued', async () => {
    const delivered: ShipmentRecord[] = [];
    let sends = 0;
    const slow = async (_s: ShipmentRecord, signal?: AbortSignal) =>
      new Promise<SendResult>((resolve, reject) => {
        sends++;
        const t = setTimeout(() => resolve({ distributionTransactionId: 'd-slow' }), 150);
        signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)));
      });
    const w = worker(slow, { onDelivered: (s) => delivered.push(s) });
    await ship(w, 'd1');
    await clock.advance(10);
    assert.equal(sends, 1);
    await w.stop(2000);
    assert.equal(delivered.length, 1, 'finished, not cut off');
    assert.equal((await ledger.getShipment('d1'))?.state, 'sent');
    assert.deepEqual(await ledger.listQueue(), []);

    const w2 = worker(slow);
    await ship(w2, 'd2');
    await clock.advance(10);
    await w2.stop(0);
    assert.equal((await ledger.getShipment('d2'))?.state, 'queued', 'aborted: back in the queue');
    const q = await ledger.listQueue();
    assert.equal(q[0]?.transactionId, 'd2');
    assert.equal(q[0]?.owner, undefined, 'lease released');
    assert.equal((await ledger.getShipment('d2'))?.attempts.length, 0, 'no attempt spent');
  });

  it('a ledger failure after the platform accepted is never a failure of the send: no dead letter, the item stays leased', async () => {
    const dead: ShipmentRecord[] = [];
    const delivered: ShipmentRecord[] = [];
    const errors: Error[] = [];
    let sends = 0;
    const w = worker(async () => (sends++, { distributionTransactionId: 'd-x' }), {
      onDeadLetter: (s) => dead.push(s),
      onDelivered: (s) => delivered.push(s),
      onError: (e) => errors.push(e),
    });
    const addAttempt = ledger.addAttempt.bind(ledger);
    let failOnce = true;
    // the send's outcome (its attempt and the move to 'sent', one write) fails once, as a full disk would fail it
    ledger.addAttempt = async (t, a, move, release) => {
      if (a.ok && failOnce) {
        failOnce = false;
        throw new Error('disk I/O error');
      }
      return addAttempt(t, a, move, release);
    };
    await ship(w, 'x1');
    await clock.advance(10);
    assert.deepEqual(dead, [], 'not dead-lettered');
    assert.match(errors[0]?.message ?? '', /disk I\/O error/);
    assert.deepEqual(delivered, [], 'not reported while nothing of its outcome is stored');
    assert.equal((await ledger.getShipment('x1'))?.state, 'sending', 'left for the lease to expire and the send to be repeated');
    assert.equal((await ledger.listQueue())[0]?.owner, w.owner, 'still leased');
    await clock.advance(40_000 + 1000); // the lease (2 × timeout + 30 s), then a poll
    assert.equal(sends, 2, 'sent again under the same AnvenderTransaktionsID');
    assert.equal(delivered.length, 1, 'reported delivered once');
    const s = await ledger.getShipment('x1');
    assert.equal(s?.state, 'sent');
    assert.deepEqual(
      s?.attempts.map((a) => a.ok),
      [true],
      'a sent shipment has its successful attempt',
    );
    assert.deepEqual(await ledger.listQueue(), []);
  });

  it('retries transient failures with backoff kept in the queue, then delivers', async () => {
    let calls = 0;
    const retries: number[] = [];
    const w = worker(
      async (): Promise<SendResult> => {
        if (++calls <= 2) throw http(503);
        return {};
      },
      { onRetry: (_s, at) => retries.push(at.getTime() - clock.now()) },
    );
    const t0 = clock.now();
    await ship(w, 't1');
    await clock.advance(10);
    assert.equal(calls, 1);
    assert.deepEqual(retries, [500]); // random 0.5 · base 1000
    const queued = await ledger.listQueue();
    assert.equal(queued[0]!.notBefore, new Date(t0 + 500).toISOString());
    await clock.advance(499 + 1000); // poll interval 1 s
    assert.equal(calls, 2);
    await clock.advance(3000);
    assert.equal(calls, 3);
    const s = await ledger.getShipment('t1');
    assert.equal(s?.state, 'sent');
    assert.deepEqual(
      s?.attempts.map((a) => [a.ok, a.errorClass, a.error]),
      [
        [false, 'transient', 'HTTP 503'],
        [false, 'transient', 'HTTP 503'],
        [true, undefined, undefined],
      ],
    );
  });

  it('dead-letters a permanent failure at once, and resends it on request', async () => {
    let fail = true;
    const dead: ShipmentRecord[] = [];
    const w = worker(
      async () => {
        if (fail) throw http(400);
        return {};
      },
      { onDeadLetter: (s) => dead.push(s) },
    );
    await ship(w, 't1');
    await clock.advance(10);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.state, 'dead-letter');
    assert.equal(dead[0]!.lastError, 'HTTP 400');
    assert.deepEqual(await ledger.listQueue(), []);
    fail = false;
    await w.resend('t1');
    await clock.advance(10);
    assert.equal((await ledger.getShipment('t1'))?.state, 'sent');
  });

  it("dead-letters after the configured attempts, carrying every attempt's error", async () => {
    const dead: ShipmentRecord[] = [];
    let n = 0;
    const w = worker(
      async () => {
        throw Object.assign(new Error(`refused #${++n}`), { code: 'ECONNREFUSED' });
      },
      { attempts: 4, onDeadLetter: (s) => dead.push(s), breakers: new BreakerRegistry({ consecutiveFailures: 0, failureRate: 0, clock }) },
    );
    await ship(w, 't1');
    await clock.advance(120_000);
    assert.equal(dead.length, 1);
    assert.deepEqual(
      dead[0]!.attempts.map((a) => a.error),
      ['refused #1 (ECONNREFUSED)', 'refused #2 (ECONNREFUSED)', 'refused #3 (ECONNREFUSED)', 'refused #4 (ECONNREFUSED)'],
    );
  });

  it('stops calling a platform that is down once the breaker opens (no storm), dead-letters nothing for it, and recovers', async () => {
    let up = false;
    let calls = 0;
    const w = worker(
      async () => {
        calls++;
        if (!up) throw http(503);
        return {};
      },
      { attempts: 20, concurrency: 4, breakers: new BreakerRegistry({ consecutiveFailures: 3, openMs: 30_000, clock }) },
    );
    for (let i = 0; i < 40; i++) await ship(w, `t${i}`);
    await clock.advance(10 * 60_000); // 10 minutes down
    // 40 shipments × ever-growing backoff would be ~200 calls without a breaker; with it: a few per 30 s probe window.
    assert.ok(calls <= 3 + 4 + 2 * 20 + 4, `${calls} calls during the outage`);
    const spent = (await ledger.listShipments()).reduce((n, s) => n + s.attempts.length, 0);
    assert.equal(spent, calls, 'only real calls count as attempts');
    up = true;
    await clock.advance(60 * 60_000);
    const all = await ledger.listShipments();
    const states = all.map((s) => s.state);
    assert.deepEqual([...new Set(states)], ['sent']);
  });

  it('two workers on one ledger send each of 100 shipments exactly once', async () => {
    const sent = new Map<string, number>();
    const send = async (s: ShipmentRecord) => {
      sent.set(s.transactionId, (sent.get(s.transactionId) ?? 0) + 1);
      return {};
    };
    const a = worker(send, { owner: 'a' });
    const b = worker(send, { owner: 'b' });
    for (let i = 0; i < 100; i++) await ship(i % 2 ? a : b, `t${i}`);
    await clock.advance(30_000);
    assert.equal(sent.size, 100);
    assert.deepEqual([...new Set(sent.values())], [1]);
  });

  it('workers on different queues of one ledger each send only their own shipments', async () => {
    const byWorker: Record<string, string[]> = { a: [], b: [] };
    const a = worker(async (s) => (byWorker.a!.push(s.transactionId), {}), { owner: 'a', queue: 'node-a' });
    const b = worker(async (s) => (byWorker.b!.push(s.transactionId), {}), { owner: 'b', queue: 'node-b' });
    for (let i = 0; i < 10; i++) await ship(i % 2 ? a : b, `t${i}`);
    await clock.advance(10_000);
    assert.deepEqual(byWorker.a!.sort(), ['t1', 't3', 't5', 't7', 't9']);
    assert.deepEqual(byWorker.b!.sort(), ['t0', 't2', 't4', 't6', 't8']);
  });

  it('picks up a pending retry after a restart (file ledger, real clock)', async function () {
    this.timeout(20_000);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'os2-delivery-'));
    try {
      const first = new SqliteLedger(dir);
      const w1 = new DeliveryWorker({ ledger: first, send: async () => Promise.reject(http(503)), baseMs: 200, capMs: 200, random: () => 1, pollMs: 50 });
      await first.createShipment({ transactionId: 't1', submissionId: 's', state: 'queued' });
      const retried = new Promise<void>((r) => ((w1 as unknown as { o: DeliveryOptions }).o.onRetry = () => r()));
      w1.start();
      await w1.submit('t1');
      await retried;
      await w1.stop();
      await first.close(); // "restart"
      const second = new SqliteLedger(dir);
      const delivered = new Promise<ShipmentRecord>((resolve) => {
        const w2 = new DeliveryWorker({ ledger: second, send: async () => ({ distributionTransactionId: 'd1' }), pollMs: 50, onDelivered: resolve });
        workers.push(w2);
        w2.start();
      });
      const s = await delivered;
      assert.equal(s.state, 'sent');
      assert.deepEqual(
        s.attempts.map((a) => a.ok),
        [false, true],
      );
      for (const w of workers.splice(0)) await w.stop();
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
