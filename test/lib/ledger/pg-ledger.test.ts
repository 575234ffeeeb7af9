import assert from 'node:assert/strict';
import { DeliveryWorker } from '../../../lib/outbox/worker';
import { PgLedger } from '../../../lib/ledger/pg-ledger';
import type { ShipmentRecord } from '../../../lib/ledger/types';
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

  it('migrates a schema-version-2 ledger: the SFTP names and FileTransferUUIDs already in shipments become file keys', async () => {
    const schema = `migrate_${process.pid}`;
    const first = await PgLedger.open({ connectionString: server!.connectionString, schema });
    try {
      const meta = {
        sftp: {
          files: [
            { index: 0, sftpName: 'x.pdf', fileTransferUuid: 'ft-1' },
            { index: 1, sftpName: 'y.pdf' },
          ],
        },
      };
      await first.createShipment({ transactionId: 't-sftp', submissionId: 's', state: 'sent', meta });
      await first.createShipment({ transactionId: 't-odd', submissionId: 's', state: 'sent', meta: { sftp: { files: 'no list' } } });
    } finally {
      await first.close();
    }
    // back to what version 2 left: no file_keys table
    const pg = require('pg') as typeof import('pg');
    const c = new pg.Client({ connectionString: server!.connectionString });
    await c.connect();
    await c.query(`DROP TABLE ${schema}.file_keys; UPDATE ${schema}.ledger_info SET value = '2' WHERE name = 'schema_version'`);
    await c.end();
    const again = await PgLedger.open({ connectionString: server!.connectionString, schema });
    try {
      assert.equal((await again.findByFileKey('x.pdf'))?.transactionId, 't-sftp');
      assert.equal((await again.findByFileKey('y.pdf'))?.transactionId, 't-sftp');
      assert.equal((await again.findByFileKey('ft-1'))?.transactionId, 't-sftp');
    } finally {
      await again.close();
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

  it('two delivery workers (one per instance) sharing 500 submissions, 10 % failing transiently: each delivered exactly once', async () => {
    const schema = `delivery_${process.pid}`;
    const [a, b] = await Promise.all([
      PgLedger.open({ connectionString: server!.connectionString, schema }),
      PgLedger.open({ connectionString: server!.connectionString, schema }),
    ]);
    const delivered = new Map<string, number>();
    let failures = 0;
    const send = async (s: ShipmentRecord) => {
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      if (Math.random() < 0.1) {
        failures++;
        throw Object.assign(new Error('HTTP 503'), { statusCode: 503 });
      }
      delivered.set(s.transactionId, (delivered.get(s.transactionId) ?? 0) + 1);
      return { distributionTransactionId: `d-${s.transactionId}` };
    };
    let recorded = 0;
    const opts = { send, baseMs: 20, capMs: 100, pollMs: 20, concurrency: 8, attempts: 50, onDelivered: () => recorded++ };
    const wa = new DeliveryWorker({ ...opts, ledger: a, owner: 'instance-a' });
    const wb = new DeliveryWorker({ ...opts, ledger: b, owner: 'instance-b' });
    wa.start();
    wb.start();
    try {
      const ids = Array.from({ length: 500 }, (_, i) => `sub-${i}`);
      // every submission reaches both instances (e.g. posted twice)
      for (let i = 0; i < ids.length; i += 25) {
        await Promise.all(
          ids.slice(i, i + 25).flatMap((t) =>
            (
              [
                [a, wa],
                [b, wb],
              ] as const
            ).map(async ([l, w]) => {
              await l.createShipment({ transactionId: t, submissionId: t, state: 'queued' });
              await w.submit(t);
            }),
          ),
        );
      }
      const deadline = Date.now() + 60_000;
      // wait until every delivery is also recorded (state 'sent', out of the queue)
      while (recorded < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(delivered.size, 500, 'lost');
      assert.deepEqual(
        [...delivered].filter(([, n]) => n > 1),
        [],
        'duplicated',
      );
      assert.ok(failures > 10, `${failures} injected failures`);
      const states = new Set((await a.listShipments()).map((s) => s.state));
      assert.deepEqual([...states], ['sent']);
    } finally {
      await wa.stop();
      await wb.stop();
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

  it('says "install pg" when the optional pg package is missing', async function () {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Module = require('node:module') as { _load: (request: string, ...rest: unknown[]) => unknown };
    const original = Module._load;
    Module._load = function (request: string, ...rest: unknown[]) {
      if (request === 'pg') throw Object.assign(new Error("Cannot find module 'pg'"), { code: 'MODULE_NOT_FOUND' });
      return original.call(this, request, ...rest);
    };
    try {
      await assert.rejects(PgLedger.open({ connectionString: 'postgresql://x@127.0.0.1/x' }), /install pg to use the PostgreSQL ledger/);
    } finally {
      Module._load = original;
    }
  });
});
