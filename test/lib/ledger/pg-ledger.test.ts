import assert from 'node:assert/strict';
import { PgLedger } from '../../../lib/ledger/pg-ledger';
import { startPostgres } from '../../support/postgres';
import type { PostgresServer } from '../../support/postgres';

describe('PgLedger (several instances on one database)', function () {
  this.timeout(120_000);
  let server: PostgresServer | undefined;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => server?.release());
  beforeEach(function () {
    if (!server) this.skip();
  });

  it('two instances claiming 500 queued items concurrently claim each exactly once', async () => {
    const schema = `claims_${process.pid}`;
    const [a, b] = await Promise.all([
      PgLedger.open({ connectionString: server!.connectionString, schema, max: 4 }),
      PgLedger.open({ connectionString: server!.connectionString, schema, max: 4 }),
    ]);
    try {
      const due = new Date(Date.now() - 1000);
      for (let i = 0; i < 500; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => a.enqueue(`t${i + j}`, due)));
      }
      const claimed = new Map<string, string[]>();
      const worker = async (ledger: PgLedger, owner: string) => {
        for (;;) {
          const items = await ledger.claimDue(owner, 7, 60_000);
          if (!items.length) return;
          for (const w of items) {
            claimed.set(w.transactionId, [...(claimed.get(w.transactionId) ?? []), owner]);
            assert.equal(await ledger.release(w.transactionId, owner), true);
          }
        }
      };
      await Promise.all([worker(a, 'a1'), worker(a, 'a2'), worker(b, 'b1'), worker(b, 'b2')]);
      assert.equal(claimed.size, 500, 'every item claimed');
      const twice = [...claimed].filter(([, owners]) => owners.length > 1);
      assert.deepEqual(twice, [], 'no item claimed twice');
      const owners = new Set([...claimed.values()].flat());
      assert.ok(owners.has('a1') || owners.has('a2'));
      assert.ok(owners.has('b1') || owners.has('b2'), 'both instances took work');
      assert.deepEqual(await a.listQueue(), []);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('two instances creating the same 200 shipments concurrently create each exactly once', async () => {
    const schema = `creates_${process.pid}`;
    const [a, b] = await Promise.all([
      PgLedger.open({ connectionString: server!.connectionString, schema }),
      PgLedger.open({ connectionString: server!.connectionString, schema }),
    ]);
    try {
      const ids = Array.from({ length: 200 }, (_, i) => `t${i}`);
      const results = await Promise.all(
        ids.flatMap((t) => [a, b].map((l) => l.createShipment({ transactionId: t, submissionId: t, state: 'queued' }).then((r) => r.created))),
      );
      assert.equal(results.filter(Boolean).length, 200);
      assert.equal((await b.listShipments()).length, 200);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('explains an unreachable database and a bad schema name clearly', async () => {
    await assert.rejects(
      PgLedger.open({ connectionString: 'postgresql://nobody@127.0.0.1:1/none', schema: 'x' }),
      /Could not prepare the PostgreSQL ledger: .*ECONNREFUSED/,
    );
    await assert.rejects(PgLedger.open({ connectionString: server!.connectionString, schema: 'Bad; DROP' }), /Invalid PostgreSQL schema name/);
  });
});
