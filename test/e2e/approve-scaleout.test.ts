// approve on two real Node-RED processes sharing one PostgreSQL ledger, with Node-RED's own admin users as login:
// items that arrived on either instance are listed and decided on either; each outcome leaves exactly once; a user
// without the permission os2-approve.write is refused; two people deciding one item at once: the first wins.
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { type Collector, startCollector } from '../support/collector';
import { RedProcess } from '../support/node-red';
import { startPostgres, type PostgresServer } from '../support/postgres';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('approve: two Node-RED instances on one PostgreSQL ledger, Node-RED users as login', function () {
  this.timeout(120_000);
  let pg: PostgresServer | undefined;
  let tmp: string;
  let collector: Collector<{ instance: string; out: number; id: string; by?: string }>;
  const reds: RedProcess[] = [];
  const outputs = () => collector.received;

  before(async function () {
    pg = await startPostgres();
    if (!pg) return this.skip(); // only when PostgreSQL is not installed and CI is not set (startPostgres throws under CI=true)
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-approve-'));
    collector = await startCollector();
  });
  after(async () => {
    await Promise.all(reds.map((r) => r.stop()));
    collector?.close();
    await pg?.release();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function login(red: RedProcess, username: string, password: string): Promise<{ status: number; cookie?: string }> {
    const form = await (await fetch(`${red.url}/godkend/login`)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(form)![1]!;
    const res = await fetch(`${red.url}/godkend/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password, csrf }).toString(),
      redirect: 'manual',
    });
    await res.arrayBuffer();
    return { status: res.status, cookie: res.headers.get('set-cookie')?.split(';')[0] };
  }
  async function page(red: RedProcess, cookie: string, p = '/godkend/'): Promise<string> {
    const res = await fetch(`${red.url}${p}`, { headers: { cookie }, redirect: 'manual' });
    assert.equal(res.status, 200, `GET ${p}`);
    return res.text();
  }
  async function decide(red: RedProcess, cookie: string, id: string, decision: string): Promise<number> {
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page(red, cookie, `/godkend/item/${id}`))![1]!;
    const res = await fetch(`${red.url}/godkend/item/${id}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, decision, reason: 'test' }).toString(),
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('lists and decides on either instance; each outcome leaves once; no permission, no login; the first decision wins', async function () {
    const url = collector.url;
    const report = (out: number) =>
      `msg.payload = JSON.stringify({ instance: env.get('INSTANCE'), out: ${out}, id: msg.approval.id, by: msg.approval.decidedBy }); msg.headers = { 'content-type': 'application/json' }; return msg;`;
    const users = [
      { username: 'sagsbehandler', password: bcrypt.hashSync('hemmeligt-1', 8), permissions: ['os2-approve.write'] },
      { username: 'laeser', password: bcrypt.hashSync('hemmeligt-2', 8), permissions: ['read'] },
    ];
    for (const name of ['A', 'B']) {
      reds.push(
        new RedProcess({
          userDir: path.join(tmp, name),
          readyPath: '/godkend/logout',
          env: { INSTANCE: name },
          settings: { adminAuth: { type: 'credentials', users } },
          flows: [
            { id: 't', type: 'tab', label: 'approve' },
            { id: 'L', type: 'os2-ledger', backend: 'postgresql', retentionDays: '0' },
            { id: 'in', z: 't', type: 'http in', method: 'post', url: '/in', wires: [['ap', 'ok']] },
            { id: 'ok', z: 't', type: 'http response', statusCode: '202', wires: [] },
            {
              id: 'ap',
              z: 't',
              type: 'os2-approve',
              path: '/godkend',
              queue: 'ansoegninger',
              auth: 'admin',
              ledger: 'L',
              fields: 'Navn = payload.navn',
              titleTemplate: 'Ansøgning fra {{payload.navn}}',
              pollSeconds: 0.2,
              wires: [['r1'], ['r2'], ['r3'], [], ['r5']],
            },
            ...[1, 2, 3, 5].map((n) => ({ id: `r${n}`, z: 't', type: 'function', func: report(n), outputs: 1, wires: [['h']] })),
            { id: 'h', z: 't', type: 'http request', method: 'POST', ret: 'txt', url, wires: [[]] },
          ],
          credentials: { L: { connectionString: pg!.connectionString } },
        }),
      );
    }
    await Promise.all(reds.map((r) => r.start()));
    const [A, B] = reds as [RedProcess, RedProcess];
    for (const [red, navn] of [
      [A, 'Ada'],
      [A, 'Bo'],
      [A, 'Cai'],
      [B, 'Dea'],
      [B, 'Eik'],
    ] as const) {
      const r = await fetch(`${red.url}/in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ navn }) });
      assert.equal(r.status, 202);
    }
    const waiting = () => outputs().filter((o) => o.out === 5);
    for (let i = 0; i < 100 && waiting().length < 5; i++) await sleep(100);
    assert.equal(waiting().length, 5);

    assert.equal((await login(B, 'laeser', 'hemmeligt-2')).status, 401, 'a user without the permission is refused');
    assert.equal((await login(B, 'sagsbehandler', 'forkert')).status, 401, 'a wrong password is refused');
    const forged = await fetch(`${B.url}/godkend/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'sagsbehandler', password: 'hemmeligt-1' }).toString(),
      redirect: 'manual',
    });
    assert.equal(forged.status, 403, 'a login posted from elsewhere (no CSRF token) is refused');
    const anonymous = await fetch(`${B.url}/godkend/`, { redirect: 'manual' });
    assert.equal(anonymous.status, 303, 'no session: to the login form');
    const onB = await login(B, 'sagsbehandler', 'hemmeligt-1');
    assert.equal(onB.status, 303, B.log.slice(-2000));
    const onA = await login(A, 'sagsbehandler', 'hemmeligt-1');
    const list = await page(B, onB.cookie!);
    for (const navn of ['Ada', 'Bo', 'Cai', 'Dea', 'Eik']) assert.match(list, new RegExp(`Ansøgning fra ${navn}`), `${navn} listed on B`);

    const ids = waiting().map((o) => o.id);
    // one item decided on both instances at once: one decision wins
    const both = await Promise.all([decide(A, onA.cookie!, ids[0]!, 'approve'), decide(B, onB.cookie!, ids[0]!, 'reject')]);
    assert.deepEqual([...both].sort(), [200, 409]);
    // the rest decided on B, whichever instance they arrived on
    for (const id of ids.slice(1)) assert.equal(await decide(B, onB.cookie!, id, id === ids[1] ? 'reject' : 'approve'), 200);
    const decided = () => outputs().filter((o) => o.out === 1 || o.out === 2);
    for (let i = 0; i < 100 && decided().length < 5; i++) await sleep(100);
    await sleep(1000);
    assert.equal(decided().length, 5, 'each outcome leaves once across both instances');
    assert.deepEqual(new Set(decided().map((o) => o.id)), new Set(ids));
    assert.ok(decided().every((o) => o.by === 'sagsbehandler'));
    assert.equal(outputs().filter((o) => o.out === 2 && o.id === ids[1]).length, 1);
  });
});
