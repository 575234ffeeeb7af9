import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteLedger } from '../../../lib/ledger/sqlite-ledger';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';
import { PgLedger } from '../../../lib/ledger/pg-ledger';
import type { Ledger } from '../../../lib/ledger/types';
import { startPostgres } from '../../support/postgres';
import type { PostgresServer } from '../../support/postgres';
import { ledgerSuite } from './ledger-suite';
import type { Backend } from './ledger-suite';

describe('Ledger backends (shared behaviour)', () => {
  describe('in-memory SQLite (tests)', () => {
    ledgerSuite(() => ({ open: async () => new MemoryLedger() }));
  });

  describe('embedded SQLite (the default)', () => {
    const dirs: string[] = [];
    after(() => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    const where = new WeakMap<Ledger, string>();
    const backend: Backend = {
      async open() {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'os2-ledger-'));
        dirs.push(dir);
        const l = new SqliteLedger(dir);
        where.set(l, dir);
        return l;
      },
      async reopen(l) {
        const dir = where.get(l)!;
        await l.close();
        const again = new SqliteLedger(dir);
        where.set(again, dir);
        return again;
      },
    };
    ledgerSuite(() => backend);
  });

  describe('postgresql', function () {
    this.timeout(60_000);
    let server: PostgresServer | undefined;
    let n = 0;
    const schemaOf = new WeakMap<Ledger, string>();
    before(async () => {
      server = await startPostgres();
    });
    after(async () => server?.release());
    const backend: Backend = {
      async open() {
        const schema = `suite_${process.pid}_${++n}`;
        const l = await PgLedger.open({ connectionString: server!.connectionString, schema });
        schemaOf.set(l, schema);
        return l;
      },
      async reopen(l) {
        const schema = schemaOf.get(l)!;
        await l.close();
        const again = await PgLedger.open({ connectionString: server!.connectionString, schema });
        schemaOf.set(again, schema);
        return again;
      },
    };
    ledgerSuite(() => (server ? backend : undefined));
  });
});
