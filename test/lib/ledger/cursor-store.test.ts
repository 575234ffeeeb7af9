import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LedgerCursorStore } from '../../../lib/ledger/cursor-store';
import { SqliteLedger } from '../../../lib/ledger/sqlite-ledger';

describe('LedgerCursorStore (webform in fetch cursor in the ledger)', () => {
  it('remembers emitted submissions across a restart, per scope', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'os2-cursor-'));
    try {
      const l1 = new SqliteLedger(dir);
      const c1 = await LedgerCursorStore.open(l1, 'https://site/form-a');
      assert.equal(c1.has('1'), false);
      await c1.add('1');
      await c1.add('2');
      await c1.add('2');
      assert.equal(c1.has('2'), true);
      assert.equal(c1.size, 2);
      await l1.close();
      const l2 = new SqliteLedger(dir);
      const c2 = await LedgerCursorStore.open(l2, 'https://site/form-a');
      assert.equal(c2.has('1'), true);
      assert.equal(c2.size, 2);
      assert.equal((await LedgerCursorStore.open(l2, 'https://site/form-b')).size, 0);
      await l2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
