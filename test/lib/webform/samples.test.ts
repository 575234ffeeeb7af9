// The samples webform in keeps for the map dialog: the last 5 per webform, newest first, 7 days at most, no file contents.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openEmbedded } from '../../../lib/ledger/embedded';
import type { Ledger } from '../../../lib/ledger/types';
import type { Submission } from '../../../lib/sf2900/model';
import { recordSample, SAMPLE_EVERY_MS, SAMPLE_MAX_AGE_MS, SampleStore, STAND_IN_PDF, sampleForDisplay, sampleForMapping } from '../../../lib/webform/samples';

const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(3000, 7), Buffer.from('\n%%EOF\n')]);
const PDF_B64 = PDF.toString('base64');

function submission(n: number, webformId = 'ansoegning'): Submission {
  return {
    webform: { id: webformId },
    submission: { uuid: `0000000${n % 10}-aaaa-4bbb-8ccc-${String(n).padStart(12, '0')}`, completed: '2026-12-01T10:00:00Z' },
    data: { navn: `Borger ${n}`, cpr: '010203-1234', scannet: PDF_B64 },
    files: [{ element: 'pdf', name: `ansøgning ${n}.pdf`, mime: 'application/pdf', content: PDF }],
  };
}

describe('samples (lib/webform/samples.ts) on the embedded SQLite ledger', () => {
  let dir: string;
  let ledger: Ledger;
  let release: () => Promise<void>;
  let clock: number;
  const now = () => clock;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-samples-'));
    ({ ledger, release } = await openEmbedded(dir));
    clock = Date.parse('2026-12-06T12:00:00Z');
  });
  afterEach(async () => {
    await release();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the last 5 per webform, newest first, each webform apart', async () => {
    const store = new SampleStore(ledger, { now });
    for (let n = 1; n <= 7; n++) {
      clock += 60_000;
      assert.equal(await store.record(submission(n)), true);
    }
    clock += 60_000;
    await store.record(submission(8, 'klage'));
    const ansoegning = await store.ofWebform('ansoegning');
    assert.deepEqual(
      ansoegning.map((s) => s.submission.data.navn),
      ['Borger 7', 'Borger 6', 'Borger 5', 'Borger 4', 'Borger 3'],
    );
    const list = await store.list();
    assert.equal(list.length, 6);
    assert.equal(list[0].webformId, 'klage', 'newest first across webforms');
    assert.deepEqual(
      list.slice(1).map((s) => s.seq),
      [7, 6, 5, 4, 3],
    );
    // the label: webform, time, the uuid's first 8 characters — nothing the citizen wrote
    assert.equal(list[1].label, 'ansoegning · 2026-12-06 12:07 UTC · 00000007');
    assert.ok(!JSON.stringify(list).includes('Borger') && !JSON.stringify(list).includes('1234'));
  });

  it('the same submission again replaces its earlier sample', async () => {
    const store = new SampleStore(ledger, { now });
    await store.record(submission(1));
    clock += 1000;
    const again = submission(1);
    again.submission.revision = 2;
    await store.record(again);
    const all = await store.ofWebform('ansoegning');
    assert.equal(all.length, 1);
    assert.equal(all[0].submission.submission.revision, 2);
  });

  it('never stores file contents: the record has the file name and size, not the PDF or its base64', async () => {
    const store = new SampleStore(ledger, { now });
    await store.record(submission(1));
    const raw = JSON.stringify((await ledger.getRecord(SampleStore.keyOf('ansoegning')))!.value);
    assert.ok(!raw.includes(PDF_B64.slice(0, 200)), 'no base64 of the PDF');
    assert.ok(!raw.includes(PDF_B64.slice(1000, 1100)), 'no part of it either');
    assert.ok(!raw.includes('"type":"Buffer"'), 'no serialised Buffer');
    const [s] = await store.ofWebform('ansoegning');
    assert.deepEqual(s.submission.files, [{ element: 'pdf', name: 'ansøgning 1.pdf', mime: 'application/pdf', size: PDF.length, contentElided: true }]);
    assert.match(String(s.submission.data.scannet), /^\[file content left out: /, 'a base64 value in the data is left out too');
  });

  it('shows CPR numbers masked, maps them unmasked, and maps a stand-in PDF for the file', async () => {
    const store = new SampleStore(ledger, { now });
    await store.record(submission(1));
    const [s] = await store.ofWebform('ansoegning');
    const shown = sampleForDisplay(s);
    assert.equal(shown.data.cpr, '******-****');
    assert.ok(!JSON.stringify(shown).includes('010203'));
    const mapped = sampleForMapping(s);
    assert.equal(mapped.data.cpr, '010203-1234');
    assert.ok(Buffer.isBuffer(mapped.files[0].content));
    assert.ok(mapped.files[0].content!.equals(STAND_IN_PDF));
    assert.equal(mapped.files[0].content!.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.equal(mapped.files[0].size, PDF.length);
  });

  it('samples expire after 7 days: left out when read, removed by the sweep', async () => {
    const store = new SampleStore(ledger, { now });
    await store.record(submission(1));
    clock += 3 * 86_400_000;
    await store.record(submission(2, 'klage'));
    clock += 4 * 86_400_000 + 1000; // the first is now 7 days and a second old
    assert.deepEqual(
      (await store.list()).map((s) => s.webformId),
      ['klage'],
    );
    assert.ok(JSON.stringify((await ledger.getRecord(SampleStore.keyOf('ansoegning')))!.value).includes('Borger 1'), 'still stored before the sweep');
    assert.equal(await store.sweep(), 1);
    const stored = JSON.stringify((await ledger.getRecord(SampleStore.keyOf('ansoegning')))!.value);
    assert.ok(!stored.includes('Borger 1'), 'gone from the ledger after the sweep');
    assert.deepEqual((await ledger.getRecord('webform-in:samples-index'))!.value, { webforms: ['klage'] });
    // a longer age than 7 days cannot be configured
    const lax = new SampleStore(ledger, { now, maxAgeMs: 30 * 86_400_000 });
    clock += SAMPLE_MAX_AGE_MS;
    assert.deepEqual(await lax.list(), []);
    // recording drops expired entries of its webform too
    await store.record(submission(3, 'klage'));
    assert.deepEqual(
      (await store.ofWebform('klage')).map((s) => s.seq),
      [2],
    );
    assert.equal(((await ledger.getRecord(SampleStore.keyOf('klage')))!.value as { samples: unknown[] }).samples.length, 1);
  });

  it('two writers on one ledger: every write lands once, 5 kept, sequence numbers unique', async () => {
    const a = new SampleStore(ledger, { now });
    const b = new SampleStore(ledger, { now });
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => (n % 2 ? a : b).record(submission(n))));
    assert.deepEqual(results, [true, true, true, true, true, true]);
    const stored = (await ledger.getRecord(SampleStore.keyOf('ansoegning')))!;
    const ring = stored.value as { next: number; samples: Array<{ seq: number; submission: Submission }> };
    assert.equal(ring.next, 7, 'six writes, each counted once');
    assert.equal(ring.samples.length, 5);
    assert.deepEqual(
      ring.samples.map((s) => s.seq),
      [6, 5, 4, 3, 2],
    );
    assert.equal(new Set(ring.samples.map((s) => s.submission.submission.uuid)).size, 5);
    // and the index knows both webforms written at the same time
    await Promise.all([a.record(submission(7, 'x')), b.record(submission(8, 'y'))]);
    assert.deepEqual(((await ledger.getRecord('webform-in:samples-index'))!.value as { webforms: string[] }).webforms.sort(), ['ansoegning', 'x', 'y']);
  });

  it('at volume, one sample per webform per 10 s: the first is kept, the next ones within the interval are not, each webform apart', async () => {
    const t0 = Date.parse('2026-12-06T12:00:00Z');
    const logs: string[] = [];
    const settle = () => new Promise((r) => setTimeout(r, 100));
    recordSample(
      () => ledger,
      submission(1),
      (t) => logs.push(t),
      t0,
    );
    recordSample(
      () => ledger,
      submission(2),
      (t) => logs.push(t),
      t0 + 1_000,
    );
    recordSample(
      () => ledger,
      submission(3, 'other'),
      (t) => logs.push(t),
      t0 + 1_000,
    );
    await settle();
    const store = new SampleStore(ledger);
    assert.deepEqual(
      (await store.list()).map((x) => [x.webformId, x.label.slice(-8)]).sort(),
      [
        ['ansoegning', '00000001'],
        ['other', '00000003'],
      ].sort(),
    );
    recordSample(
      () => ledger,
      submission(4),
      (t) => logs.push(t),
      t0 + SAMPLE_EVERY_MS,
    );
    await settle();
    assert.equal((await store.list()).filter((x) => x.webformId === 'ansoegning').length, 2);
    assert.deepEqual(logs, []);
  });

  it('gives up silently when another writer always wins', async () => {
    let puts = 0;
    const busy: Ledger = Object.create(ledger, {
      putRecord: {
        value: async () => {
          puts++;
          return false;
        },
      },
    });
    assert.equal(await new SampleStore(busy, { now }).record(submission(1)), false);
    assert.ok(puts > 1 && puts < 20, `retried a few times (${puts})`);
  });
});
