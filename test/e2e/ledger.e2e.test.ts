// fordeling out and receipt in sharing a configured os2-ledger node (instead of the process-wide default ledger).
import { strict as assert } from 'assert';
import helper from 'node-red-node-test-helper';
import ledgerNode from '../../nodes/ledger/ledger';
import type { Ledger } from '../../lib/ledger/types';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import type { Simulator } from '../../simulator';
import type { SimulatorCerts } from '../support/certs';
import { journalpost } from '../lib/sf2900/fixtures';
import { NODES, collect, serveHttpNode, until } from './harness';
import { serviceplatformNode, useSimulator } from '../support/platform';

const PATH = '/os2/ledger/kvittering';

describe('e2e: fordeling out and receipt in with an os2-ledger config node', function () {
  this.timeout(30000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  useSimulator((p) => ({ certs, sim } = p), { technicalReceiptDelayMs: 5, businessReceiptDelayMs: 20 });
  afterEach(() => helper.unload());

  it('records the shipment in the configured ledger and correlates receipts through it', async function () {
    await helper.load(
      [ledgerNode, ...NODES],
      [
        { id: 't', type: 'tab' },
        { id: 'L', type: 'os2-ledger', backend: 'memory' },
        { id: 'c1', type: 'os2-certificate' },
        serviceplatformNode(sim, certs),
        { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', ledger: 'L', wires: [['sent'], ['failed']] },
        { id: 'ri', z: 't', type: 'os2-receipt-in', path: PATH, allow: '127.0.0.1', ledger: 'L', wires: [['ok'], ['rejected'], ['unknown']] },
        ...['sent', 'failed', 'ok', 'rejected', 'unknown'].map((id) => ({ id, z: 't', type: 'helper' })),
      ] as never,
      { c1: { keyPem: certs.client.key, certPem: certs.client.cert }, sp: { ca: certs.ca.cert } } as never,
    );
    const srv = await serveHttpNode();
    try {
      sim.receipt = { url: srv.url + PATH };
      const out = collect(['sent', 'failed', 'ok', 'rejected', 'unknown']);
      const o = journalpost();
      o.submissionId = '1ed6e000-0000-4000-8000-000000000001';
      helper.getNode('fo').receive({ payload: o } as never);
      await until(() => out.ok.length === 2, 5000, 'receipts');
      await sim.idle();
      const tx = out.sent[0].transactionId as string;
      const ledger = (helper.getNode('L') as unknown as { ledger(): Ledger }).ledger();
      assert.equal((await ledger.getShipment(tx))?.state, 'accepted');
      assert.equal((await ledger.listReceipts(tx)).length, 2);
      assert.equal(await defaultLedger().getShipment(tx), undefined, 'the default ledger is not used');
      assert.equal(out.unknown.length, 0);
    } finally {
      await srv.close();
    }
  });

  it('refuses to run when the chosen ledger node is missing', async function () {
    await helper.load(
      NODES,
      [
        { id: 't', type: 'tab' },
        { id: 'c1', type: 'os2-certificate' },
        serviceplatformNode(sim, certs),
        { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', ledger: 'gone', wires: [[], ['failed']] },
        { id: 'failed', z: 't', type: 'helper' },
      ] as never,
      { c1: { keyPem: certs.client.key, certPem: certs.client.cert } } as never,
    );
    const out = collect(['failed']);
    helper.getNode('fo').receive({ payload: journalpost() } as never);
    await until(() => out.failed.length === 1);
    assert.match((out.failed[0] as any).error.reason, /the chosen ledger configuration is missing/);
  });
});
