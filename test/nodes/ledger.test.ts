import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import ledgerNode from '../../nodes/ledger/ledger';
import { SqliteLedger } from '../../lib/ledger/sqlite-ledger';
import type { Ledger } from '../../lib/ledger/types';
import { startPostgres } from '../support/postgres';
import type { PostgresServer } from '../support/postgres';

interface LedgerNode {
  configError?: string;
  ready: Promise<Ledger>;
  ledger(): Ledger;
}

describe('os2-ledger config node', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'os2-ledger-node-'));
  });
  afterEach(async () => {
    await helper.unload();
    rmSync(dir, { recursive: true, force: true });
  });

  const load = (cfg: Record<string, unknown>, creds: Record<string, unknown> = {}) =>
    helper.load(ledgerNode, [{ id: 'l1', type: 'os2-ledger', name: 'ledger', ...cfg }], { l1: creds });

  it('opens an embedded ledger, exposes ledger() at once, and releases it on redeploy with the data kept', async () => {
    await load({ backend: 'embedded', path: dir, retentionDays: 0 });
    const n = helper.getNode('l1') as unknown as LedgerNode;
    const ledger = n.ledger(); // usable before it finished opening
    await ledger.createShipment({ transactionId: 't1', submissionId: 's1', state: 'queued' });
    assert.equal(n.configError, undefined);
    await helper.unload();
    const reopened = new SqliteLedger(dir); // lock released by close
    assert.equal((await reopened.getShipment('t1'))?.state, 'queued');
    await reopened.close();
  });

  it('exports CSV and JSON through the admin endpoint, CPR masked; rejects a bad format and an unknown id', async () => {
    await load({ backend: 'embedded', path: dir, retentionDays: 0 });
    const ledger = (helper.getNode('l1') as unknown as LedgerNode).ledger();
    await ledger.createShipment({ transactionId: 't1', submissionId: 's1', state: 'failed', lastError: 'bad CPR 2412249999', request: '<file>SECRET</file>' });
    const csv = await helper.request().get('/os2-ledger/l1/export?format=csv').expect(200);
    assert.match(csv.headers['content-type'], /text\/csv/);
    assert.match(csv.headers['content-disposition'], /attachment; filename="os2-ledger-.*\.csv"/);
    assert.match(csv.text, /t1,,s1,,,failed,/);
    assert.match(csv.text, /bad CPR 241224-XXXX/);
    assert.doesNotMatch(csv.text, /9999|SECRET/);
    const json = await helper.request().get('/os2-ledger/l1/export?format=json&state=failed').expect(200);
    assert.deepEqual(
      JSON.parse(json.text).shipments.map((s: { transactionId: string }) => s.transactionId),
      ['t1'],
    );
    await helper.request().get('/os2-ledger/l1/export?format=xml').expect(400);
    await helper.request().get('/os2-ledger/l1/export?since=yesterday').expect(400);
    await helper.request().get('/os2-ledger/nope/export').expect(404);
  });

  it("exports the approve nodes' audit (?what=approvals): who decided what, when, why, corrections; CPR masked, no messages", async () => {
    await load({ backend: 'embedded', path: dir, retentionDays: 0 });
    const ledger = (helper.getNode('l1') as unknown as LedgerNode).ledger();
    const at = new Date().toISOString();
    await ledger.addApproval({ id: 'a1', queue: 'q', title: 'Ansøgning 2412249999', createdAt: at, deadlineAt: at, view: {}, msg: { payload: 'SECRET' } });
    await ledger.addApproval({ id: 'a2', queue: 'q', title: 'Ansøgning 2', createdAt: at, deadlineAt: at, view: {}, msg: { payload: 'SECRET' } });
    await ledger.decideApproval('a1', { state: 'approved', by: 'sagsbehandler', at, reason: 'ok, CPR 2412249999', edits: { Postnummer: '8210' } });
    const csv = await helper.request().get('/os2-ledger/l1/export?format=csv&what=approvals').expect(200);
    assert.match(csv.headers['content-disposition'], /filename="os2-approvals-.*\.csv"/);
    assert.match(csv.text, /^id,queue,title,state,createdAt,deadlineAt,decidedBy,decidedAt,reason,corrections\r\n/);
    assert.match(csv.text, /a1,q,Ansøgning 241224-XXXX,approved,.*,sagsbehandler,.*"ok, CPR 241224-XXXX","\{""Postnummer"":""8210""\}"/);
    assert.match(csv.text, /a2,q,Ansøgning 2,waiting,/);
    assert.doesNotMatch(csv.text, /9999|SECRET/);
    const json = JSON.parse((await helper.request().get('/os2-ledger/l1/export?format=json&what=approvals').expect(200)).text);
    assert.deepEqual(
      json.approvals.map((a: { id: string; decidedBy?: string }) => [a.id, a.decidedBy ?? null]),
      [
        ['a1', 'sagsbehandler'],
        ['a2', null],
      ],
    );
  });

  it('purges finished shipments past the retention period when it starts', async () => {
    const old = new SqliteLedger(dir, { now: () => new Date(Date.now() - 10 * 86_400_000) });
    await old.createShipment({ transactionId: 'old', submissionId: 's', state: 'accepted' });
    await old.createShipment({ transactionId: 'old-but-queued', submissionId: 's', state: 'queued' });
    await old.close();
    await load({ backend: 'embedded', path: dir, retentionDays: 5 });
    const ledger = (helper.getNode('l1') as unknown as LedgerNode).ledger();
    await ledger.createShipment({ transactionId: 'new', submissionId: 's', state: 'accepted' });
    for (let i = 0; i < 50 && (await ledger.getShipment('old')); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual((await ledger.listShipments()).map((s) => s.transactionId).sort(), ['new', 'old-but-queued']);
  });

  it('says clearly when the embedded directory is taken or PostgreSQL has no connection string', async () => {
    const holder = new SqliteLedger(dir);
    try {
      await load({ backend: 'embedded', path: dir });
      const n = helper.getNode('l1') as unknown as LedgerNode;
      await assert.rejects(n.ready, /in use/);
      assert.match(n.configError ?? '', /ledger could not be opened: .*in use/);
      await assert.rejects(n.ledger().listShipments(), /in use/);
    } finally {
      await holder.close();
    }
    await helper.unload();
    delete process.env.OS2_TEST_NO_SUCH_VAR;
    await load({ backend: 'postgresql', connectionEnv: 'OS2_TEST_NO_SUCH_VAR' });
    const n = helper.getNode('l1') as unknown as LedgerNode;
    assert.match(n.configError ?? '', /no PostgreSQL connection string: set the credential or the environment variable OS2_TEST_NO_SUCH_VAR/);
    assert.throws(() => n.ledger(), /OS2_TEST_NO_SUCH_VAR/);
  });

  describe('with PostgreSQL', () => {
    let server: PostgresServer | undefined;
    before(async () => {
      server = await startPostgres();
    });
    after(async () => server?.release());

    it('connects with the connection string from an environment variable or the credential', async function () {
      if (!server) return this.skip();
      process.env.OS2_TEST_LEDGER_URL = server.connectionString;
      try {
        await load({ backend: 'postgresql', connectionEnv: 'OS2_TEST_LEDGER_URL', schema: 'node_env' });
        const ledger = await (helper.getNode('l1') as unknown as LedgerNode).ready;
        assert.equal((await ledger.createShipment({ transactionId: 'p1', submissionId: 's', state: 'queued' })).created, true);
        await helper.unload();
        await load({ backend: 'postgresql', schema: 'node_env' }, { connectionString: server.connectionString });
        const again = (helper.getNode('l1') as unknown as LedgerNode).ledger();
        assert.equal((await again.getShipment('p1'))?.state, 'queued');
      } finally {
        delete process.env.OS2_TEST_LEDGER_URL;
      }
    });
  });
});
