import { createHash } from 'node:crypto';
// End to end: fordeling out → simulator (HTTPS, mutual TLS, contract validation) → receipt in.
import { strict as assert } from 'assert';
import helper from 'node-red-node-test-helper';
import type { Simulator } from '../../simulator';
import type { SimulatorCerts } from '../support/certs';
import { formular, journalpost, msgXsd, msgV2Xsd } from '../lib/sf2900/fixtures';
import type { FordelingsObject } from '../../lib/sf2900/model';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import { NODES, collect, serveHttpNode, sleep, until } from './harness';
import { serviceplatformNode, useSimulator } from '../support/platform';

const PATH = '/os2/fordeling/kvittering';

describe('e2e: fordeling out → simulator → receipt in', function () {
  this.timeout(30000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let srv: Awaited<ReturnType<typeof serveHttpNode>>;
  let out: ReturnType<typeof collect>;
  let n = 0;

  useSimulator((p) => ({ certs, sim } = p), { technicalReceiptDelayMs: 5, businessReceiptDelayMs: 30 });
  beforeEach(async function () {
    sim.faults = {};
    sim.receivers = sim.receivers.filter((r) => r.systemName !== 'Rejecting receiver');
    srv = await serveHttpNode();
    sim.receipt = { url: srv.url + PATH, basicAuth: { username: 'sp', password: 'kvit' } };
    await helper.load(
      NODES,
      [
        { id: 't', type: 'tab' },
        { id: 'c1', type: 'os2-certificate' },
        serviceplatformNode(sim, certs),
        { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', wires: [['sent'], ['failed']] },
        { id: 'ri', z: 't', type: 'os2-receipt-in', path: PATH, allow: '127.0.0.1', wires: [['ok'], ['rejected'], ['unknown']] },
        ...['sent', 'failed', 'ok', 'rejected', 'unknown'].map((id) => ({ id, z: 't', type: 'helper' })),
      ] as never,
      {
        c1: { p12: require('fs').readFileSync(certs.client.p12Path).toString('base64'), p12Passphrase: certs.client.p12Passphrase },
        sp: { ca: certs.ca.cert },
        ri: { user: 'sp', password: 'kvit' },
      },
    );
    out = collect(['sent', 'failed', 'ok', 'rejected', 'unknown']);
  });
  afterEach(async () => {
    await sim.idle();
    await helper.unload();
    await srv.close();
  });

  const fresh = (o: FordelingsObject): FordelingsObject => {
    o.submissionId = `5e2e0000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    return o;
  };

  for (const [kind, make] of [
    ['JOURNALPOST', journalpost],
    ['FORMULAR', formular],
  ] as const) {
    it(`${kind}: accepted on output 1, then Teknisk and Forretning receipts correlate to the submission`, async function () {
      const o = fresh(make());
      helper.getNode('fo').receive({ payload: o } as never);
      await until(() => out.sent.length === 1, 5000, 'output 1 of fordeling out');
      const sent = out.sent[0] as Record<string, any>;
      await until(() => out.ok.length === 2, 5000, 'two receipts');
      const types = out.ok.map((m: any) => m.payload.receipt.type).sort();
      assert.deepEqual(types, ['Forretning', 'Teknisk']);
      for (const m of out.ok as any[]) {
        assert.equal(m.payload.submissionId, o.submissionId);
        assert.equal(m.transactionId, sent.transactionId);
        assert.equal(m.distributionTransactionId, sent.distributionTransactionId);
      }
      const s = await defaultLedger().getShipment(sent.transactionId);
      assert.equal(s?.state, 'accepted');
      assert.equal(sim.shipments.get(sent.transactionId)?.objektType, kind);
      assert.equal(out.failed.length + out.unknown.length + out.rejected.length, 0);
      // conformance: what we sent, and the receipts we took, validate against the official contract
      const sentXml = s?.request as string;
      const r1 = (await msgXsd()).validate(sentXml);
      assert.ok(r1.valid, JSON.stringify(r1.errors));
      if (kind === 'FORMULAR') {
        // the platform got the PDF; the ledger keeps only its size and digest
        const pdf = Buffer.from(o.formular!.pdfBase64, 'base64');
        const digest = createHash('sha256').update(pdf).digest('hex');
        assert.equal(sim.shipments.get(sent.transactionId)?.formularContentSha256, digest);
        assert.ok(!sentXml.includes(o.formular!.pdfBase64.slice(0, 64)), 'no file contents in the ledger after delivery');
        assert.match(sentXml, new RegExp(`file contents removed after delivery: ${pdf.length} bytes, sha256 ${digest}`));
      }
      const v2 = await msgV2Xsd();
      // The simulator logs a receipt once its POST's response has ended, which can be after receipt in emitted it.
      await sim.idle();
      const posted = sim.receiptsLog.filter((r) => r.transactionId === sent.transactionId);
      assert.equal(posted.length, 2);
      for (const r of posted) assert.ok(v2.validate(r.xml).valid, r.xml);
    });
  }

  it('a receiver rule that rejects: AFVIST arrives on output 2 of receipt in, shipment rejected', async function () {
    sim.receivers = [
      {
        authorityCvr: '14814833',
        kle: '32.03.12',
        systemUuid: '3c3c3c3c-0000-4000-8000-000000000003',
        systemName: 'Rejecting receiver',
        outcome: 'AFVIST',
        reason: 'Formulartypen kendes ikke',
      },
      ...sim.receivers,
    ];
    helper.getNode('fo').receive({ payload: fresh(journalpost()) } as never);
    await until(() => out.rejected.length === 1, 5000, 'AFVIST receipt');
    const m = out.rejected[0] as any;
    assert.equal(m.payload.receipt.code, 'AFVIST');
    assert.match(m.payload.receipt.reason, /Formulartypen kendes ikke/);
    assert.equal((await defaultLedger().getShipment(m.transactionId))?.state, 'rejected');
  });

  it('a receipt that arrives before the Afsend response still correlates', async function () {
    sim.faults = { receiptBeforeResponse: true };
    const o = fresh(journalpost());
    let receiptFirst = false;
    helper.getNode('ok').once('input', () => {
      receiptFirst = out.sent.length === 0;
    });
    helper.getNode('fo').receive({ payload: o } as never);
    await until(() => out.sent.length === 1 && out.ok.length === 2, 5000, 'response and receipts');
    assert.ok(receiptFirst, 'the Teknisk receipt was emitted before fordeling out answered');
    assert.equal(out.unknown.length, 0);
    assert.equal((out.ok[0] as any).payload.submissionId, o.submissionId);
    assert.equal((await defaultLedger().getShipment((out.sent[0] as any).transactionId))?.state, 'accepted', 'the late response did not move the state back');
  });

  it('a duplicate receipt is answered but emitted once', async function () {
    sim.faults = { duplicateReceipt: true };
    helper.getNode('fo').receive({ payload: fresh(journalpost()) } as never);
    await until(() => out.ok.length === 2, 5000, 'receipts');
    await sim.idle();
    await sleep(50);
    assert.equal(out.ok.length, 2);
    const tx = (out.sent[0] as any).transactionId;
    assert.equal(sim.receiptsLog.filter((r) => r.transactionId === tx && r.ok).length, 4, 'the simulator posted each receipt twice');
    assert.equal((await defaultLedger().listReceipts(tx)).length, 2);
  });

  it('receipt in refuses a caller without the basic-auth credentials (401), and the simulator gives up', async function () {
    sim.receipt = { url: srv.url + PATH };
    helper.getNode('fo').receive({ payload: fresh(journalpost()) } as never);
    await until(() => out.sent.length === 1);
    await sim.idle();
    const tx = (out.sent[0] as any).transactionId;
    const posted = sim.receiptsLog.filter((r) => r.transactionId === tx);
    assert.ok(posted.length > 0 && posted.every((r) => r.status === 401));
    assert.equal(out.ok.length, 0);
  });
});
