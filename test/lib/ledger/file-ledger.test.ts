import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileLedger } from '../../../lib/ledger/file-ledger';

describe('FileLedger', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'os2-file-ledger-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the writer child until it acknowledged a random number of changes, then SIGKILLs it. */
  function runAndKill(start: number): Promise<{ acked: Map<string, Set<string>>; maxId: number }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'crash-writer.ts'), dir, String(start)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const acked = new Map<string, Set<string>>();
      let buf = '';
      let stderr = '';
      let maxId = start;
      const killAfter = 300 + Math.floor(Math.random() * 1500);
      let count = 0;
      child.stderr.on('data', (d) => (stderr += d));
      const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const line of lines) {
          const [kind, id] = line.split(' ');
          if (!id) continue;
          if (!acked.has(id)) acked.set(id, new Set());
          acked.get(id)!.add(kind!);
          maxId = Math.max(maxId, Number(id.slice(1)) + 1);
          if (++count === killAfter) child.kill('SIGKILL');
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(guard);
        if (signal !== 'SIGKILL') return reject(new Error(`writer exited ${code}: ${stderr}`));
        resolve({ acked, maxId });
      });
    });
  }

  it('loses nothing it acknowledged and duplicates nothing when killed with SIGKILL (3 kills)', async function () {
    this.timeout(90_000);
    const all = new Map<string, Set<string>>();
    let next = 0;
    for (let round = 0; round < 3; round++) {
      const { acked, maxId } = await runAndKill(next);
      for (const [id, kinds] of acked) all.set(id, kinds);
      next = maxId + 100; // ids never reused, so a duplicate would show
      const ledger = await FileLedger.open(dir);
      try {
        const shipments = await ledger.listShipments();
        const ids = shipments.map((s) => s.transactionId);
        assert.equal(new Set(ids).size, ids.length, 'no duplicate shipments');
        const byId = new Map(shipments.map((s) => [s.transactionId, s]));
        let lost = 0;
        for (const [id, kinds] of all) {
          const s = byId.get(id);
          if (!s) lost++;
          else {
            if (kinds.has('a')) assert.equal(s.attempts.length, 1, `${id}: one attempt`);
            if (kinds.has('u')) assert.equal(s.state, 'sent', `${id}: update kept`);
            assert.ok(s.attempts.length <= 1, `${id}: no duplicated attempt`);
          }
        }
        assert.equal(lost, 0, 'acknowledged shipments lost');
        assert.ok(all.size > 50, `the writer acknowledged only ${all.size} shipments`);
      } finally {
        await ledger.close();
      }
    }
  });

  it('cuts off a torn last line and keeps everything before it', async () => {
    const l = await FileLedger.open(dir);
    await l.createShipment({ transactionId: 't1', submissionId: 's1', state: 'queued' });
    await l.createShipment({ transactionId: 't2', submissionId: 's2', state: 'queued' });
    await l.close();
    const journal = path.join(dir, 'journal.jsonl');
    const good = statSync(journal).size;
    appendFileSync(journal, '{"n":3,"op":{"o":"create","s":{"transactionId":"t3","subm');
    const again = await FileLedger.open(dir);
    assert.equal(again.tornLinesDropped, 1);
    assert.deepEqual((await again.listShipments()).map((s) => s.transactionId).sort(), ['t1', 't2']);
    assert.equal(statSync(journal).size, good, 'the torn tail was truncated');
    await again.createShipment({ transactionId: 't3', submissionId: 's3', state: 'queued' });
    await again.close();
    const third = await FileLedger.open(dir);
    assert.equal((await third.listShipments()).length, 3);
    await third.close();
  });

  it('refuses a journal damaged before its end instead of dropping data', async () => {
    const l = await FileLedger.open(dir);
    for (const t of ['t1', 't2', 't3']) await l.createShipment({ transactionId: t, submissionId: t, state: 'queued' });
    await l.close();
    const journal = path.join(dir, 'journal.jsonl');
    const lines = readFileSync(journal, 'utf8').split('\n');
    lines[1] = '{garbage';
    writeFileSync(journal, lines.join('\n'));
    await assert.rejects(FileLedger.open(dir), /journal .* is damaged at line 2/);
  });

  it('compacts into a snapshot and replays snapshot + journal on open', async () => {
    const l = await FileLedger.open(dir, { compactBytes: 4096 });
    for (let i = 0; i < 100; i++) await l.createShipment({ transactionId: `t${i}`, submissionId: 's', state: 'queued', request: 'y'.repeat(100) });
    await l.updateShipment('t5', { state: 'sent' });
    await l.close();
    assert.ok(statSync(path.join(dir, 'snapshot.json')).size > 10_000);
    assert.ok(statSync(path.join(dir, 'journal.jsonl')).size < 4096 + 1024);
    const again = await FileLedger.open(dir);
    assert.equal((await again.listShipments()).length, 100);
    assert.equal((await again.getShipment('t5'))?.state, 'sent');
    await again.close();
  });

  it('compacts on request while writes go on, losing none of them', async () => {
    const l = await FileLedger.open(dir);
    const writes = Array.from({ length: 200 }, (_, i) => l.createShipment({ transactionId: `t${i}`, submissionId: 's', state: 'queued' }));
    await Promise.all([l.compact(), ...writes, l.compact()]);
    await l.createShipment({ transactionId: 'after', submissionId: 's', state: 'queued' });
    await l.close();
    const again = await FileLedger.open(dir);
    assert.equal((await again.listShipments()).length, 201);
    await again.close();
  });

  it('refuses a second opener while the first holds it, and takes over a stale lock', async () => {
    const l = await FileLedger.open(dir);
    await assert.rejects(FileLedger.open(dir), /already open in this process/);
    await l.close();
    writeFileSync(path.join(dir, 'LOCK'), `${process.ppid}@${os.hostname()}`);
    await assert.rejects(FileLedger.open(dir), new RegExp(`in use by process ${process.ppid}`));
    writeFileSync(path.join(dir, 'LOCK'), `999999999@${os.hostname()}`);
    const taken = await FileLedger.open(dir);
    await taken.close();
    await assert.rejects(taken.getShipment('x'), /closed/);
  });

  it('group-commits concurrent changes (1,000 creates in far fewer than 1,000 journal flushes)', async () => {
    const l = await FileLedger.open(dir);
    let syncs = 0;
    const fh = (l as unknown as { journal: { datasync: () => Promise<void> } }).journal;
    const orig = fh.datasync.bind(fh);
    fh.datasync = async () => {
      syncs++;
      return orig();
    };
    await Promise.all(Array.from({ length: 1000 }, (_, i) => l.createShipment({ transactionId: `t${i}`, submissionId: 's', state: 'queued' })));
    assert.equal((await l.listShipments()).length, 1000);
    assert.ok(syncs < 100, `${syncs} fsyncs`);
    await l.close();
  });
});
