// Two real Node-RED processes on one PostgreSQL ledger polling one OS2forms site (the stand-in of os2forms_rest_api):
// one poller at a time (a lease in the ledger), each submission passed on once across both — a draft too, once it is
// completed — and when the polling instance is killed (kill -9), the other takes over once the lease has run out.
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leaseMsFor } from '../../lib/node-red/webform-fetch';
import { type Collector, startCollector } from '../support/collector';
import { RedProcess } from '../support/node-red';
import { FakeOs2formsApi, type FakeSubmission } from '../support/os2forms-api';
import { startPostgres, type PostgresServer } from '../support/postgres';

const API_KEY = 'scaleout-fetch-key-0123456789';
const FORM = 'ansoegning';
const INTERVAL_S = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webform in (fetch): two Node-RED instances on one PostgreSQL ledger polling one site', function () {
  this.timeout(180_000);
  let pg: PostgresServer | undefined;
  let api: FakeOs2formsApi;
  let tmp: string;
  let collector: Collector<{ instance: string; out: number; uuid: string; topic?: string }>;
  const reds: RedProcess[] = [];
  const outputs = () => collector.received;

  before(async function () {
    pg = await startPostgres();
    if (!pg) return this.skip(); // only when PostgreSQL is not installed and CI is not set (startPostgres throws under CI=true)
    api = await new FakeOs2formsApi(API_KEY).start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-fetch-scaleout-'));
    collector = await startCollector();
  });
  after(async () => {
    await Promise.all(reds.map((r) => r.kill()));
    collector?.close();
    await api?.stop();
    await pg?.release();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  let sid = 0;
  const now = () => Math.floor(Date.now() / 1000);
  function add(extra: Partial<FakeSubmission> = {}): FakeSubmission {
    sid++;
    const s: FakeSubmission = {
      sid,
      uuid: `9a9e1f3a-1111-4222-8333-${sid.toString(16).padStart(12, '0')}`,
      created: now(),
      completed: now(),
      changed: now(),
      data: { navn: `Borger ${sid}` },
      ...extra,
    };
    api.add(FORM, s);
    return s;
  }
  const passed = () => outputs().filter((o) => o.out === 1);
  const waitFor = async (what: string, cond: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };

  it('passes each submission on once across both instances; a killed poller is taken over within the lease time', async function () {
    const url = collector.url;
    const report = (out: number) =>
      `msg.payload = JSON.stringify({ instance: env.get('INSTANCE'), out: ${out}, uuid: msg.submissionId, topic: msg.topic }); msg.headers = { 'content-type': 'application/json' }; return msg;`;
    for (const name of ['A', 'B']) {
      reds.push(
        new RedProcess({
          userDir: path.join(tmp, name),
          env: { INSTANCE: name },
          flows: [
            { id: 't', type: 'tab', label: 'fetch' },
            { id: 's1', type: 'os2-os2forms-site', name: 'site', baseUrl: api.baseUrl, timeout: 5 },
            { id: 'L', type: 'os2-ledger', backend: 'postgresql', retentionDays: '0' },
            {
              id: 'w1',
              z: 't',
              type: 'os2-webform-in',
              mode: 'fetch',
              site: 's1',
              webformId: FORM,
              interval: INTERVAL_S,
              ledger: 'L',
              wires: [['r1'], ['r2']],
            },
            { id: 'r1', z: 't', type: 'function', func: report(1), outputs: 1, wires: [['h1']] },
            { id: 'r2', z: 't', type: 'function', func: report(2), outputs: 1, wires: [['h1']] },
            { id: 'h1', z: 't', type: 'http request', method: 'POST', ret: 'txt', url, wires: [[]] },
          ],
          credentials: { s1: { apiKey: API_KEY }, L: { connectionString: pg!.connectionString } },
        }),
      );
    }
    await Promise.all(reds.map((r) => r.start()));

    const first = Array.from({ length: 20 }, () => add());
    const draft = add({ inDraft: true, completed: undefined, data: { navn: 'Kladde' } });
    await waitFor('the first 20', () => passed().length >= 20, 30_000);
    for (let i = 0; i < 20; i++) add();
    await waitFor('40', () => passed().length >= 40, 30_000);
    await sleep(3 * INTERVAL_S * 1000);
    const holders = new Set(passed().map((o) => o.instance));
    assert.equal(holders.size, 1, `one poller at a time: ${[...holders].join(', ')}`);
    const holder = [...holders][0]!;
    assert.equal(passed().length, 40, 'the draft is not passed on; nothing twice');

    // the polling instance dies without releasing its lease
    await reds[holder === 'A' ? 0 : 1]!.kill();
    const killedAt = Date.now();
    const late = Array.from({ length: 10 }, () => add());
    api.complete(FORM, draft.sid, { navn: 'Færdig' });
    await waitFor('the submissions after the kill', () => passed().length >= 51, leaseMsFor(INTERVAL_S * 1000) + 20_000);
    const takeover = (Date.now() - killedAt) / 1000;
    await sleep(3 * INTERVAL_S * 1000);
    console.log(
      `      poller killed: the other instance passed on what came meanwhile after ${takeover.toFixed(1)} s (lease ${leaseMsFor(INTERVAL_S * 1000) / 1000} s)`,
    );
    assert.ok(takeover <= leaseMsFor(INTERVAL_S * 1000) / 1000 + 2 * INTERVAL_S + 3, `taken over within the lease time (${takeover.toFixed(1)} s)`);
    const after = passed().filter((o) => late.some((s) => s.uuid === o.uuid) || o.uuid === draft.uuid);
    assert.ok(
      after.every((o) => o.instance !== holder),
      'passed on by the other instance',
    );
    const uuids = passed().map((o) => o.uuid);
    assert.equal(new Set(uuids).size, uuids.length, 'no submission passed on twice');
    assert.deepEqual(
      new Set(uuids),
      new Set(
        [...first, ...late, draft]
          .map((s) => s.uuid)
          .concat(uuids.filter((u) => !first.some((s) => s.uuid === u) && !late.some((s) => s.uuid === u) && u !== draft.uuid)),
      ),
    );
    assert.equal(uuids.length, 51, '50 completed + the draft once completed');
    assert.ok(uuids.includes(draft.uuid));
    assert.equal(outputs().filter((o) => o.out === 2).length, 0);
  });
});
