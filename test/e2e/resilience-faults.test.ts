// Fault injection against the simulator, in process: fordeling out with its durable queue on the embedded ledger.
//  (a) 1,000 submissions with 10 % HTTP 503, 5 % timeouts and 5 % dropped connections → each delivered exactly once;
//  (b) the platform down for a while → the breaker opens, no request storm, recovery when it returns.
import { strict as assert } from 'assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import type { Simulator } from '../../simulator';
import type { SimulatorCerts } from '../support/certs';
import { journalpost } from '../lib/sf2900/fixtures';
import ledgerNode from '../../nodes/ledger/ledger';
import { NODES, collect, until } from './harness';
import { serviceplatformNode, useSimulator } from '../support/platform';

describe('resilience: fault injection against the simulator (fordeling out, embedded ledger)', function () {
  this.timeout(180_000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let dir: string;
  let run = 0;
  useSimulator((p) => ({ certs, sim } = p));
  beforeEach(() => {
    sim.faults = {};
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-resilience-'));
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const load = async (fo: Record<string, unknown>, timeout = '0.5') => {
    const flow = [
      { id: 't', type: 'tab' },
      { id: 'c1', type: 'os2-certificate' },
      serviceplatformNode(sim, certs, { timeout }),
      { id: 'L', type: 'os2-ledger', backend: 'embedded', path: dir, retentionDays: '0' },
      { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', ledger: 'L', wires: [['ok'], ['failed']], ...fo },
      { id: 'ok', z: 't', type: 'helper' },
      { id: 'failed', z: 't', type: 'helper' },
    ];
    await helper.load(
      [...NODES, ledgerNode],
      flow as never,
      { c1: { keyPem: certs.client.key, certPem: certs.client.cert }, sp: { ca: certs.ca.cert } } as never,
    );
  };
  const objects = (count: number) => {
    run++;
    return Array.from({ length: count }, (_, i) => {
      const o = journalpost();
      o.submissionId = `8a${String(run).padStart(6, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`;
      o.webformId = 'resilience';
      o.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.12' };
      return o;
    });
  };
  const snapshot = () => ({ ...sim.stats });

  it('(a) 1,000 submissions, no faults and then 10 % HTTP 503 + 5 % timeouts + 5 % dropped connections: each delivered exactly once', async function () {
    await load({ attempts: '30', retryBase: '0.05', retryCap: '0.5', concurrency: '16', breakerFailures: '8', breakerOpen: '0.5' });
    const out = collect(['ok', 'failed']);
    const figures: string[] = [];
    for (const faulty of [false, true]) {
      out.ok.length = 0;
      out.failed.length = 0;
      sim.faults = faulty ? { httpStatus: 503, httpStatusProbability: 0.1, stall: 0.05, stallMs: 2000, dropConnection: 0.05 } : {};
      const before = snapshot();
      const started = Date.now();
      const batch = objects(1000);
      for (const o of batch) helper.getNode('fo').receive({ payload: o } as never);
      await until(() => out.ok.length + out.failed.length >= 1000, 150_000, 'every shipment settled');
      const seconds = (Date.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 300));
      const after = snapshot();
      assert.equal(out.failed.length, 0, 'no dead letters');
      assert.equal(out.ok.length, 1000, 'output 1 once per shipment');
      assert.equal(new Set(out.ok.map((m) => m.transactionId)).size, 1000);
      assert.equal(after.distinctTransactions - before.distinctTransactions, 1000, '1,000 distinct accepted');
      assert.equal(after.duplicates - before.duplicates, 0, 'no duplicates');
      const requests = after.requests - before.requests;
      if (faulty) assert.ok(requests > 1000, 'faults were injected (and retried)');
      figures.push(
        `| ${faulty ? '10 % 503, 5 % timeout, 5 % dropped' : 'no faults'} | 1,000 | ${seconds.toFixed(1)} s | ${Math.round(1000 / seconds)} | ${requests} |`,
      );
    }
    console.log(
      ['      | faults | shipments | time | delivered/s | platform requests |', '      |---|---:|---:|---:|---:|', ...figures.map((f) => '      ' + f)].join(
        '\n',
      ),
    );
  });

  it('(b) the platform down for 4 s: the breaker opens, no request storm, all delivered soon after it returns', async function () {
    await load({ attempts: '30', retryBase: '0.05', retryCap: '0.5', concurrency: '16', breakerFailures: '5', breakerOpen: '0.5' });
    const out = collect(['ok', 'failed']);
    const statuses: string[] = [];
    const fo = helper.getNode('fo') as unknown as { status: (s: { text?: string }) => void };
    const orig = fo.status.bind(fo);
    fo.status = (s) => {
      statuses.push(s.text ?? '');
      orig(s);
    };
    sim.faults = { httpStatus: 503 };
    const before = snapshot();
    const batch = objects(300);
    for (const o of batch) helper.getNode('fo').receive({ payload: o } as never);
    await new Promise((r) => setTimeout(r, 4000));
    const during = sim.stats.requests - before.requests;
    assert.ok(
      statuses.some((s) => /\(open\)/.test(s)),
      'the status dot showed the breaker open',
    );
    assert.ok(during < 60, `no request storm: ${during} requests for 300 waiting shipments in 4 s`);
    assert.equal(out.ok.length + out.failed.length, 0);
    const back = Date.now();
    sim.faults = {};
    await until(() => out.ok.length >= 300, 60_000, 'all delivered after the outage');
    const recovery = (Date.now() - back) / 1000;
    assert.equal(out.failed.length, 0);
    assert.equal(sim.stats.distinctTransactions - before.distinctTransactions, 300);
    assert.equal(sim.stats.duplicates - before.duplicates, 0);
    console.log(
      `      outage 4 s, 300 shipments waiting: ${during} platform requests during the outage; all delivered ${recovery.toFixed(1)} s after it returned`,
    );
  });
});
