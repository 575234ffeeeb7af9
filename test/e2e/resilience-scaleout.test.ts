// Two real Node-RED processes on one PostgreSQL ledger share 500 submissions (half posted to each, some to both):
// 5 % HTTP 503 → 0 lost, 0 duplicated at the platform, output 1 once per shipment across both, and the receipts — which the
// simulator posts alternately to one instance and the other — correlated whichever instance receives them.
import { txFor } from '../support/shipment-id';
import { strict as assert } from 'assert';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSimulator, type Simulator } from '../../simulator';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { startPostgres, type PostgresServer } from '../support/postgres';
import { journalpost } from '../lib/sf2900/fixtures';
import { PgLedger } from '../../lib/ledger/pg-ledger';
import { deliveryFlow } from '../support/delivery-flow';
import { RedProcess } from '../support/node-red';

const SECRET = 'scaleout-secret';
const FORM = 'scaleout_test';
const COUNT = 500;
const BOTH = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

function body(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

describe('resilience: two Node-RED instances on one PostgreSQL ledger (500 submissions)', function () {
  this.timeout(180_000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let pg: PostgresServer | undefined;
  let tmp: string;
  const reds: RedProcess[] = [];
  const servers: http.Server[] = [];

  before(async function () {
    pg = await startPostgres();
    if (!pg) return this.skip(); // only when PostgreSQL is not installed and CI is not set (startPostgres throws under CI=true)
    certs = await testCerts();
    sim = await createSimulator({ certs });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-scaleout-'));
  });
  after(async () => {
    await Promise.all(reds.map((r) => r.stop()));
    for (const s of servers) s.close();
    await sim?.close();
    await pg?.release();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('0 lost, 0 duplicated, output 1 once per shipment, receipts correlated on either instance', async function () {
    // what the instances emit on output 1 (through an http request node) and on output 2
    const outputs: Array<{ instance: string; out: number; t: string; repeat?: boolean; topic?: string }> = [];
    const collector = await listen(async (req, res) => {
      const m = JSON.parse((await body(req)).toString('utf8')) as (typeof outputs)[number];
      outputs.push(m);
      res.end('ok');
    });
    servers.push(collector.server);
    // the simulator's receipts go alternately to instance A and instance B
    const received = { A: 0, B: 0 };
    let turn = 0;
    const receiptProxy = await listen(async (req, res) => {
      const target = reds[turn++ % 2]!;
      received[target === reds[0] ? 'A' : 'B']++;
      const data = await body(req);
      try {
        const r = await fetch(`${target.url}/scaleout/receipt`, {
          method: 'POST',
          headers: { 'content-type': String(req.headers['content-type'] ?? 'text/xml'), soapaction: String(req.headers.soapaction ?? '') },
          body: data.toString('utf8'),
        });
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/xml' });
        res.end(Buffer.from(await r.arrayBuffer()));
      } catch {
        res.writeHead(502).end();
      }
    });
    servers.push(receiptProxy.server);
    sim.receipt = { url: `${receiptProxy.url}/scaleout/receipt` };

    const template = journalpost();
    template.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.12' };
    const report = (out: number) =>
      `msg.payload = JSON.stringify({ instance: env.get('INSTANCE'), out: ${out}, t: msg.transactionId, repeat: !!msg.duplicate, topic: msg.topic }); msg.headers = { 'content-type': 'application/json' }; return msg;`;
    for (const name of ['A', 'B']) {
      reds.push(
        new RedProcess({
          userDir: path.join(tmp, name),
          readyPath: '/scaleout/in',
          env: { INSTANCE: name },
          ...deliveryFlow({
            sim,
            certs,
            path: '/scaleout/in',
            secret: SECRET,
            connectionString: pg!.connectionString,
            template,
            wires: [['r1'], ['r2']],
            extra: [
              { id: 'r1', type: 'function', func: report(1), outputs: 1, wires: [['h1']] },
              { id: 'r2', type: 'function', func: report(2), outputs: 1, wires: [['h1']] },
              { id: 'h1', type: 'http request', method: 'POST', ret: 'txt', url: `${collector.url}/out`, wires: [[]] },
              { id: 'ri', type: 'os2-receipt-in', path: '/scaleout/receipt', allow: '127.0.0.1', ledger: 'L', wires: [[], [], []] },
            ],
          }),
        }),
      );
    }
    await Promise.all(reds.map((r) => r.start()));
    sim.faults = { httpStatus: 503, httpStatusProbability: 0.05 }; // retries go through the shared queue too
    const before = { ...sim.stats };

    const uuids = Array.from({ length: COUNT }, () => randomUUID());
    const txOf = (u: string) => txFor(u, FORM, 'JOURNALPOST', { receivingAuthorityCvr: '12345678', kle: '32.03.12' });
    const post = async (red: RedProcess, uuid: string) => {
      const res = await fetch(`${red.url}/scaleout/in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webform-secret': SECRET },
        body: JSON.stringify({ uuid, webform_id: FORM, sid: '1', navn: 'Test' }),
      });
      await res.arrayBuffer();
      assert.equal(res.status, 202);
    };
    // half to A, half to B, the first BOTH to both at once
    const jobs = uuids.map((u, i) => async () => {
      if (i < BOTH) await Promise.all([post(reds[0]!, u), post(reds[1]!, u)]);
      else await post(reds[i % 2]!, u);
    });
    const started = Date.now();
    const workers = Array.from({ length: 8 }, async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) await job();
    });
    await Promise.all(workers);

    const done = () => new Set(outputs.filter((o) => o.out === 1 && !o.repeat).map((o) => o.t)).size;
    const deadline = Date.now() + 120_000;
    while (done() < COUNT && Date.now() < deadline) await sleep(100);
    const seconds = (Date.now() - started) / 1000;
    sim.faults = {};

    const ledger = await PgLedger.open({ connectionString: pg!.connectionString });
    try {
      // receipts: Teknisk and Forretning for each shipment, via either instance
      let states: Array<string | undefined> = [];
      const until = Date.now() + 60_000;
      for (;;) {
        states = await Promise.all(uuids.map(async (u) => (await ledger.getShipment(txOf(u)))?.state));
        if (states.every((s) => s === 'accepted') || Date.now() > until) break;
        await sleep(250);
      }
      const out1 = outputs.filter((o) => o.out === 1 && !o.repeat);
      // a submission posted to both instances: the later arrival says it is a repeat (msg.duplicate), never a second delivery
      const repeats = outputs.filter((o) => o.out === 1 && o.repeat);
      assert.ok(repeats.length <= BOTH, `${repeats.length} repeats for ${BOTH} submissions posted twice`);
      assert.ok(
        repeats.every((r) => uuids.slice(0, BOTH).some((u) => txOf(u) === r.t)),
        'repeats only for submissions posted twice',
      );
      const byInstance = { A: out1.filter((o) => o.instance === 'A').length, B: out1.filter((o) => o.instance === 'B').length };
      console.log(
        `      ${COUNT} submissions (${BOTH} posted to both) on 2 instances: delivered in ${seconds.toFixed(1)} s (${Math.round(COUNT / seconds)}/s); ` +
          `output 1 on A ${byInstance.A}, on B ${byInstance.B}; receipts posted to A ${received.A}, to B ${received.B}`,
      );
      assert.equal(outputs.filter((o) => o.out === 2).length, 0, 'no dead letters');
      const twice = out1.filter((o, i) => out1.findIndex((x) => x.t === o.t) !== i).map((o) => o.t);
      assert.equal(out1.length, COUNT, `output 1 once per shipment across both instances; twice: ${JSON.stringify(out1.filter((o) => twice.includes(o.t)))}`);
      assert.equal(done(), COUNT);
      assert.ok(
        uuids.every((u) => sim.shipments.has(txOf(u))),
        '0 lost',
      );
      assert.equal(sim.stats.distinctTransactions - before.distinctTransactions, COUNT);
      assert.equal(sim.stats.duplicates - before.duplicates, 0, '0 duplicated');
      assert.ok(byInstance.A > 0 && byInstance.B > 0, 'both instances delivered');
      assert.ok(received.A > 0 && received.B > 0, 'both instances received receipts');
      assert.ok(
        states.every((s) => s === 'accepted'),
        `every shipment accepted: ${[...new Set(states)].join(', ')}`,
      );
      const receipts = await Promise.all(uuids.slice(0, 50).map((u) => ledger.listReceipts(txOf(u))));
      assert.ok(
        receipts.every(
          (r) =>
            r
              .map((x) => x.type)
              .sort()
              .join() === 'Forretning,Teknisk',
        ),
        'one Teknisk and one Forretning receipt each',
      );
      assert.deepEqual(await ledger.pendingInbox(), [], 'inbox empty');
    } finally {
      await ledger.close();
    }
  });
});
