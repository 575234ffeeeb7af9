// webform in's intake (lib/webform/intake.ts): a submission passed on is kept in the push inbox in the same write as
// its record, so two instances taking the same submission at once pass it on once and keep its entry.
import { strict as assert } from 'node:assert';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';
import type { InboxInput } from '../../../lib/ledger/types';
import type { Submission } from '../../../lib/sf2900/model';
import { Intake, type PassDecision } from '../../../lib/webform/intake';

const submission = (navn: string): Submission => ({
  webform: { id: 'ansoegning' },
  submission: { uuid: '4f1c2d3e-aaaa-4bbb-8ccc-000000000001', completed: '2026-12-01T10:00:00Z' },
  data: { navn },
  files: [],
});

/** The inbox entry webform in keeps for a pass: one id per submission and revision. */
const entry =
  (s: Submission, by: string) =>
  (d: PassDecision): InboxInput => ({ id: `${s.submission.uuid}:${d.revision}`, webformId: s.webform.id, payload: { by, navn: s.data.navn } });

describe('intake (lib/webform/intake.ts)', () => {
  let ledger: MemoryLedger;
  beforeEach(() => {
    ledger = new MemoryLedger();
  });
  afterEach(() => ledger.close());

  it('keeps the inbox entry with the record that passes the submission on', async () => {
    const s = submission('Åse');
    const d = await new Intake(ledger).take(s, 'completed', entry(s, 'A'));
    assert.deepEqual(d, { action: 'pass', state: 'completed', revision: 0 });
    assert.deepEqual(
      (await ledger.pendingInbox()).map((e) => [e.id, e.payload]),
      [[`${s.submission.uuid}:0`, { by: 'A', navn: 'Åse' }]],
    );
    // the same submission again: a repeat, nothing more kept
    assert.equal((await new Intake(ledger).take(s, 'completed', entry(s, 'A'))).action, 'skip');
    assert.equal((await ledger.pendingInbox()).length, 1);
  });

  it('two instances at once: the one whose record is written passes it on; the other skips and leaves its entry alone', async () => {
    const s = submission('Åse');
    const a = new Intake(ledger);
    const b = new Intake(ledger);
    // B takes the submission between A's read and A's write (as another instance sharing the ledger would)
    const put = ledger.putRecord.bind(ledger);
    let raced = false;
    ledger.putRecord = async (key, value, version, inbox) => {
      if (!raced && inbox?.payload && (inbox.payload as { by: string }).by === 'A') {
        raced = true;
        assert.equal((await b.take(s, 'completed', entry(s, 'B'))).action, 'pass');
      }
      return put(key, value, version, inbox);
    };
    const decided = await a.take(s, 'completed', entry(s, 'A'));
    assert.equal(raced, true);
    assert.deepEqual(decided, { action: 'skip', state: 'completed', reason: 'repeat' }, 'decided again on what B wrote');
    assert.deepEqual(
      (await ledger.pendingInbox()).map((e) => [e.id, e.payload]),
      [[`${s.submission.uuid}:0`, { by: 'B', navn: 'Åse' }]],
      "B's entry is kept, once",
    );
    assert.equal((await ledger.getRecord(Intake.keyOf(s)))?.version, 1);
  });

  it('a change passed on as a new revision (updates: pass) is kept under that revision', async () => {
    const first = submission('Åse');
    const intake = new Intake(ledger, { drafts: 'ignore', updates: 'pass' });
    await intake.take(first, 'completed', entry(first, 'A'));
    const changed = submission('Åse Ærø');
    const d = await intake.take(changed, 'updated', entry(changed, 'A'));
    assert.deepEqual(d, { action: 'pass', state: 'updated', revision: 1 });
    assert.deepEqual(
      (await ledger.pendingInbox()).map((e) => e.id),
      [`${first.submission.uuid}:0`, `${first.submission.uuid}:1`],
    );
  });
});
