/** The behaviour every Ledger backend must show; run against memory, file and PostgreSQL by backends.test.ts. */
import assert from 'node:assert/strict';
import type { Ledger, ReceiptRecord } from '../../../lib/ledger/types';
import { RECEIPT_STATES } from '../../../lib/ledger/types';
import { exportCsv, exportJson } from '../../../lib/ledger/export';

export interface Backend {
  /** A fresh, empty ledger. */
  open(): Promise<Ledger>;
  /** Closes `ledger` and opens the same store again (durable backends only). */
  reopen?(ledger: Ledger): Promise<Ledger>;
}

const receipt = (transactionId: string, fingerprint: string, extra: Partial<ReceiptRecord> = {}): ReceiptRecord => ({
  transactionId,
  type: 'Teknisk',
  code: 'MODTAGET',
  errors: [],
  receivedAt: '2026-11-22T08:00:00.000Z',
  fingerprint,
  ...extra,
});

export function ledgerSuite(getBackend: () => Backend | undefined): void {
  let ledger: Ledger;
  const opened: Ledger[] = [];

  beforeEach(async function () {
    const b = getBackend();
    if (!b) return this.skip();
    ledger = await b.open();
    opened.push(ledger);
  });
  afterEach(async () => {
    for (const l of opened.splice(0)) await l.close().catch(() => undefined);
  });

  async function reopen(): Promise<void> {
    const b = getBackend()!;
    if (!b.reopen) return;
    ledger = await b.reopen(ledger);
    opened.push(ledger);
  }

  it('creates a shipment once per transaction id, also when asked concurrently', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ledger.createShipment({ transactionId: 't1', submissionId: `s${i}`, state: 'queued' })),
    );
    assert.equal(results.filter((r) => r.created).length, 1);
    const winner = results.find((r) => r.created)!.shipment.submissionId;
    for (const r of results) assert.equal(r.shipment.submissionId, winner);
    assert.deepEqual(
      (await ledger.listShipments()).map((s) => s.transactionId),
      ['t1'],
    );
    await reopen();
    const again = await ledger.createShipment({ transactionId: 't1', submissionId: 'other', state: 'queued' });
    assert.equal(again.created, false);
    assert.equal(again.shipment.submissionId, winner);
  });

  it('never moves a state back when the guard says so: a late "sent" after "accepted" keeps accepted, other fields still apply', async () => {
    await ledger.createShipment({ transactionId: 'g1', submissionId: 's1', state: 'sending' });
    await ledger.updateShipment('g1', { state: 'accepted' });
    const late = await ledger.updateShipment('g1', { state: 'sent', distributionTransactionId: 'd-g1', response: '<ok/>' }, { keepStateIf: RECEIPT_STATES });
    assert.equal(late.state, 'accepted');
    assert.equal(late.distributionTransactionId, 'd-g1');
    await ledger.createShipment({ transactionId: 'g2', submissionId: 's2', state: 'sending' });
    const normal = await ledger.updateShipment('g2', { state: 'sent' }, { keepStateIf: RECEIPT_STATES });
    assert.equal(normal.state, 'sent');
    // concurrent writers: whatever the order, the receipt's state wins over the send's result
    await ledger.createShipment({ transactionId: 'g3', submissionId: 's3', state: 'sending' });
    await Promise.all([ledger.updateShipment('g3', { state: 'accepted' }), ledger.updateShipment('g3', { state: 'sent' }, { keepStateIf: RECEIPT_STATES })]);
    // onlyIfMoved: a kept state keeps everything else too (a fresh try must not overwrite a delivered shipment)
    await ledger.createShipment({ transactionId: 'g4', submissionId: 's4', state: 'sent', request: '<slim/>', meta: { node: 'a' } });
    const kept = await ledger.updateShipment('g4', { state: 'queued', request: '<full/>', meta: { node: 'b' } }, { keepStateIf: ['sent'], onlyIfMoved: true });
    assert.deepEqual([kept.state, kept.meta], ['sent', { node: 'a' }]);
    assert.equal((await ledger.getShipment('g4'))?.request, '<slim/>');
    const moved = await ledger.updateShipment('g4', { state: 'accepted', meta: { node: 'c' } }, { keepStateIf: ['rejected'], onlyIfMoved: true });
    assert.deepEqual([moved.state, moved.meta], ['accepted', { node: 'c' }]);
    await reopen();
    assert.equal((await ledger.getShipment('g1'))?.state, 'accepted');
    assert.equal((await ledger.getShipment('g2'))?.state, 'sent');
    assert.equal((await ledger.getShipment('g3'))?.state, 'accepted');
  });

  it('updates state, records attempts and finds a shipment by the platform id, across a reopen', async () => {
    await ledger.createShipment({ transactionId: 't1', submissionId: 's1', webformId: 'w', state: 'queued', request: '<x/>', meta: { file: 'a.pdf' } });
    await ledger.addAttempt('t1', { at: '2026-11-22T08:00:00.000Z', ok: false, errorClass: 'transient', error: 'HTTP 503', durationMs: 12 });
    await ledger.addAttempt('t1', { at: '2026-11-22T08:00:30.000Z', ok: true, durationMs: 40 });
    await ledger.updateShipment('t1', { lastError: 'HTTP 503' });
    const updated = await ledger.updateShipment('t1', { state: 'sent', distributionTransactionId: 'd1', response: 'ok', lastError: undefined });
    assert.equal('lastError' in updated, false, 'undefined in a patch removes the field');
    assert.equal(updated.state, 'sent');
    assert.ok(updated.updatedAt >= updated.createdAt);
    await reopen();
    const s = await ledger.findByDistributionId('d1');
    assert.equal(s?.transactionId, 't1');
    assert.equal(s?.state, 'sent');
    assert.equal(s?.lastError, undefined);
    assert.equal(s?.request, '<x/>');
    assert.deepEqual(s?.meta, { file: 'a.pdf' });
    assert.deepEqual(s?.attempts, [
      { at: '2026-11-22T08:00:00.000Z', ok: false, errorClass: 'transient', error: 'HTTP 503', durationMs: 12 },
      { at: '2026-11-22T08:00:30.000Z', ok: true, durationMs: 40 },
    ]);
    assert.equal(await ledger.findByDistributionId('nope'), undefined);
    assert.equal(await ledger.getShipment('nope'), undefined);
  });

  it('answers what a write changed (attempts included), and the states of many shipments in one read', async () => {
    await ledger.createShipment({ transactionId: 'r1', submissionId: 's1', state: 'queued', request: '<x/>' });
    const tried = await ledger.addAttempt('r1', { at: '2026-11-22T08:00:00.000Z', ok: false, errorClass: 'transient', error: 'HTTP 503', durationMs: 5 });
    assert.deepEqual(
      tried.attempts.map((a) => a.error),
      ['HTTP 503'],
    );
    assert.equal(tried.request, undefined, 'no bodies in what a write answers');
    const sent = await ledger.updateShipment('r1', { state: 'sent', distributionTransactionId: 'd9' });
    assert.equal(sent.state, 'sent');
    assert.equal(sent.distributionTransactionId, 'd9');
    assert.equal(sent.attempts.length, 1);
    const kept = await ledger.updateShipment('r1', { state: 'queued', lastError: 'late' }, { keepStateIf: ['sent'], onlyIfMoved: true });
    assert.equal(kept.state, 'sent', 'the guard kept the state');
    assert.equal(kept.lastError, undefined, 'and, onlyIfMoved, the rest of the patch');

    // an attempt with a move: the shipment as moved, with the attempt; a guard keeps a state a receipt reached
    await ledger.createShipment({ transactionId: 'r2', submissionId: 's2', state: 'sending', request: '<x/>' });
    const done = await ledger.addAttempt('r2', { at: '2026-11-22T08:01:00.000Z', ok: true, durationMs: 7 }, { patch: { state: 'sent', response: '<ok/>' } });
    assert.equal(done.state, 'sent');
    assert.deepEqual(
      done.attempts.map((a) => a.ok),
      [true],
    );
    assert.equal((await ledger.getShipment('r2'))?.response, '<ok/>');
    await ledger.updateShipment('r2', { state: 'accepted' });
    const late = await ledger.addAttempt(
      'r2',
      { at: '2026-11-22T08:02:00.000Z', ok: true, durationMs: 7 },
      { patch: { state: 'sent', distributionTransactionId: 'd2' }, guard: { keepStateIf: ['accepted'] } },
    );
    assert.equal(late.state, 'accepted', 'a late send never moves a receipt back');
    assert.equal(late.distributionTransactionId, 'd2');
    assert.equal(late.attempts.length, 2);
    await assert.rejects(ledger.addAttempt('none', { at: '2026-11-22T08:03:00.000Z', ok: true }, { patch: { state: 'sent' } }), /No shipment/);

    const ids = Array.from({ length: 1200 }, (_, i) => `many-${i}`);
    for (const id of ids.slice(0, 3)) await ledger.createShipment({ transactionId: id, submissionId: id, state: 'queued' });
    await ledger.updateShipment('many-1', { state: 'dead-letter' });
    const states = await ledger.shipmentStates([...ids, 'r1', 'unknown']);
    assert.deepEqual([...states].sort(), [
      ['many-0', 'queued'],
      ['many-1', 'dead-letter'],
      ['many-2', 'queued'],
      ['r1', 'sent'],
    ]);
    assert.equal((await ledger.shipmentStates([])).size, 0);
  });

  it("finds a shipment by its files' keys, across a reopen; a key stays with its first shipment; purge removes them", async () => {
    await ledger.createShipment({ transactionId: 'f1', submissionId: 's1', state: 'sending' });
    await ledger.createShipment({ transactionId: 'f2', submissionId: 's2', state: 'sending' });
    assert.deepEqual(await ledger.addFileKeys('f1', ['a.pdf', 'b.pdf', 'a.pdf']), []);
    assert.deepEqual(await ledger.addFileKeys('f2', ['a.pdf', 'c.pdf', 'uuid-c']), ['a.pdf'], "a.pdf is f1's");
    assert.deepEqual(await ledger.addFileKeys('f2', []), []);
    assert.deepEqual(await ledger.addFileKeys('f1', ['a.pdf']), [], 'its own key again');
    await reopen();
    assert.equal((await ledger.findByFileKey('a.pdf'))?.transactionId, 'f1');
    assert.equal((await ledger.findByFileKey('b.pdf'))?.transactionId, 'f1');
    assert.equal((await ledger.findByFileKey('uuid-c'))?.transactionId, 'f2');
    assert.equal(await ledger.findByFileKey('nope'), undefined);
    await ledger.updateShipment('f1', { state: 'accepted' });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await ledger.purgeOlderThan(new Date())).shipments, 1);
    assert.equal(await ledger.findByFileKey('b.pdf'), undefined, 'keys go with their shipment');
    assert.equal((await ledger.findByFileKey('c.pdf'))?.transactionId, 'f2');
  });

  it('refuses to update or add an attempt to an unknown shipment', async () => {
    await assert.rejects(ledger.updateShipment('missing', { state: 'sent' }), /No shipment with AnvenderTransaktionsID missing/);
    await assert.rejects(ledger.addAttempt('missing', { at: '2026-11-22T08:00:00.000Z', ok: true }), /No shipment/);
  });

  it('lists shipments newest first, filtered by state and webform, limited', async () => {
    for (let i = 0; i < 5; i++) {
      await ledger.createShipment({ transactionId: `t${i}`, submissionId: `s${i}`, webformId: i % 2 ? 'odd' : 'even', state: i < 3 ? 'queued' : 'sent' });
      await new Promise((r) => setTimeout(r, 3));
    }
    assert.deepEqual(
      (await ledger.listShipments()).map((s) => s.transactionId),
      ['t4', 't3', 't2', 't1', 't0'],
    );
    assert.deepEqual(
      (await ledger.listShipments({ state: 'sent' })).map((s) => s.transactionId),
      ['t4', 't3'],
    );
    assert.deepEqual(
      (await ledger.listShipments({ webformId: 'odd' })).map((s) => s.transactionId),
      ['t3', 't1'],
    );
    assert.equal((await ledger.listShipments({ limit: 2 })).length, 2);
    // paging in the store: offset + limit, and a count for the same filter
    assert.deepEqual(
      (await ledger.listShipments({ limit: 2, offset: 2 })).map((s) => s.transactionId),
      ['t2', 't1'],
    );
    assert.deepEqual(
      (await ledger.listShipments({ state: 'queued', limit: 2, offset: 2 })).map((s) => s.transactionId),
      ['t0'],
    );
    assert.equal(await ledger.countShipments(), 5);
    assert.equal(await ledger.countShipments({ state: 'queued' }), 3);
    assert.equal(await ledger.countShipments({ webformId: 'odd', state: 'sent' }), 1);
  });

  it('lists without request and response bodies unless asked; getShipment has them', async () => {
    await ledger.createShipment({ transactionId: 'b1', submissionId: 's', state: 'queued', request: '<req/>' });
    await ledger.updateShipment('b1', { response: '<resp/>', state: 'sent' });
    await reopen();
    const [listed] = await ledger.listShipments();
    assert.equal(listed!.request, undefined);
    assert.equal(listed!.response, undefined);
    const [withBodies] = await ledger.listShipments({ includeBodies: true });
    assert.deepEqual([withBodies!.request, withBodies!.response], ['<req/>', '<resp/>']);
    const one = await ledger.getShipment('b1');
    assert.deepEqual([one!.request, one!.response, one!.state], ['<req/>', '<resp/>', 'sent']);
    await ledger.updateShipment('b1', { request: undefined });
    assert.deepEqual([(await ledger.getShipment('b1'))!.request, (await ledger.getShipment('b1'))!.response], [undefined, '<resp/>']);
  });

  it('writes a receipt and its effect on the shipment together; a duplicate has no effect; raw only when asked', async () => {
    await ledger.createShipment({ transactionId: 'r1', submissionId: 's', state: 'sent' });
    const seen: string[] = [];
    const effect = (s: { state: string }) => {
      seen.push(s.state);
      return { patch: { state: 'accepted' as const, distributionTransactionId: 'd-r1' }, guard: { keepStateIf: ['rejected' as const] } };
    };
    const first = await ledger.addReceipt(receipt('r1', 'fa', { raw: '<k/>' }), effect);
    assert.equal(first.duplicate, false);
    assert.equal(first.shipment?.state, 'accepted');
    assert.equal(first.shipment?.distributionTransactionId, 'd-r1');
    const again = await ledger.addReceipt(receipt('r1', 'fa'), () => ({ patch: { state: 'rejected' } }));
    assert.equal(again.duplicate, true);
    assert.equal(again.shipment?.state, 'accepted', 'a duplicate changes nothing');
    assert.deepEqual(seen, ['sent']);
    // an effect that throws: the receipt is not stored either (so it is not taken for a duplicate later)
    await assert.rejects(
      ledger.addReceipt(receipt('r1', 'fb'), () => {
        throw new Error('effect failed');
      }),
      /effect failed/,
    );
    const retried = await ledger.addReceipt(receipt('r1', 'fb'), () => ({ patch: { state: 'rejected' } }));
    assert.equal(retried.duplicate, false);
    assert.equal(retried.shipment?.state, 'rejected');
    // no shipment: stored, no effect asked
    const orphan = await ledger.addReceipt(receipt('nobody', 'fc'), () => {
      throw new Error('must not be asked');
    });
    assert.equal(orphan.duplicate, false);
    assert.equal(orphan.shipment, undefined);
    await reopen();
    assert.equal((await ledger.listReceipts('r1'))[0]!.raw, undefined);
    assert.equal((await ledger.listReceipts('r1', { raw: true }))[0]!.raw, '<k/>');
    assert.deepEqual(
      (await ledger.listReceipts('r1')).map((r) => r.fingerprint),
      ['fa', 'fb'],
    );
  });

  it('keeps receipts once per (transaction, fingerprint)', async () => {
    const first = await ledger.addReceipt(receipt('t1', 'f1'));
    assert.equal(first.duplicate, false);
    assert.ok(first.receipt.id);
    const dup = await ledger.addReceipt(receipt('t1', 'f1', { code: 'IGNORED' }));
    assert.equal(dup.duplicate, true);
    assert.equal(dup.receipt.code, 'MODTAGET');
    assert.equal(dup.receipt.id, first.receipt.id);
    await ledger.addReceipt(receipt('t1', 'f2', { type: 'Forretning', code: 'ACCEPTERET', errors: [{ code: 'E1', text: 'x' }] }));
    await ledger.addReceipt(receipt('t2', 'f1'));
    await reopen();
    const list = await ledger.listReceipts('t1');
    assert.deepEqual(
      list.map((r) => r.code),
      ['MODTAGET', 'ACCEPTERET'],
    );
    assert.deepEqual(list[1]!.errors, [{ code: 'E1', text: 'x' }]);
    assert.equal((await ledger.addReceipt(receipt('t1', 'f2'))).duplicate, true);
  });

  it('holds push-inbox entries until acknowledged, oldest first', async () => {
    assert.deepEqual(await ledger.putInbox({ id: 'b', payload: { sid: 2 }, receivedAt: '2026-11-22T08:00:02.000Z' }), { created: true });
    assert.deepEqual(await ledger.putInbox({ id: 'a', webformId: 'w', payload: { sid: 1, data: { x: [1, 'æøå'] } }, receivedAt: '2026-11-22T08:00:01.000Z' }), {
      created: true,
    });
    assert.deepEqual(await ledger.putInbox({ id: 'a', payload: { sid: 'again' } }), { created: false });
    await reopen();
    const pending = await ledger.pendingInbox();
    assert.deepEqual(pending, [
      { id: 'a', webformId: 'w', payload: { sid: 1, data: { x: [1, 'æøå'] } }, receivedAt: '2026-11-22T08:00:01.000Z' },
      { id: 'b', payload: { sid: 2 }, receivedAt: '2026-11-22T08:00:02.000Z' },
    ]);
    await ledger.ackInbox('a');
    await ledger.ackInbox('unknown');
    await reopen();
    assert.deepEqual(
      (await ledger.pendingInbox()).map((e) => e.id),
      ['b'],
    );
  });

  it('claims due work with a lease; an expired lease is claimable again; release reschedules or completes', async () => {
    const t0 = new Date('2020-01-01T00:00:00.000Z'); // virtual times, all in the real past
    const at = (ms: number) => new Date(t0.getTime() + ms);
    await ledger.enqueue('a', at(0));
    await ledger.enqueue('b', at(1000));
    await ledger.enqueue('c', at(60_000));
    assert.deepEqual(
      (await ledger.claimDue('w1', 10, 5000, at(1000))).map((w) => w.transactionId),
      ['a', 'b'],
    );
    assert.deepEqual(await ledger.claimDue('w2', 10, 5000, at(2000)), [], 'leased items are not claimed twice');
    assert.equal(await ledger.extendLease('a', 'w2', 5000, at(2000)), false);
    assert.equal(await ledger.extendLease('a', 'w1', 10_000, at(2000)), true);
    // b's lease (until 6000) expires; a's was extended to 12000.
    const stolen = await ledger.claimDue('w2', 10, 5000, at(7000));
    assert.deepEqual(
      stolen.map((w) => [w.transactionId, w.owner]),
      [['b', 'w2']],
    );
    assert.equal(await ledger.release('b', 'w1'), false, 'the old owner lost the lease');
    assert.equal(await ledger.release('a', 'w1', at(30_000)), true);
    assert.equal(await ledger.release('b', 'w2'), true);
    await reopen();
    assert.deepEqual(
      (await ledger.listQueue()).map((w) => [w.transactionId, w.notBefore]),
      [
        ['a', at(30_000).toISOString()],
        ['c', at(60_000).toISOString()],
      ],
    );
    assert.deepEqual(
      (await ledger.claimDue('w3', 1, 5000, at(100_000))).map((w) => w.transactionId),
      ['a'],
      'limit respected',
    );
    // a's lease (at 100 s + 5 s, long past in real time) expired: enqueue reschedules it and clears the lease
    const tomorrow = new Date(Date.now() + 86_400_000);
    await ledger.enqueue('a', tomorrow);
    let q = await ledger.listQueue();
    assert.equal(q.find((w) => w.transactionId === 'a')?.owner, undefined, 'enqueue clears an expired lease');
    assert.equal(q.find((w) => w.transactionId === 'a')?.notBefore, tomorrow.toISOString());
    // c leased for an hour from now: a second submit must not take it away from its holder
    assert.deepEqual(
      (await ledger.claimDue('w4', 10, 3600_000, new Date())).map((w) => w.transactionId),
      ['c'],
    );
    await ledger.enqueue('c', new Date());
    q = await ledger.listQueue();
    assert.equal(q.find((w) => w.transactionId === 'c')?.owner, 'w4', 'enqueue leaves a held lease alone');
    assert.deepEqual(await ledger.claimDue('w5', 10, 1000, new Date()), []);
  });

  it('records and queues a new shipment in one write; an existing one is neither changed nor queued again', async () => {
    const past = new Date('2020-01-01T00:00:00.000Z');
    const made = await ledger.createShipment(
      { transactionId: 'q1', submissionId: 's1', state: 'queued', request: '<x/>' },
      { queue: 'node-a', notBefore: past },
    );
    assert.equal(made.created, true);
    await ledger.createShipment({ transactionId: 'q2', submissionId: 's2', state: 'queued', request: '<y/>' });
    await ledger.claimDue('w1', 10, 3600_000, new Date(), 'node-a');
    // the same id again, with another queue: the stored shipment is answered, its queue item left as it is (leased)
    const again = await ledger.createShipment({ transactionId: 'q1', submissionId: 's1', state: 'queued', request: '<z/>' }, { queue: 'node-b' });
    assert.equal(again.created, false);
    assert.equal(again.shipment.request, '<x/>');
    await reopen();
    assert.deepEqual(
      (await ledger.listQueue()).map((w) => [w.transactionId, w.queue, w.notBefore]),
      [['q1', 'node-a', past.toISOString()]],
      'q2 was recorded without a queue item',
    );
  });

  it("a send's outcome releases its queue item with the attempt and the move, only for the lease's holder", async () => {
    const past = new Date('2020-01-01T00:00:00.000Z');
    for (const id of ['o1', 'o2']) {
      await ledger.createShipment({ transactionId: id, submissionId: id, state: 'sending', request: '<x/>' });
      await ledger.enqueue(id, past);
    }
    await ledger.enqueue('gone', past);
    await ledger.claimDue('w1', 10, 3600_000, new Date());
    const ok = { at: '2026-11-22T08:00:00.000Z', ok: true, durationMs: 3 };
    const done = await ledger.addAttempt('o1', ok, { patch: { state: 'sent' } }, { owner: 'w1' });
    assert.equal(done.state, 'sent');
    assert.equal(done.attempts.length, 1);
    // another owner's release leaves the item leased; the attempt and the move are still stored
    assert.equal((await ledger.addAttempt('o2', ok, { patch: { state: 'sent' } }, { owner: 'w2' })).state, 'sent');
    // no shipment: nothing is stored, and the item stays in the queue
    await assert.rejects(ledger.addAttempt('gone', ok, { patch: { state: 'sent' } }, { owner: 'w1' }), /No shipment/);
    assert.deepEqual((await ledger.listQueue()).map((w) => [w.transactionId, w.owner]).sort(), [
      ['gone', 'w1'],
      ['o2', 'w1'],
    ]);
    await reopen();
    assert.deepEqual((await ledger.listQueue()).map((w) => w.transactionId).sort(), ['gone', 'o2']);
    assert.equal((await ledger.getShipment('o1'))?.attempts.length, 1);
  });

  it('keeps named queues apart: a worker claims only from its own queue', async () => {
    const past = new Date('2020-01-01T00:00:00.000Z');
    await ledger.enqueue('x', past, 'node-a');
    await ledger.enqueue('y', past);
    assert.deepEqual(
      (await ledger.claimDue('w', 10, 1000, new Date())).map((w) => [w.transactionId, w.queue]),
      [['y', 'default']],
    );
    const mine = await ledger.claimDue('w', 10, 1000, new Date(), 'node-a');
    assert.deepEqual(
      mine.map((w) => [w.transactionId, w.queue]),
      [['x', 'node-a']],
    );
    assert.equal(await ledger.release('x', 'w', past), true);
    await reopen();
    assert.deepEqual((await ledger.listQueue()).map((w) => [w.transactionId, w.queue]).sort(), [
      ['x', 'node-a'],
      ['y', 'default'],
    ]);
    assert.deepEqual(await ledger.claimDue('v', 10, 1000, new Date(), 'node-b'), []);
  });

  it('records the fetch cursor per scope, once per key', async () => {
    assert.deepEqual(await ledger.addCursor('site1/form', 'sid-1'), { created: true });
    assert.deepEqual(await ledger.addCursor('site1/form', 'sid-1'), { created: false });
    await ledger.addCursor('site1/form', 'sid-2');
    await ledger.addCursor('site2/form', 'sid-1');
    await reopen();
    assert.deepEqual((await ledger.listCursor('site1/form')).sort(), ['sid-1', 'sid-2']);
    assert.deepEqual(await ledger.listCursor('site2/form'), ['sid-1']);
    assert.deepEqual(await ledger.listCursor('none'), []);
  });

  it('writes records with compare-and-set: of two writers at one version only one succeeds; purge removes old ones', async () => {
    assert.equal(await ledger.getRecord('intake:a'), undefined);
    assert.equal(await ledger.putRecord('intake:a', { revision: 0, fields: { navn: 'x' } }, 0), true);
    assert.equal(await ledger.putRecord('intake:a', { other: true }, 0), false, 'created once');
    const both = await Promise.all([ledger.putRecord('intake:a', { by: 1 }, 1), ledger.putRecord('intake:a', { by: 2 }, 1)]);
    assert.deepEqual(both.filter(Boolean).length, 1, 'one of two concurrent writers at version 1');
    await reopen();
    const r = await ledger.getRecord('intake:a');
    assert.equal(r?.version, 2);
    assert.deepEqual(r?.value, both[0] ? { by: 1 } : { by: 2 });
    assert.equal(await ledger.putRecord('intake:a', { by: 3 }, 1), false, 'a stale version is refused');
    await new Promise((res) => setTimeout(res, 5));
    const cutoff = new Date();
    await new Promise((res) => setTimeout(res, 5));
    await ledger.putRecord('intake:b', { fresh: true }, 0);
    await ledger.purgeOlderThan(cutoff);
    assert.equal(await ledger.getRecord('intake:a'), undefined, 'purged');
    assert.deepEqual((await ledger.getRecord('intake:b'))?.value, { fresh: true });
  });

  it('writes an inbox entry with a record in one write: only when the record is written', async () => {
    const entry = (id: string, sid: number) => ({ id, webformId: 'w', payload: { sid, data: { navn: 'æøå' } }, receivedAt: `2026-11-22T08:00:0${sid}.000Z` });
    assert.equal(await ledger.putRecord('intake:w:1', { revision: 0 }, 0, entry('t1', 1)), true);
    assert.equal(await ledger.putRecord('intake:w:1', { revision: 0, again: true }, 0, entry('t1-again', 2)), false, 'the record exists');
    // of two writers at one version, one record and its entry
    const both = await Promise.all([
      ledger.putRecord('intake:w:1', { by: 'a' }, 1, entry('ta', 3)),
      ledger.putRecord('intake:w:1', { by: 'b' }, 1, entry('tb', 4)),
    ]);
    assert.equal(both.filter(Boolean).length, 1);
    // an entry with the id already there is kept as it was; the record is still written
    await ledger.putInbox({ id: 't5', payload: { sid: 'first' }, receivedAt: '2026-11-22T08:00:05.000Z' });
    assert.equal(await ledger.putRecord('intake:w:5', { revision: 0 }, 0, entry('t5', 5)), true);
    await reopen();
    const winner = both[0] ? 'ta' : 'tb';
    const pending = await ledger.pendingInbox();
    assert.deepEqual(
      pending.map((e) => e.id),
      ['t1', winner, 't5'],
    );
    assert.deepEqual(pending[0], entry('t1', 1));
    assert.deepEqual(pending[2].payload, { sid: 'first' });
    assert.deepEqual((await ledger.getRecord('intake:w:1'))?.value, { by: both[0] ? 'a' : 'b' });
    assert.equal((await ledger.getRecord('intake:w:5'))?.version, 1);
  });

  it('holds a lease for one owner at a time; another takes it once it ran out or was released', async () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    assert.equal(await ledger.takeLease('poll:site:form', 'A', 10_000, t0), true);
    assert.equal(await ledger.takeLease('poll:site:form', 'B', 10_000, at(1000)), false, 'held by A');
    assert.equal(await ledger.takeLease('poll:site:form', 'A', 10_000, at(5000)), true, 'A renews');
    assert.equal(await ledger.takeLease('poll:site:form', 'B', 10_000, at(12_000)), false, 'renewed until 15 s');
    assert.equal(await ledger.takeLease('other', 'B', 10_000, at(12_000)), true, 'leases are per name');
    await reopen();
    assert.equal(await ledger.takeLease('poll:site:form', 'B', 10_000, at(15_001)), true, 'ran out: B takes over');
    assert.equal(await ledger.takeLease('poll:site:form', 'A', 10_000, at(16_000)), false);
    await ledger.releaseLease('poll:site:form', 'A'); // not A's any more: no effect
    assert.equal(await ledger.takeLease('poll:site:form', 'A', 10_000, at(16_000)), false);
    await ledger.releaseLease('poll:site:form', 'B');
    assert.equal(await ledger.takeLease('poll:site:form', 'A', 10_000, at(16_000)), true, 'released: taken at once');
  });

  it('keeps approvals: listed oldest first per queue, decided once, due by deadline or reminder, claimed and emitted once', async () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const add = (id: string, queue: string, extra: { deadline?: number; remind?: number } = {}) =>
      ledger.addApproval({
        id,
        queue,
        title: `Ansøgning ${id}`,
        createdAt: at(Number(id.replace(/\D/g, '')) * 10),
        deadlineAt: at(extra.deadline ?? 86_400_000),
        ...(extra.remind !== undefined ? { remindAt: at(extra.remind) } : {}),
        view: { fields: [{ label: 'Navn', value: 'Åse' }] },
        msg: { payload: { navn: 'Åse' }, _msgid: id },
      });
    await add('a1', 'q', { remind: 1000 });
    await add('a2', 'q', { deadline: 5000 });
    await add('a3', 'q');
    await add('b1', 'other');
    await add('a1', 'q'); // the same id again: kept once
    assert.deepEqual(
      (await ledger.listApprovals({ queue: 'q', state: 'waiting' })).map((a) => a.id),
      ['a1', 'a2', 'a3'],
    );
    assert.equal(await ledger.countApprovals({ queue: 'q', state: 'waiting' }), 3);
    assert.deepEqual(
      (await ledger.listApprovals({ queue: 'q', limit: 1, offset: 1 })).map((a) => a.id),
      ['a2'],
    );
    assert.equal((await ledger.listApprovals({ queue: 'q' }))[0]!.msg, undefined, 'a list has no messages');
    assert.deepEqual((await ledger.getApproval('a1', { msg: true }))?.msg, { payload: { navn: 'Åse' }, _msgid: 'a1' });
    // due: a1 by its reminder at 1 s, a2 by its deadline at 5 s
    assert.deepEqual(
      (await ledger.dueApprovals('q', new Date(t0 + 500))).map((a) => a.id),
      [],
    );
    assert.deepEqual((await ledger.dueApprovals('q', new Date(t0 + 6000))).map((a) => a.id).sort(), ['a1', 'a2']);
    assert.equal(await ledger.markApprovalReminded('a1'), true);
    assert.equal(await ledger.markApprovalReminded('a1'), false, 'reminded once');
    assert.deepEqual(
      (await ledger.dueApprovals('q', new Date(t0 + 6000))).map((a) => a.id),
      ['a2'],
    );
    // decided once: the first decision wins
    const decisions = await Promise.all([
      ledger.decideApproval('a1', {
        state: 'approved',
        by: 'sagsbehandler1',
        at: at(7000),
        reason: 'ok',
        msg: { payload: { navn: 'Åse Ø' } },
        edits: { navn: 'Åse Ø' },
      }),
      ledger.decideApproval('a1', { state: 'rejected', by: 'sagsbehandler2', at: at(7000), reason: 'nej' }),
    ]);
    assert.equal(decisions.filter(Boolean).length, 1);
    await reopen();
    const a1 = await ledger.getApproval('a1', { msg: true });
    assert.equal(a1?.state, decisions[0] ? 'approved' : 'rejected');
    assert.equal(a1?.decidedBy, decisions[0] ? 'sagsbehandler1' : 'sagsbehandler2');
    // claimed by one owner at a time, emitted once; an expired claim can be taken again
    const claimA = await ledger.claimDecidedApprovals('q', 'A', 10, 10_000, new Date(t0 + 8000));
    assert.deepEqual(
      claimA.map((a) => a.id),
      ['a1'],
    );
    assert.ok(claimA[0]!.msg, 'claimed with its message');
    assert.deepEqual(await ledger.claimDecidedApprovals('q', 'B', 10, 10_000, new Date(t0 + 9000)), [], 'held by A');
    assert.deepEqual(
      (await ledger.claimDecidedApprovals('q', 'B', 10, 10_000, new Date(t0 + 19_000))).map((a) => a.id),
      ['a1'],
      'A died',
    );
    assert.equal(await ledger.markApprovalEmitted('a1', 'A'), false, 'not A’s any more');
    assert.equal(await ledger.markApprovalEmitted('a1', 'B'), true);
    assert.deepEqual(await ledger.claimDecidedApprovals('q', 'C', 10, 10_000, new Date(t0 + 60_000)), [], 'emitted: never again');
    assert.equal((await ledger.getApproval('a1'))?.emittedAt !== undefined, true);
  });

  it('purges finished shipments and orphaned receipts older than the cutoff, never active ones', async () => {
    await ledger.createShipment({ transactionId: 'old-done', submissionId: 's', state: 'accepted' });
    await ledger.createShipment({ transactionId: 'old-queued', submissionId: 's', state: 'queued' });
    await ledger.createShipment({ transactionId: 'old-failed-retrying', submissionId: 's', state: 'failed' });
    await ledger.enqueue('old-failed-retrying');
    await ledger.addReceipt(receipt('old-done', 'f1', { receivedAt: '2020-01-01T00:00:00.000Z' }));
    await ledger.addReceipt(receipt('stranger', 'f1', { receivedAt: '2020-01-01T00:00:00.000Z' }));
    await new Promise((r) => setTimeout(r, 5));
    const cutoff = new Date();
    await new Promise((r) => setTimeout(r, 5));
    await ledger.createShipment({ transactionId: 'new-done', submissionId: 's', state: 'accepted' });
    const result = await ledger.purgeOlderThan(cutoff);
    assert.deepEqual(result, { shipments: 1, receipts: 2 });
    await reopen();
    assert.deepEqual((await ledger.listShipments()).map((s) => s.transactionId).sort(), ['new-done', 'old-failed-retrying', 'old-queued']);
    assert.deepEqual(await ledger.listReceipts('old-done'), []);
    assert.deepEqual(await ledger.purgeOlderThan(cutoff), { shipments: 0, receipts: 0 });
  });

  it('purges in batches to the end: 730 old shipments with receipts and bodies, none left behind, the new one kept', async () => {
    const n = 730; // more than any first batch (50) and not a multiple of any batch size
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        await ledger.createShipment({ transactionId: `old-${i}`, submissionId: 's', state: 'accepted', request: 'r'.repeat(500) });
        await ledger.addReceipt(receipt(`old-${i}`, 'f1'));
      }),
    );
    await new Promise((r) => setTimeout(r, 5));
    const cutoff = new Date();
    await new Promise((r) => setTimeout(r, 5));
    await ledger.createShipment({ transactionId: 'new', submissionId: 's', state: 'accepted' });
    assert.deepEqual(await ledger.purgeOlderThan(cutoff), { shipments: n, receipts: n });
    assert.equal(await ledger.countShipments(), 1);
    assert.deepEqual(await ledger.listReceipts('old-7'), []);
  });

  it('exports shipments with receipts as JSON and CSV, CPR numbers masked, no bodies', async () => {
    await ledger.createShipment({
      transactionId: 't1',
      submissionId: 's1',
      webformId: 'w',
      state: 'queued',
      request: '<cpr>0101901234</cpr>',
      meta: { content: 'PDFDATA' },
    });
    await ledger.addAttempt('t1', { at: '2026-11-22T08:00:00.000Z', ok: false, errorClass: 'permanent', error: 'Invalid CPR 010190-1234' });
    await ledger.updateShipment('t1', { state: 'rejected', lastError: 'AFVIST for 0101901234' });
    await ledger.addReceipt(
      receipt('t1', 'f', { type: 'Forretning', code: 'AFVIST', reason: 'cpr 0101901234, "quoted"', errors: [{ code: 'E', text: '=cmd 0101901234' }] }),
    );
    await ledger.createShipment({ transactionId: 't2', submissionId: 's2', webformId: 'other', state: 'sent' });
    const json = await exportJson(ledger, { webformId: 'w' });
    assert.doesNotMatch(json, /0101901234|1234|PDFDATA|<cpr>/);
    const parsed = JSON.parse(json) as { shipments: Array<{ transactionId: string; lastError: string; receipts: Array<{ reason: string }> }> };
    assert.deepEqual(
      parsed.shipments.map((s) => s.transactionId),
      ['t1'],
    );
    assert.equal(parsed.shipments[0]!.lastError, 'AFVIST for 010190-XXXX');
    assert.equal(parsed.shipments[0]!.receipts[0]!.reason, 'cpr 010190-XXXX, "quoted"');
    const csv = await exportCsv(ledger);
    assert.doesNotMatch(csv, /0101901234|-1234|PDFDATA/);
    const lines = csv.trimEnd().split('\r\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^transactionId,distributionTransactionId,submissionId/);
    const t1 = lines.find((l) => l.startsWith('t1,'))!;
    assert.match(t1, /,rejected,/);
    assert.match(t1, /"cpr 010190-XXXX, ""quoted"""/);
    assert.match(t1, /,E: =cmd 010190-XXXX,/);
  });
}
