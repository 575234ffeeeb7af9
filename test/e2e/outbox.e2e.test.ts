// End to end through the outbox: one submission to two targets, a repeat, and a platform that refuses a repeated id.
// fordeling out → simulator (HTTPS, mutual TLS, contract validation, both duplicate policies) → receipt in.
import { strict as assert } from 'assert';
import helper from 'node-red-node-test-helper';
import { handleReceipt } from '../../lib/delivery/receipt-handling';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import type { FordelingsObject } from '../../lib/sf2900/model';
import type { Simulator } from '../../simulator';
import type { SimulatorCerts } from '../support/certs';
import { formular, journalpost } from '../lib/sf2900/fixtures';
import { NODES, collect, serveHttpNode, sleep, until } from './harness';
import { serviceplatformNode, useSimulator } from '../support/platform';

const PATH = '/os2/outbox/kvittering';
type Msg = Record<string, any>;

describe('e2e: the outbox — several targets, repeats, duplicate refusals', function () {
  this.timeout(30000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let srv: Awaited<ReturnType<typeof serveHttpNode>>;
  let out: Record<string, Msg[]>;
  let n = 0;

  // receipts come after a retry has had time to happen (the duplicate-refusal cases depend on that order)
  useSimulator((p) => ({ certs, sim } = p), { technicalReceiptDelayMs: 400, businessReceiptDelayMs: 200 });
  afterEach(async () => {
    sim.faults = {};
    sim.duplicatePolicy = 'accept';
    await sim.idle();
    await helper.unload();
    await srv.close();
  });

  const load = async (fo: Record<string, unknown> = {}, receipts = true, fo2: Record<string, unknown> = {}) => {
    srv = await serveHttpNode();
    sim.receipt = receipts ? { url: srv.url + PATH, basicAuth: { username: 'sp', password: 'kvit' } } : {};
    const fast = { retryBase: '0.05', retryCap: '0.1', breakerFailures: '0', confirmWithin: '0.02', ...fo };
    await helper.load(
      NODES,
      [
        { id: 't', type: 'tab' },
        { id: 'c1', type: 'os2-certificate' },
        serviceplatformNode(sim, certs),
        { id: 'fo1', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', ...fast, wires: [['sent1'], ['failed'], ['unconfirmed']] },
        { id: 'fo2', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', ...fast, ...fo2, wires: [['sent2'], ['failed'], ['unconfirmed']] },
        { id: 'ri', z: 't', type: 'os2-receipt-in', path: PATH, allow: '127.0.0.1', wires: [['ok'], ['rejected'], ['unknown']] },
        ...['sent1', 'sent2', 'failed', 'unconfirmed', 'ok', 'rejected', 'unknown'].map((id) => ({ id, z: 't', type: 'helper' })),
      ] as never,
      {
        c1: { p12: require('fs').readFileSync(certs.client.p12Path).toString('base64'), p12Passphrase: certs.client.p12Passphrase },
        sp: { ca: certs.ca.cert },
        ri: { user: 'sp', password: 'kvit' },
      },
    );
    out = collect(['sent1', 'sent2', 'failed', 'unconfirmed', 'ok', 'rejected', 'unknown']);
  };
  /** One citizen's submission, as two map nodes would make it for two targets. */
  const submission = () => {
    const id = `0b0b0000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const jp = journalpost();
    const fm = formular();
    for (const o of [jp, fm]) Object.assign(o, { submissionId: id, webformId: 'outbox_test' });
    fm.context.routing = { receivingAuthorityCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' };
    jp.context.routing = { receivingAuthorityCvr: '14814833', kle: '32.03.12' };
    return { jp, fm };
  };
  const send = (node: string, payload: FordelingsObject) => helper.getNode(node).receive({ payload: structuredClone(payload) } as never);

  it('one submission to two fordeling out nodes: two shipments with two ids, each receipt with its own; posted again: no third request, and the flow sees why', async () => {
    await load();
    const { jp, fm } = submission();
    const before = sim.stats.requests;
    send('fo1', jp);
    send('fo2', fm);
    await until(() => out.sent1.length === 1 && out.sent2.length === 1, 10_000, 'both accepted');
    const [a, b] = [out.sent1[0], out.sent2[0]];
    assert.notEqual(a.transactionId, b.transactionId, 'two AnvenderTransaktionsIDs');
    assert.equal(sim.shipments.get(a.transactionId)?.objektType, 'JOURNALPOST');
    assert.equal(sim.shipments.get(b.transactionId)?.objektType, 'FORMULAR');
    assert.equal(sim.stats.requests - before, 2);
    await until(() => out.ok.length === 4, 10_000, 'two receipts for each');
    for (const s of [a, b]) {
      const mine = out.ok.filter((m) => m.transactionId === s.transactionId);
      assert.deepEqual(mine.map((m) => m.payload.receipt.type).sort(), ['Forretning', 'Teknisk'], `receipts of ${s.transactionId}`);
      assert.ok(mine.every((m) => m.distributionTransactionId === s.distributionTransactionId));
      const stored = await defaultLedger().getShipment(s.transactionId);
      assert.equal(stored?.state, 'accepted');
      assert.equal((await defaultLedger().listReceipts(s.transactionId)).length, 2);
    }
    // the same submission again through both nodes (a re-post, a replayed inbox entry)
    send('fo1', jp);
    send('fo2', fm);
    await until(() => out.sent1.length === 2 && out.sent2.length === 2, 5000, 'both repeats on output 1');
    assert.equal(sim.stats.requests - before, 2, 'no third request');
    for (const [m, first] of [
      [out.sent1[1], a],
      [out.sent2[1], b],
    ]) {
      assert.equal(m.transactionId, first.transactionId);
      assert.deepEqual([m.duplicate.reason, m.duplicate.state], ['already-sent', 'accepted']);
    }
    assert.equal(out.failed.length + out.unknown.length, 0);
  });

  it('two nodes sending the same object to the same target make one shipment; a node with its own custom key makes another', async () => {
    await load();
    const { jp } = submission();
    send('fo1', jp);
    await until(() => out.sent1.length === 1, 5000, 'the first');
    send('fo2', jp);
    await until(() => out.sent2.length === 1, 5000, 'the second node answers');
    assert.equal(out.sent2[0].transactionId, out.sent1[0].transactionId);
    assert.equal(out.sent2[0].duplicate?.reason, 'already-sent');
    await helper.unload();
    await srv.close();
    await load({}, true, { shipmentKey: 'custom', shipmentKeyText: 'kopi' });
    send('fo2', jp);
    await until(() => out.sent2.length === 1, 5000, 'sent under the custom key');
    assert.equal(out.sent1.length, 0);
    assert.equal(out.sent2[0].duplicate, undefined);
    assert.equal(sim.shipments.get(out.sent2[0].transactionId as string)?.count, 1, 'a second shipment at the platform');
  });

  for (const policy of ['accept', 'reject'] as const) {
    it(`a lost response, then the send again — platform policy "${policy}": output 1 once, the shipment ends accepted with its receipts`, async () => {
      await load();
      sim.duplicatePolicy = policy;
      const { jp } = submission();
      sim.faults = { dropAfterAccept: 1 };
      sim.once('accepted', () => (sim.faults = {})); // only the first answer is lost
      send('fo1', jp);
      await until(() => out.sent1.length === 1, 10_000, 'output 1');
      const m = out.sent1[0];
      const s = sim.shipments.get(m.transactionId);
      assert.equal(s?.count, policy === 'accept' ? 2 : 1, 'the platform took the first send');
      if (policy === 'reject') {
        assert.match(m.duplicateRefusal.error, /already been received/);
        assert.equal(sim.stats.faults >= 1, true);
      } else assert.equal(m.duplicateRefusal, undefined);
      await until(() => out.ok.length === 2, 10_000, 'both receipts');
      for (let i = 0; i < 50 && (await defaultLedger().getShipment(m.transactionId))?.state !== 'accepted'; i++) await sleep(100);
      assert.equal((await defaultLedger().getShipment(m.transactionId))?.state, 'accepted');
      await sleep(100); // past the confirmation window (0.02 min): receipts came, so nothing is flagged
      assert.equal(out.failed.length + out.unconfirmed.length, 0);
    });
  }

  it('refused as a duplicate and no receipt in time: flagged unconfirmed on output 3, never dead-lettered; a late receipt still lifts it', async () => {
    await load({}, false);
    sim.duplicatePolicy = 'reject';
    const { jp } = submission();
    sim.faults = { dropAfterAccept: 1 };
    sim.once('accepted', () => (sim.faults = {}));
    send('fo1', jp);
    await until(() => out.sent1.length === 1, 10_000, 'output 1 (the platform has it)');
    const tx = out.sent1[0].transactionId as string;
    await until(() => out.unconfirmed.length === 1, 10_000, 'flagged on output 3');
    const flagged = out.unconfirmed[0];
    assert.equal(flagged.transactionId, tx);
    assert.equal(flagged.topic, 'unconfirmed');
    const stored = await defaultLedger().getShipment(tx);
    assert.equal(stored?.state, 'unconfirmed');
    assert.equal(out.failed.length, 0, 'not dead-lettered');
    assert.equal(sim.shipments.get(tx)?.count, 1);
    // the platform's receipt, late: the shipment moves on
    await handleReceipt(defaultLedger(), { transactionId: tx, receipt: { type: 'Forretning', code: 'ACCEPTERET', errors: [] } });
    assert.equal((await defaultLedger().getShipment(tx))?.state, 'accepted');
  });
});
