import { shipmentIdOf } from '../../lib/delivery/plan';
// fordeling out's durable delivery (ledger work queue, retries, breaker, dead letter, resend) and webform in's push inbox.
import { strict as assert } from 'assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import request from 'supertest';
import type { Node, NodeAPI } from 'node-red';
import type { Simulator } from '../../simulator';
import type { SimulatorCerts } from '../support/certs';
import { journalpost } from '../lib/sf2900/fixtures';
import { transactionIdFor } from '../../lib/sf2900/transaction-id';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import type { Ledger } from '../../lib/ledger/types';
import type { Submission } from '../../lib/sf2900/model';
import ledgerNode from '../../nodes/ledger/ledger';
import { SqliteLedger } from '../../lib/ledger/sqlite-ledger';
import webformInNode from '../../nodes/webform-in/webform-in';
import { NODES, collect, nextMessage, sleep, until } from '../e2e/harness';
import { serviceplatformNode, useSimulator } from '../support/platform';

const SECRET = 'durable-secret';

let RED: NodeAPI;
const webformIn = (r: NodeAPI) => {
  RED = r;
  webformInNode(r);
};
/** A test node turning a Submission into a JOURNALPOST (what map does in a real flow). */
const buildNode = (r: NodeAPI) => {
  r.nodes.registerType('test-build', function (this: Node, config: object) {
    r.nodes.createNode(this, config as never);
    this.on('input', (m, send, done) => {
      const msg = m as unknown as Record<string, any>;
      const sub = msg.payload as Submission;
      const o = journalpost();
      o.submissionId = sub.submission.uuid;
      o.webformId = sub.webform.id;
      o.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.12' };
      send({ ...msg, payload: o } as never);
      done();
    });
  } as never);
};
const ALL = [...NODES, ledgerNode, webformIn, buildNode];

describe('fordeling out: durable delivery; webform in: push inbox', function () {
  this.timeout(60_000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let dir: string;
  let n = 0;
  useSimulator((p) => ({ certs, sim } = p));
  beforeEach(() => {
    sim.faults = {};
    sim.duplicatePolicy = 'accept';
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-durable-'));
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const obj = () => {
    const o = journalpost();
    o.submissionId = `6d1e2f3a-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    o.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.12' };
    return o;
  };
  const fast = { retryBase: '0.02', retryCap: '0.1', breakerFailures: '0' };
  const load = async (fo: Record<string, unknown> = {}, opts: { ledger?: boolean; webform?: boolean; timeout?: string; memoryFo?: boolean } = {}) => {
    const flow: Array<Record<string, unknown>> = [
      { id: 't', type: 'tab' },
      { id: 'c1', type: 'os2-certificate' },
      serviceplatformNode(sim, certs, { timeout: opts.timeout ?? '5' }),
      {
        id: 'fo',
        z: 't',
        type: 'os2-fordeling-out',
        serviceplatform: 'sp',
        ...(opts.memoryFo ? { ledger: 'M' } : opts.ledger ? { ledger: 'L' } : {}),
        ...fast,
        wires: [['ok'], ['failed']],
        ...fo,
      },
      { id: 'ok', z: 't', type: 'helper' },
      { id: 'failed', z: 't', type: 'helper' },
      { id: 'k1', z: 't', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 't', type: 'helper' },
    ];
    if (opts.ledger) flow.push({ id: 'L', type: 'os2-ledger', backend: 'embedded', path: dir, retentionDays: '0' });
    if (opts.memoryFo) flow.push({ id: 'M', type: 'os2-ledger', backend: 'memory', retentionDays: '0' });
    if (opts.webform) {
      flow.push(
        {
          id: 'w1',
          z: 't',
          type: 'os2-webform-in',
          mode: 'push',
          path: '/durable/in',
          auth: 'header',
          authHeader: 'X-Webform-Secret',
          ledger: 'L',
          wires: [['b1', 'seen']],
        },
        { id: 'seen', z: 't', type: 'helper' },
        { id: 'b1', z: 't', type: 'test-build', wires: [['fo']] },
      );
    }
    await helper.load(
      ALL,
      flow as never,
      { c1: { keyPem: certs.client.key, certPem: certs.client.cert }, sp: { ca: certs.ca.cert }, w1: { secret: SECRET } } as never,
    );
  };
  const ledgerOf = (): Ledger => (helper.getNode('L') as unknown as { ledger(): Ledger }).ledger();
  const tx = (o: { submissionId: string; webformId?: string }) => shipmentIdOf(o as never);

  it('transient failures are retried from the queue (backoff) until delivered: output 1 once, every attempt in the ledger', async function () {
    await load();
    let calls = 0;
    sim.faults = { httpStatus: 503 };
    const onRequest = () => {
      if (++calls === 3) sim.faults = {};
    };
    sim.on('request', onRequest);
    try {
      const out = collect(['ok', 'failed']);
      const o = obj();
      helper.getNode('fo').receive({ payload: o } as never);
      await until(() => out.ok.length === 1, 10_000);
      await sleep(200);
      assert.equal(out.ok.length, 1);
      assert.equal(out.failed.length, 0);
      const s = await defaultLedger().getShipment(tx(o));
      assert.deepEqual(
        s!.attempts.map((a) => a.ok),
        [false, false, true],
      );
      assert.ok(s!.attempts.slice(0, 2).every((a) => a.errorClass === 'transient' && /503/.test(a.error!)));
      assert.equal(sim.shipments.get(tx(o))?.count, 1);
    } finally {
      sim.off('request', onRequest);
    }
  });

  it('attempts used up: output 2 (dead letter) with every attempt\'s error, Catch fires; msg.topic "resend" delivers it', async function () {
    await load({ attempts: '3' });
    sim.faults = { httpStatus: 503 };
    const o = obj();
    const failed = nextMessage<Record<string, any>>('failed', 10_000);
    const caught = nextMessage<Record<string, any>>('caught', 10_000);
    helper.getNode('fo').receive({ payload: o } as never);
    const dead = await failed;
    assert.equal(dead.error.class, 'transient');
    assert.equal(dead.error.attempts.length, 3);
    assert.ok(dead.error.attempts.every((a: { error: string }) => /HTTP 503/.test(a.error)));
    assert.match((await caught).error.message, /transient: HTTP 503/);
    assert.equal((await defaultLedger().getShipment(tx(o)))?.state, 'dead-letter');
    sim.faults = {};
    const ok = nextMessage<Record<string, any>>('ok', 10_000);
    helper.getNode('fo').receive({ topic: 'resend', transactionId: tx(o) } as never);
    assert.equal((await ok).transactionId, tx(o));
    assert.equal(sim.shipments.get(tx(o))?.count, 1);
    const refused = nextMessage<Record<string, any>>('failed');
    helper.getNode('fo').receive({ topic: 'resend', transactionId: tx(o) } as never);
    assert.match((await refused).error.reason, /only dead-letter or failed shipments are resent/);
  });

  it('a permanent failure is not retried: one attempt, output 2', async function () {
    await load();
    const o = obj();
    o.context.senderAuthorityCvr = '87654321';
    const before = sim.stats.requests;
    const failed = nextMessage<Record<string, any>>('failed', 10_000);
    helper.getNode('fo').receive({ payload: o } as never);
    const msg = await failed;
    assert.equal(msg.error.class, 'permanent');
    assert.equal(msg.error.attempts.length, 1);
    await sleep(200);
    assert.equal(sim.stats.requests - before, 1);
  });

  it('admin endpoint POST /os2-fordeling-out/:node/resend/:transactionId (202 queued; 409 delivered; 404 unknown)', async function () {
    await load({ attempts: '1' });
    sim.faults = { httpStatus: 503 };
    const o = obj();
    const failed = nextMessage('failed', 10_000);
    helper.getNode('fo').receive({ payload: o } as never);
    await failed;
    sim.faults = {};
    const ok = nextMessage<Record<string, any>>('ok', 10_000);
    const r = await helper
      .request()
      .post(`/os2-fordeling-out/fo/resend/${tx(o)}`)
      .expect(202);
    assert.equal(r.body.transactionId, tx(o));
    assert.equal((await ok).transactionId, tx(o));
    const again = await helper
      .request()
      .post(`/os2-fordeling-out/fo/resend/${tx(o)}`)
      .expect(409);
    assert.match(again.body.error, /only dead-letter or failed/);
    await helper.request().post(`/os2-fordeling-out/fo/resend/00000000-0000-4000-8000-000000000000`).expect(404);
    await helper
      .request()
      .post(`/os2-fordeling-out/nope/resend/${tx(o)}`)
      .expect(404);
  });

  it('pending retries survive a restart (embedded ledger): the next start claims them and output 1 says recovered', async function () {
    await load({ retryBase: '1', retryCap: '1' }, { ledger: true });
    sim.faults = { httpStatus: 503 };
    const o = obj();
    const before = sim.stats.requests;
    helper.getNode('fo').receive({ payload: o } as never);
    await until(() => sim.stats.requests > before, 5000, 'a first attempt');
    await sleep(200);
    const s = await ledgerOf().getShipment(tx(o));
    assert.equal(s?.state, 'queued');
    await helper.unload();
    sim.faults = {};
    await load({}, { ledger: true });
    const ok = await nextMessage<Record<string, any>>('ok', 10_000);
    assert.equal(ok.transactionId, tx(o));
    assert.equal(ok.topic, 'recovered');
    assert.equal(sim.shipments.get(tx(o))?.count, 1);
  });

  it('a shipment recorded but missing from the queue (crash between the two) is queued again on start', async function () {
    await load({ retryBase: '30', retryCap: '30' }, { ledger: true });
    sim.faults = { httpStatus: 503 };
    const o = obj();
    const before = sim.stats.requests;
    helper.getNode('fo').receive({ payload: o } as never);
    await until(() => sim.stats.requests > before, 5000, 'a first attempt');
    await sleep(200);
    await helper.unload();
    const l = new SqliteLedger(dir);
    for (const w of await l.claimDue('test', 10, 60_000, new Date(Date.now() + 3_600_000), 'fo')) await l.release(w.transactionId, 'test');
    assert.deepEqual(await l.listQueue(), []);
    assert.equal((await l.getShipment(tx(o)))?.state, 'queued');
    await l.close();
    sim.faults = {};
    await load({}, { ledger: true });
    const ok = await nextMessage<Record<string, any>>('ok', 10_000);
    assert.equal(ok.transactionId, tx(o));
  });

  it('the breaker opens after N failures (red ring with retry time), lets a probe through, and closes when the platform is back', async function () {
    await load({ breakerFailures: '3', breakerOpen: '0.5', attempts: '20' });
    const statuses: Array<{ fill?: string; text?: string }> = [];
    const fo = helper.getNode('fo') as unknown as { status: (s: object) => void };
    const orig = fo.status.bind(fo);
    fo.status = (s: object) => {
      statuses.push(s as never);
      orig(s);
    };
    sim.faults = { httpStatus: 503 };
    const ok = nextMessage<Record<string, any>>('ok', 15_000);
    helper.getNode('fo').receive({ payload: obj() } as never);
    await until(() => statuses.some((s) => /\(open\), retry \d\d:\d\d:\d\d/.test(s.text ?? '')), 10_000, 'open status');
    assert.equal(statuses.find((s) => /open/.test(s.text ?? ''))?.fill, 'red');
    sim.faults = {};
    await ok;
    assert.ok(
      statuses.some((s) => /half-open/.test(s.text ?? '')),
      'half-open shown',
    );
  });

  it("fordeling out on the in-memory ledger acknowledges webform in's inbox entry only once delivered (a restart would lose its queue)", async function () {
    await load({}, { ledger: true, webform: true, memoryFo: true });
    sim.faults = { httpStatus: 503 };
    const uuid = '7e1e2f3a-0000-4000-8000-000000000099';
    const before = sim.stats.requests;
    await request(RED.httpNode as never)
      .post('/durable/in')
      .set('X-Webform-Secret', SECRET)
      .send({ uuid, webform_id: 'inbox_test', sid: '9' })
      .expect(202);
    await until(() => sim.stats.requests > before + 1, 5000, 'two attempts');
    assert.deepEqual(
      (await ledgerOf().pendingInbox()).map((e) => e.id),
      [transactionIdFor(uuid, 'inbox_test')],
      'kept while only queued in memory',
    );
    sim.faults = {};
    await nextMessage('ok', 5000);
    await sleep(100);
    assert.deepEqual(await ledgerOf().pendingInbox(), [], 'acknowledged once delivered');
  });

  it('webform in (push, ledger): stored before 202, put back into the flow on start until fordeling out recorded the shipment, then acknowledged', async function () {
    // 1. no fordeling out yet: the submission waits in the inbox
    await load({}, { ledger: true, webform: true });
    sim.faults = { httpStatus: 503 }; // fordeling out queues it but cannot deliver yet
    const uuid = '7e1e2f3a-0000-4000-8000-000000000001';
    const body = { uuid, webform_id: 'inbox_test', sid: '1', navn: 'x' };
    const post = () =>
      request(RED.httpNode as never)
        .post('/durable/in')
        .set('X-Webform-Secret', SECRET)
        .send(body);
    const seen = nextMessage<Record<string, any>>('seen', 5000);
    const before = sim.stats.requests;
    await post().expect(202);
    const first = await seen;
    const id = transactionIdFor(uuid, 'inbox_test');
    assert.equal(first._os2InboxId, id);
    await until(() => sim.stats.requests > before, 5000, 'a first attempt');
    assert.deepEqual(
      (await ledgerOf().pendingInbox()).map((e) => e.id),
      [],
      'acknowledged once fordeling out queued the shipment',
    );
    // 2. an entry that no fordeling out acknowledged is put back into the flow on start
    await ledgerOf().putInbox({
      id: 'e4f1c0de-0000-4000-8000-000000000002',
      webformId: 'inbox_test',
      payload: {
        webform: { id: 'inbox_test' },
        submission: { uuid: 'e4f1c0de-0000-4000-8000-0000000000aa' },
        data: {},
        files: [{ element: 'f', name: 'a.pdf', contentBase64: Buffer.from('%PDF').toString('base64') }],
      },
    });
    await helper.unload();
    sim.faults = {};
    await load({}, { ledger: true, webform: true });
    const replayed = collect(['seen', 'ok']);
    await until(() => replayed.seen.length >= 1, 8000, 'the pending entry put back');
    const again = replayed.seen.find((m) => m._os2InboxId === 'e4f1c0de-0000-4000-8000-000000000002')!;
    assert.ok(Buffer.isBuffer((again.payload as Submission).files[0].content), 'file contents restored as a Buffer');
    // the queued shipment from step 1 is delivered by the new start; the replayed one too
    await until(() => replayed.ok.length === 2, 10_000, 'both delivered');
    assert.deepEqual(await ledgerOf().pendingInbox(), []);
    // 3. the remote poster posts the same submission again: 202, and webform in knows it passed it on already (a
    // repeat, counted and logged); still one shipment
    const repeat = await post().expect(202);
    assert.equal(repeat.body.outcome, 'skipped: repeat');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(replayed.ok.length, 2, 'not passed on again');
    for (const m of replayed.ok as Array<Record<string, any>>) assert.equal(sim.shipments.get(m.transactionId)?.count, 1, 'the platform got it once');
    assert.deepEqual(await ledgerOf().pendingInbox(), []);
  });
});
