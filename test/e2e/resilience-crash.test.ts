// A real Node-RED (webform in push + embedded ledger → function → fordeling out) SIGKILLed at random points while
// 200 submissions are posted and delivered, and started again; the poster re-posts what did not get 202.
// Twice: with an `os2-ledger` node, and with none at all (the default a builder gets: the embedded ledger under the
// user directory).
// Every submission that got 202 must reach the platform: 0 lost; one shipment each, the same AnvenderTransaktionsID.
import { txFor } from '../support/shipment-id';
import { strict as assert } from 'assert';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSimulator, type Simulator } from '../../simulator';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { journalpost } from '../lib/sf2900/fixtures';
import { SqliteLedger } from '../../lib/ledger/sqlite-ledger';
import { RedProcess, buildJournalpostCode } from '../support/node-red';
import { serviceplatformNode } from '../support/platform';

const SECRET = 'crash-test-secret';
const FORM = 'crash_test';
const COUNT = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const withLedgerNode of [true, false])
  describe(`resilience: Node-RED SIGKILLed during 200 deliveries (${withLedgerNode ? 'embedded ledger node' : 'no ledger node: the default'})`, function () {
    this.timeout(180_000);
    let certs: SimulatorCerts;
    let sim: Simulator;
    let tmp: string;
    let red: RedProcess | undefined;

    before(async function () {
      certs = await testCerts();
      sim = await createSimulator({ certs });
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-crash-'));
    });
    after(async () => {
      await red?.kill();
      await sim.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('every submission that got 202 is delivered: 0 lost, one shipment each', async function () {
      const template = journalpost();
      template.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.12' };
      const userDir = path.join(tmp, 'user');
      const ledgerDir = withLedgerNode ? path.join(tmp, 'ledger') : path.join(userDir, 'os2-ledger');
      const L = withLedgerNode ? { ledger: 'L' } : {};
      red = new RedProcess({
        userDir,
        readyPath: '/crash/in',
        flows: [
          { id: 't', type: 'tab', label: 'crash' },
          { id: 'c1', type: 'os2-certificate', name: 'client' },
          serviceplatformNode(sim, certs, { timeout: '2' }),
          ...(withLedgerNode ? [{ id: 'L', type: 'os2-ledger', backend: 'embedded', path: ledgerDir, retentionDays: '0' }] : []),
          { id: 'w1', z: 't', type: 'os2-webform-in', mode: 'push', path: '/crash/in', auth: 'header', authHeader: 'X-Webform-Secret', ...L, wires: [['f1']] },
          { id: 'f1', z: 't', type: 'function', func: buildJournalpostCode(template), outputs: 1, wires: [['fo']] },
          {
            id: 'fo',
            z: 't',
            type: 'os2-fordeling-out',
            serviceplatform: 'sp',
            ...L,
            attempts: '50',
            retryBase: '0.2',
            retryCap: '1',
            concurrency: '4',
            breakerFailures: '0',
            wires: [[], []],
          },
        ],
        credentials: { c1: { keyPem: certs.client.key, certPem: certs.client.cert }, sp: { ca: certs.ca.cert }, w1: { secret: SECRET } },
      });
      await red.start();
      // a slow platform with some 503s, so that kills find sends in flight and retries waiting in the queue
      sim.faults = { latencyMs: 150, httpStatus: 503, httpStatusProbability: 0.05 };
      const before = { ...sim.stats };

      const uuids = Array.from({ length: COUNT }, () => randomUUID());
      const txOf = (u: string) => txFor(u, FORM, 'JOURNALPOST', { receivingAuthorityCvr: '12345678', kle: '32.03.12' });
      const accepted = new Set<string>();
      const todo = [...uuids];
      let reposts = 0;
      const poster = async () => {
        for (;;) {
          const uuid = todo.shift();
          if (!uuid) return;
          let ok = false;
          try {
            const res = await fetch(`${red!.url}/crash/in`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-webform-secret': SECRET },
              body: JSON.stringify({ uuid, webform_id: FORM, sid: '1', navn: 'Test' }),
              signal: AbortSignal.timeout(5000),
            });
            await res.arrayBuffer();
            ok = res.status === 202;
          } catch {
            // connection refused / reset: Node-RED is down
          }
          if (ok) {
            accepted.add(uuid);
            await sleep(40); // submissions arrive over a few seconds, so kills also hit the posting
          } else {
            reposts++;
            todo.push(uuid); // a remote poster tries again later
            await sleep(100);
          }
        }
      };
      let posting = true;
      const posted = Promise.all([poster(), poster(), poster(), poster()]).finally(() => (posting = false));

      // SIGKILL at random moments: while posting and while the queue is still being delivered.
      let kills = 0;
      const delivered = () => uuids.filter((u) => accepted.has(u) && sim.shipments.has(txOf(u))).length;
      while (kills < 6 && (posting || delivered() < COUNT)) {
        await sleep(kills === 0 ? 200 + Math.random() * 400 : 300 + Math.random() * 1500);
        if (!posting && delivered() >= COUNT) break;
        await red.kill();
        kills++;
        await sleep(100 + Math.random() * 300);
        await red.start();
      }
      await posted;
      const deadline = Date.now() + 90_000;
      while (delivered() < COUNT && Date.now() < deadline) await sleep(100);
      // let a send repeated after the last kill finish (and be recorded) before stopping: wait for 2 s without requests
      sim.faults = {};
      for (let last = -1; last !== sim.stats.requests && Date.now() < deadline; ) {
        last = sim.stats.requests;
        await sleep(2000);
      }
      await red.stop();

      const lost = uuids.filter((u) => accepted.has(u) && !sim.shipments.has(txOf(u)));
      const resent = uuids.filter((u) => (sim.shipments.get(txOf(u))?.count ?? 0) > 1);
      assert.ok(fs.existsSync(path.join(ledgerDir, 'ledger.db')), `the ledger is at ${ledgerDir}`);
      const ledger = new SqliteLedger(ledgerDir);
      try {
        const states = await Promise.all(uuids.map(async (u) => (await ledger.getShipment(txOf(u)))?.state));
        const inbox = await ledger.pendingInbox();
        const queue = await ledger.listQueue();
        console.log(
          `      ${COUNT} submissions, ${kills} SIGKILLs, ${reposts} re-posts by the poster: ${COUNT - lost.length} delivered, ${lost.length} lost; ` +
            `${resent.length} sent again after a kill (same AnvenderTransaktionsID, the platform answered with the same DistributionTransaktionsID); ` +
            `${sim.stats.distinctTransactions - before.distinctTransactions} distinct at the platform`,
        );
        assert.equal(accepted.size, COUNT, 'every submission got its 202 in the end');
        assert.ok(kills >= 3, `killed ${kills} times`);
        assert.deepEqual(lost, [], '0 lost');
        assert.equal(sim.stats.distinctTransactions - before.distinctTransactions, COUNT, 'one shipment per submission at the platform');
        assert.ok(
          states.every((s) => s === 'sent'),
          `every shipment recorded as sent: ${[...new Set(states)].join(', ')}`,
        );
        assert.deepEqual(
          inbox.map((e) => e.id),
          [],
          'inbox empty',
        );
        assert.deepEqual(queue, [], 'queue empty');
        // A kill between the platform's answer and the ledger's record makes the shipment go again: at most the sends in
        // flight at each kill (concurrency 4), each under the same AnvenderTransaktionsID.
        assert.ok(resent.length <= kills * 4, `${resent.length} re-sent`);
      } finally {
        await ledger.close();
      }
    });
  });
