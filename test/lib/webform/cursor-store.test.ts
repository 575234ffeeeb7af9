import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readLegacyCursor } from '../../../lib/webform/cursor-store';

describe('lib/webform/cursor-store (the fetch cursor file of earlier versions)', function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cursor-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the sids an earlier version recorded; no file is nothing recorded', async function () {
    const file = path.join(dir, 'webform-in-n1.json');
    assert.deepEqual(await readLegacyCursor(file), []);
    fs.writeFileSync(file, JSON.stringify({ version: 1, updated: '2026-01-01T00:00:00.000Z', seen: ['sid:1', 'sid:2', 'sid:3'] }));
    assert.deepEqual(await readLegacyCursor(file), ['sid:1', 'sid:2', 'sid:3']);
  });

  it('refuses a corrupt file instead of silently starting over', async function () {
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, '{"seen": [1');
    await assert.rejects(readLegacyCursor(file), /not valid JSON/);
    fs.writeFileSync(file, '{"other": true}');
    await assert.rejects(readLegacyCursor(file), /no "seen" list/);
  });
});
