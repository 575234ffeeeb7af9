import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, fsync, fsyncSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openEmbedded } from '../../../lib/ledger/embedded';
import { SqliteLedger } from '../../../lib/ledger/sqlite-ledger';
import { SQLITE_MIGRATIONS } from '../../../lib/ledger/sqlite-schema';
import Database from 'better-sqlite3';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('Embedded ledger (SQLite)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'os2-sqlite-ledger-'));
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

  it('loses nothing it acknowledged and duplicates nothing when killed with SIGKILL (3 kills), and the file stays sound', async function () {
    this.timeout(90_000);
    const all = new Map<string, Set<string>>();
    let next = 0;
    for (let round = 0; round < 3; round++) {
      const { acked, maxId } = await runAndKill(next);
      for (const [id, kinds] of acked) all.set(id, kinds);
      next = maxId + 100; // ids never reused, so a duplicate would show
      const ledger = new SqliteLedger(dir);
      try {
        const shipments = await ledger.listShipments({ includeBodies: true });
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
            assert.equal(s.request, 'x'.repeat(200), `${id}: request kept`);
          }
        }
        assert.equal(lost, 0, 'acknowledged shipments lost');
        assert.ok(all.size > 50, `the writer acknowledged only ${all.size} shipments`);
      } finally {
        await ledger.close();
      }
      // An independent check of the file: SQLite's own integrity check, through the sqlite3 engine in a fresh process.
      const check = spawnSync(
        process.execPath,
        [
          '-e',
          `const D=require('better-sqlite3');const d=new D(process.argv[1],{readonly:true});console.log(d.pragma('integrity_check',{simple:true}))`,
          path.join(dir, 'ledger.db'),
        ],
        { cwd: ROOT, encoding: 'utf8' },
      );
      assert.equal(check.stdout.trim(), 'ok', check.stderr);
    }
  });

  it('group-commits concurrent changes: 1,000 creates share far fewer than 1,000 commits', async () => {
    const l = new SqliteLedger(dir);
    const db = (l as unknown as { db: { pragma(s: string, o?: object): unknown } }).db;
    const before = Number(db.pragma('data_version', { simple: true }));
    let commits = 0;
    const flush = (l as unknown as { flush: () => void }).flush.bind(l);
    (l as unknown as { flush: () => void }).flush = () => {
      commits++;
      flush();
    };
    await Promise.all(Array.from({ length: 1000 }, (_, i) => l.createShipment({ transactionId: `t${i}`, submissionId: 's', state: 'queued' })));
    assert.equal(await l.countShipments(), 1000);
    assert.ok(commits < 20, `${commits} commits`);
    assert.ok(Number.isFinite(before));
    await l.close();
  });

  it('bounds one commit by size: large bodies go a few at a time, the event loop running in between', async () => {
    const l = new SqliteLedger(dir);
    let commits = 0;
    const flush = (l as unknown as { flush: () => void }).flush.bind(l);
    (l as unknown as { flush: () => void }).flush = () => {
      commits++;
      flush();
    };
    const pdf = 'J'.repeat(1_400_000); // a FORMULAR's request with a 1 MB PDF inline
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    await Promise.all(Array.from({ length: 16 }, (_, i) => l.createShipment({ transactionId: `f${i}`, submissionId: 's', state: 'queued', request: pdf })));
    clearInterval(ticker);
    assert.ok(commits >= 5, `${commits} commits for 16 × 1.4 MB (at most 4 MB each)`);
    assert.ok(ticks > 0, 'timers ran between the commits');
    assert.equal(await l.countShipments(), 16);
    await l.close();
  });

  it('checkpoints the WAL beside the writer, never on its event loop, and keeps the WAL bounded', async () => {
    const l = new SqliteLedger(dir);
    const db = (l as unknown as { db: { pragma(s: string, o?: object): unknown } }).db;
    const pragma = db.pragma.bind(db);
    let onLoop = 0;
    db.pragma = (s: string, o?: object) => {
      if (/checkpoint/i.test(s)) onLoop++;
      return pragma(s, o);
    };
    const file = path.join(dir, 'ledger.db');
    const before = statSync(file).size;
    const body = 'b'.repeat(20_000);
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => l.createShipment({ transactionId: `c${round}-${i}`, submissionId: 's', state: 'queued', request: body })),
      );
    }
    // 20 MB written: the main connection never copies the WAL (wal_autocheckpoint=0), so the file grows only if the
    // checkpoint thread did it
    const deadline = Date.now() + 5000;
    while (statSync(file).size < before + 15_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(statSync(file).size >= before + 15_000_000, `ledger.db grew from ${before} to ${statSync(file).size} bytes`);
    assert.equal(onLoop, 0, 'no checkpoint on the event loop');
    assert.ok(statSync(`${file}-wal`).size <= 64 * 1048576 + 1048576, 'the WAL stays within its limit');
    await l.close();
    assert.ok(!existsSync(`${file}-wal`), 'closed cleanly: the WAL was merged and removed');
  });

  it('under writes that never pause, the writer holds briefly for a catch-up checkpoint, so the WAL starts over', async () => {
    // 2 MB instead of 64 MB, so that a short test reaches it
    const l = new SqliteLedger(dir, { checkpoint: { everyMs: 20, holdFrames: 500 } });
    const wal = path.join(dir, 'ledger.db-wal');
    const body = 'w'.repeat(15_000);
    let maxWal = 0;
    let written = 0;
    const end = Date.now() + 1500;
    await Promise.all(
      Array.from({ length: 64 }, async (_, k) => {
        for (let i = 0; Date.now() < end; i++) {
          await l.createShipment({ transactionId: `w${k}-${i}`, submissionId: 's', state: 'queued', request: body });
          written++;
          if (i % 10 === 0) maxWal = Math.max(maxWal, existsSync(wal) ? statSync(wal).size : 0);
        }
      }),
    );
    const { holds, longestHoldMs } = (l as unknown as { checkpointer: { holds: number; longestHoldMs: number } }).checkpointer;
    assert.ok(holds > 0, `no hold in ${written} writes`);
    // every hold ended by the worker's "release", not by the writer's 1 s safety limit
    assert.ok(longestHoldMs < 900, `a hold lasted ${longestHoldMs} ms`);
    // without the holds it grows by everything written (measured: 944 MB in 8 s at 64 MB holdFrames)
    assert.ok(maxWal < Math.max(20_000_000, (written * body.length) / 4), `WAL reached ${maxWal} bytes after ${written} writes`);
    assert.equal(await l.countShipments(), written);
    await l.close();
  });

  it('acknowledges changes that share a commit, and answers a read of them, only once the WAL is fsynced off the event loop', async () => {
    const held: Array<{ fd: number; done: (err: NodeJS.ErrnoException | null) => void }> = [];
    const inPlace: number[] = [];
    const l = new SqliteLedger(dir, { fsync: (fd, done) => held.push({ fd, done }), fsyncSync: (fd) => inPlace.push(fd) });
    const settled: string[] = [];
    // two changes in one turn share a commit: its fsync goes to the thread pool (held here)
    const created = Promise.all([
      l.createShipment({ transactionId: 'a', submissionId: 's', state: 'queued' }),
      l.createShipment({ transactionId: 'b', submissionId: 's', state: 'queued' }),
    ]).then(() => settled.push('create'));
    while (!held.length) await new Promise((r) => setImmediate(r));
    const read = l.getShipment('a').then((s) => settled.push(`read ${s?.state}`));
    const second = Promise.all([l.updateShipment('a', { state: 'sending' }), l.updateShipment('b', { state: 'sending' })]).then(() => settled.push('update'));
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(settled, [], 'nothing answered before the fsync returned');
    assert.equal(held.length, 1, 'one fsync at a time; the changes asked for meanwhile wait to be committed after it');
    assert.equal(readlinkSync(`/proc/self/fd/${held[0]!.fd}`), path.join(dir, 'ledger.db-wal'), 'the fsync is of the WAL file');
    held.shift()!.done(null);
    await created;
    await read;
    assert.deepEqual([...settled].sort(), ['create', 'read queued'], 'the first commit and the read of it, not the second commit');
    while (!held.length) await new Promise((r) => setImmediate(r));
    held.shift()!.done(null);
    await second;
    assert.equal(settled[2], 'update');
    // a lone change: fsynced in place, before its promise resolves
    await l.createShipment({ transactionId: 'c', submissionId: 's', state: 'queued' });
    assert.equal(inPlace.length, 1);
    assert.equal(readlinkSync(`/proc/self/fd/${inPlace[0]!}`), path.join(dir, 'ledger.db-wal'));
    assert.equal(held.length, 0);
    await l.close();
  });

  it('an fsync that fails stops the ledger: the waiting change and every later change and read are refused', async () => {
    let fail = false;
    const eio = () => Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    const l = new SqliteLedger(dir, {
      fsync: (fd, done) => (fail ? done(eio()) : fsync(fd, done)),
      fsyncSync: (fd) => {
        if (fail) throw eio();
        fsyncSync(fd);
      },
    });
    await l.createShipment({ transactionId: 'a', submissionId: 's', state: 'queued' });
    fail = true;
    await assert.rejects(l.createShipment({ transactionId: 'b', submissionId: 's', state: 'queued' }), /The ledger at .* could not write: .*EIO/);
    fail = false; // whatever the disk does next, the state of the file is unknown: no more answers until a restart
    await assert.rejects(l.createShipment({ transactionId: 'c', submissionId: 's', state: 'queued' }), /EIO/);
    await assert.rejects(l.getShipment('a'), /EIO/);
    await l.close();
    const again = new SqliteLedger(dir);
    assert.equal((await again.getShipment('a'))?.state, 'queued', 'what was acknowledged is there after the restart');
    assert.equal(await again.getShipment('c'), undefined, 'nothing was written after the failure');
    await again.close();
  });

  it('a failing fsync of a shared commit refuses every change in it', async () => {
    const l = new SqliteLedger(dir, { fsync: (_fd, done) => done(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })) });
    const r = await Promise.allSettled([
      l.createShipment({ transactionId: 'a', submissionId: 's', state: 'queued' }),
      l.createShipment({ transactionId: 'b', submissionId: 's', state: 'queued' }),
    ]);
    assert.deepEqual(
      r.map((x) => x.status),
      ['rejected', 'rejected'],
    );
    await l.close();
  });

  it('one failing change in a shared commit fails alone; the others are stored', async () => {
    const l = new SqliteLedger(dir);
    await l.createShipment({ transactionId: 'a', submissionId: 's', state: 'queued' });
    const results = await Promise.allSettled([
      l.updateShipment('a', { state: 'sent' }),
      l.updateShipment('missing', { state: 'sent' }),
      l.createShipment({ transactionId: 'b', submissionId: 's', state: 'queued' }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((results[1] as PromiseRejectedResult).reason), /No shipment with AnvenderTransaktionsID missing/);
    await l.close();
    const again = new SqliteLedger(dir);
    assert.equal((await again.getShipment('a'))?.state, 'sent');
    assert.ok(await again.getShipment('b'));
    await again.close();
  });

  it('keeps bodies apart: lists leave request, response and raw receipts out; the detail has them', async () => {
    const l = new SqliteLedger(dir);
    await l.createShipment({ transactionId: 't', submissionId: 's', state: 'queued', request: '<req/>' });
    await l.updateShipment('t', { response: '<resp/>' });
    await l.addReceipt({
      transactionId: 't',
      type: 'Teknisk',
      code: 'MODTAGET',
      errors: [],
      receivedAt: new Date().toISOString(),
      fingerprint: 'f',
      raw: '<raw/>',
    });
    const [listed] = await l.listShipments();
    assert.equal(listed.request, undefined);
    assert.equal(listed.response, undefined);
    const full = await l.getShipment('t');
    assert.equal(full?.request, '<req/>');
    assert.equal(full?.response, '<resp/>');
    assert.equal((await l.listReceipts('t'))[0].raw, undefined);
    assert.equal((await l.listReceipts('t', { raw: true }))[0].raw, '<raw/>');
    await l.updateShipment('t', { request: undefined });
    assert.equal((await l.getShipment('t'))?.request, undefined);
    assert.equal((await l.getShipment('t'))?.response, '<resp/>');
    await l.close();
  });

  it('refuses a second opener of the same directory while the first holds it, and opens once it closed', async () => {
    const l = new SqliteLedger(dir);
    await l.createShipment({ transactionId: 't', submissionId: 's', state: 'queued' });
    assert.throws(() => new SqliteLedger(dir), /in use/);
    await l.close();
    const again = new SqliteLedger(dir);
    assert.ok(await again.getShipment('t'));
    await again.close();
    await assert.rejects(again.getShipment('t'), /closed/);
  });

  it('shares one store per directory in a process and closes it after the last user', async () => {
    const a = await openEmbedded(dir);
    const b = await openEmbedded(dir);
    assert.equal(a.ledger, b.ledger);
    await a.release();
    await b.ledger.createShipment({ transactionId: 't', submissionId: 's', state: 'queued' });
    await b.release();
    await assert.rejects(b.ledger.getShipment('t'), /closed/);
    const c = await openEmbedded(dir);
    assert.ok(await c.ledger.getShipment('t'));
    await c.release();
  });

  it('migrates a version-1 database: the SFTP names and FileTransferUUIDs already in shipments become file keys', async () => {
    const db = new Database(path.join(dir, 'ledger.db'));
    db.exec(SQLITE_MIGRATIONS[0]);
    db.pragma('user_version = 1');
    const meta = {
      node: 'n1',
      sftp: {
        files: [
          { index: 0, sftpName: 'x.pdf', fileTransferUuid: 'ft-1', status: 'acknowledged' },
          { index: 1, sftpName: 'y.pdf', status: 'failed' },
        ],
      },
    };
    const add = db.prepare(
      "INSERT INTO shipments (transaction_id, submission_id, state, created_at, updated_at, meta) VALUES (?, 's', 'sent', '2026-01-01', '2026-01-01', ?)",
    );
    add.run('t-sftp', JSON.stringify(meta));
    add.run('t-plain', JSON.stringify({ node: 'n1' }));
    add.run('t-odd', JSON.stringify({ sftp: { files: 'not a list' } }));
    db.close();
    const l = new SqliteLedger(dir);
    try {
      assert.equal((await l.findByFileKey('x.pdf'))?.transactionId, 't-sftp');
      assert.equal((await l.findByFileKey('y.pdf'))?.transactionId, 't-sftp');
      assert.equal((await l.findByFileKey('ft-1'))?.transactionId, 't-sftp');
      assert.equal(await l.findByFileKey('n1'), undefined);
    } finally {
      await l.close();
    }
  });

  it('imports an older file-ledger directory on first open, nothing lost, and keeps its files as a backup', async () => {
    cpSync(path.join(__dirname, 'fixtures', 'file-ledger-v1'), dir, { recursive: true });
    const opened = await openEmbedded(dir);
    try {
      assert.match(opened.notice ?? '', /imported the file ledger \(6 shipments\)/);
      const l = opened.ledger;
      assert.equal(await l.countShipments(), 6);
      const one = await l.getShipment('00000000-0000-4000-8000-000000000001');
      assert.equal(one?.state, 'technically-received');
      assert.equal(one?.distributionTransactionId, 'd-1');
      assert.equal(one?.request, '<FordelingsobjektAfsendRequest n="1"/>');
      assert.equal(one?.response, '<Resp n="1"/>');
      assert.deepEqual(one?.meta, { node: 'n1' });
      assert.equal(one?.attempts.length, 1);
      assert.equal((await l.getShipment('00000000-0000-4000-8000-000000000003'))?.attempts[0].error, 'HTTP 503');
      assert.equal((await l.findByDistributionId('d-2'))?.state, 'rejected');
      const receipts = await l.listReceipts('00000000-0000-4000-8000-000000000001', { raw: true });
      assert.deepEqual(
        receipts.map((r) => [r.code, r.raw]),
        [['MODTAGET', '<Kvittering>1</Kvittering>']],
      );
      assert.deepEqual((await l.listReceipts('00000000-0000-4000-8000-000000000002'))[0].errors, [{ code: 'E1', text: 'no receiver' }]);
      assert.deepEqual(
        (await l.pendingInbox()).map((e) => e.id),
        ['inbox-1'],
      );
      assert.deepEqual((await l.pendingInbox())[0].payload, { webform: { id: 'ansoegning' }, submission: { uuid: 'u-1' }, data: { navn: 'A' } });
      assert.deepEqual(
        (await l.listQueue()).map((w) => [w.transactionId, w.queue, w.notBefore]),
        [['00000000-0000-4000-8000-000000000005', 'n1', '2026-11-01T10:00:00.000Z']],
      );
      assert.deepEqual(await l.listCursor('webform-in:site:ansoegning'), ['101', '102']);
    } finally {
      await opened.release();
    }
    const backups = readdirSync(dir).filter((f) => f.startsWith('file-ledger-backup-'));
    assert.equal(backups.length, 1);
    assert.deepEqual(readdirSync(path.join(dir, backups[0])).sort(), ['journal.jsonl', 'snapshot.json']);
    assert.ok(!existsSync(path.join(dir, 'journal.jsonl')));
    // a second start imports nothing again
    const again = await openEmbedded(dir);
    assert.equal(again.notice, undefined);
    assert.equal(await again.ledger.countShipments(), 6);
    await again.release();
  });

  it('refuses a damaged file-ledger journal instead of importing part of it', async () => {
    cpSync(path.join(__dirname, 'fixtures', 'file-ledger-v1'), dir, { recursive: true });
    const journal = path.join(dir, 'journal.jsonl');
    const fs = await import('node:fs');
    const lines = fs.readFileSync(journal, 'utf8').split('\n');
    lines[1] = '{garbage';
    fs.writeFileSync(journal, lines.join('\n'));
    await assert.rejects(openEmbedded(dir), /journal .* is damaged at line 2/);
    assert.ok(existsSync(journal), 'the old files stay where they were');
    const l = new SqliteLedger(dir);
    assert.equal(await l.countShipments(), 0, 'nothing half-imported');
    await l.close();
  });

  it('a full disk: the change is refused with a clear error, nothing acknowledged; the store works again once there is room', async () => {
    const l = new SqliteLedger(dir);
    await l.createShipment({ transactionId: 'before', submissionId: 's', state: 'queued' });
    // SQLite's page limit gives the same SQLITE_FULL a full file system does.
    const db = (l as unknown as { db: { pragma(s: string): unknown } }).db;
    db.pragma('max_page_count = 1');
    const big = 'x'.repeat(200_000);
    await assert.rejects(l.putInbox({ id: 'i1', payload: { big } }), /could not write: the disk is full \(SQLITE_FULL\)/);
    db.pragma('max_page_count = 1073741823');
    assert.deepEqual(await l.pendingInbox(), []);
    await l.putInbox({ id: 'i1', payload: { big } });
    assert.equal((await l.pendingInbox()).length, 1);
    assert.ok(await l.getShipment('before'));
    await l.close();
  });

  it('a directory it may not write: a clear error at open, no crash', function () {
    const ro = path.join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const target = path.join(ro, 'ledger');
    if (process.getuid?.() === 0) {
      // root ignores file modes: open it as an unprivileged user (util-linux setpriv), on the compiled module
      const script = `try{new (require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'ledger', 'sqlite-ledger.js'))}).SqliteLedger)(process.argv[1]);console.log('opened')}catch(e){console.log(e.message)}`;
      chmodSync(dir, 0o755);
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script, target], { encoding: 'utf8' });
      assert.equal(r.error, undefined, 'setpriv (util-linux) must be present');
      assert.match(r.stdout, /The ledger at .* could not open: the directory or file is not writable/, r.stderr);
    } else {
      assert.throws(() => new SqliteLedger(target), /could not open: the directory or file is not writable/);
    }
  });
});
