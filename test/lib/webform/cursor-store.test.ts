import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileCursorStore } from '../../../lib/webform/cursor-store';

describe('lib/webform/cursor-store', function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cursor-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('survives reopening, creates its directory, leaves no temporary file', async function () {
    const file = path.join(dir, 'os2-state', 'webform-in-n1.json');
    const a = await FileCursorStore.open(file);
    assert.equal(a.has('sid:1'), false);
    await Promise.all([a.add('sid:1'), a.add('sid:2'), a.add('sid:3')]);
    const b = await FileCursorStore.open(file);
    assert.deepEqual(
      ['sid:1', 'sid:2', 'sid:3'].map((k) => b.has(k)),
      [true, true, true],
    );
    assert.equal(b.size, 3);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['webform-in-n1.json']);
  });

  it('refuses a corrupt file instead of silently starting over', async function () {
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, '{"seen": [1');
    await assert.rejects(FileCursorStore.open(file), /not valid JSON/);
    fs.writeFileSync(file, '{"other": true}');
    await assert.rejects(FileCursorStore.open(file), /no "seen" list/);
  });
});
