// A default embedded ledger of its own for each test of a suite (what webform in passed on per submission must not
// leak from one test into the next); the suite-wide one (test/setup.ts) is put back afterwards.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { closeDefaultLedger, defaultLedgerDir, useDefaultLedgerDir } from '../../lib/ledger/default-ledger';

export function freshDefaultLedgerPerTest(): void {
  let previous: string | undefined;
  let dir: string | undefined;
  beforeEach(async () => {
    previous = defaultLedgerDir(undefined);
    await closeDefaultLedger();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-test-ledger-'));
    useDefaultLedgerDir(dir);
  });
  afterEach(async () => {
    await closeDefaultLedger();
    useDefaultLedgerDir(previous);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
}
