// The ledger at scale: embedded SQLite and PostgreSQL side by side, in one run, on ledgers filled "as in real use".
//
//   node --import tsx bench/ledger-scale.bench.ts
//   LEDGER_SIZES=10000 LEDGER_FORMULAR=0 node --import tsx bench/ledger-scale.bench.ts   (smoke test, ~1 min)
//
// Each shipment: a 3 KB request body, a 1 KB response, two attempts, two receipts (Teknisk MODTAGET, Forretning
// ACCEPTERET) with ~1.5 KB raw XML each. 10 % of the shipments are old and finished (updated a year ago, 'accepted'),
// so retention has something to delete. The FORMULAR set (LEDGER_FORMULAR=0 skips it): 1,000 shipments whose request
// carries a 1 MB PDF as base64 (~1.37 MB string).
// The ledgers are filled with SQL directly into the backend's own tables (fill time is reported, not a target); every
// measurement then goes through the Ledger API, in a fresh child process per backend and set (so RSS is clean):
// open time, RSS growth, receipt handling p50/p99, shipment inserts/s at 1 and 64 in flight, size on disk, and the
// longest write latency / event-loop delay while purgeOlderThan removes the old 10 % under a steady writer.
// PostgreSQL: a throw-away server (test/support/postgres.ts) with fsync on, over loopback, default pool (5).
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, fdatasyncSync, fsyncSync, mkdtempSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { PgLedger } from '../lib/ledger/pg-ledger';
import { DB_FILE, SqliteLedger } from '../lib/ledger/sqlite-ledger';
import { migrateSqlite } from '../lib/ledger/sqlite-schema';
import type { Ledger, ReceiptEffect, ReceiptRecord } from '../lib/ledger/types';
import { startPostgres } from '../test/support/postgres';

const RECEIPTS = Number(process.env.LEDGER_RECEIPTS ?? 2000);
const INSERT_SECONDS = Number(process.env.LEDGER_INSERT_SECONDS ?? 5);
const POOL = 16; // distinct random payloads per kind (each row's value is stored and compressed on its own)

type Backend = 'sqlite' | 'postgresql';
interface Spec {
  backend: Backend;
  set: string; // '10000', 'FORMULAR 1000', ...
  n: number;
  requestBytes: number; // size of the request body the insert workload writes
  dir?: string; // sqlite
  connectionString?: string; // pg
  schema?: string; // pg
  empty?: boolean; // baseline: open an empty ledger the same way, report RSS
}
interface Result {
  rssMB: number;
  openMs: number;
  count: number;
  receiptP50?: number;
  receiptP99?: number;
  insert1?: number;
  insert64?: number;
  diskMB?: number;
  diskFilledMB?: number;
  purged?: number;
  purgedReceipts?: number;
  purgeS?: number;
  maxWriteMs?: number;
  maxLoopMs?: number;
  load: number[];
}

// ---------------------------------------------------------------- payloads

/** Base64 of random bytes (does not compress, like a PDF or a signature). */
function noise(chars: number): string {
  return randomBytes(Math.ceil((chars * 3) / 4) + 3)
    .toString('base64')
    .slice(0, chars);
}
function xml(root: string, chars: number): string {
  const head = `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="urn:oio:sagdok:3.0.0"><AnvenderTransaktionsID>${randomUUID()}</AnvenderTransaktionsID><Data>`;
  const tail = `</Data></${root}>`;
  return head + noise(Math.max(0, chars - head.length - tail.length)) + tail;
}
const requests = Array.from({ length: POOL }, () => xml('FordelingsobjektAfsendRequest', 3 * 1024));
const responses = Array.from({ length: POOL }, () => xml('FordelingsobjektAfsendResponse', 1024));
const rawTek = Array.from({ length: POOL }, () => xml('Kvittering', 1536));
const rawFor = Array.from({ length: POOL }, () => xml('Kvittering', 1536));
let pdfRequest: string | undefined;
/** A FORMULAR request: a 1 MB PDF as base64 (~1.37 MB string). */
function formularRequest(): string {
  return (pdfRequest ??= xml('FordelingsobjektAfsendRequest', Math.ceil((1024 * 1024 * 4) / 3) + 600));
}

const DAY = 86_400_000;
const pad = (i: number) => `t${String(i).padStart(8, '0')}`;
/** Shipment i of n: the first 10 % are a year old and finished; the rest from the last 30 days. */
function times(i: number, n: number, now: number): { created: string; updated: string; old: boolean } {
  const old = i < n / 10;
  const created = old ? now - 366 * DAY + (i / n) * DAY : now - 30 * DAY + (i / n) * 29 * DAY;
  const updated = old ? now - 365 * DAY : created + 60_000;
  return { created: new Date(created).toISOString(), updated: new Date(updated).toISOString(), old };
}

// ---------------------------------------------------------------- fill

function fillSqlite(dir: string, n: number, formular: boolean): void {
  mkdirSync(dir, { recursive: true });
  const db = new Database(path.join(dir, DB_FILE));
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -200000');
  migrateSqlite(db);
  const now = Date.now();
  const ship = db.prepare(
    `INSERT INTO shipments (transaction_id, distribution_transaction_id, submission_id, webform_id, objekt_type, state, created_at, updated_at, last_error, meta)
     VALUES (?,?,?,?,?,?,?,?,?,?)`,
  );
  // the embedded schema keeps a shipment's request and response as two rows of bodies (sqlite-schema.ts)
  const body = db.prepare('INSERT INTO bodies (transaction_id, kind, body) VALUES (?,?,?)');
  const att = db.prepare('INSERT INTO attempts (transaction_id, at, ok, error_class, error, duration_ms) VALUES (?,?,?,?,?,?)');
  const rec = db.prepare(
    `INSERT INTO receipts (id, transaction_id, distribution_transaction_id, type, code, reason, errors, received_at, fingerprint) VALUES (?,?,?,?,?,?,?,?,?)`,
  );
  const raw = db.prepare('INSERT INTO receipt_raw (receipt_id, raw) VALUES (?,?)');
  const chunk = formular ? 50 : 20_000;
  for (let from = 0; from < n; from += chunk) {
    db.transaction(() => {
      for (let i = from; i < Math.min(n, from + chunk); i++) {
        const t = pad(i);
        const k = i % POOL;
        const { created, updated } = times(i, n, now);
        ship.run(t, `d-${t}`, `sub-${i}`, `form_${i % 20}`, formular ? 'FORMULAR' : 'DOKUMENT', 'accepted', created, updated, null, '{"sftp":null}');
        body.run(t, 'request', formular ? formularRequest() : requests[k]);
        body.run(t, 'response', responses[k]);
        att.run(t, created, 0, 'transient', 'HTTP 503 Service Unavailable', 1200);
        att.run(t, created, 1, null, null, 850);
        rec.run(`r1-${t}`, t, `d-${t}`, 'Teknisk', 'MODTAGET', null, '[]', updated, `fp1-${t}`);
        raw.run(`r1-${t}`, rawTek[k]);
        rec.run(`r2-${t}`, t, `d-${t}`, 'Forretning', 'ACCEPTERET', null, '[]', updated, `fp2-${t}`);
        raw.run(`r2-${t}`, rawFor[k]);
      }
    })();
  }
  db.pragma('journal_mode = WAL'); // as a ledger in use is
  db.exec('ANALYZE');
  db.close();
  // The fill ran without fsync: its gigabytes are still dirty in the page cache. Written out now, as a ledger that was
  // filled over months would be; else the kernel's writeback of them lands in the measured commits' fsyncs (earlier
  // runs measured that, not the ledger: receipt p99 9 ms at 100 k against 1 ms with a clean cache).
  const fd = openSync(path.join(dir, DB_FILE), 'r+');
  fsyncSync(fd);
  closeSync(fd);
}

async function fillPg(connectionString: string, schema: string, n: number, formular: boolean): Promise<void> {
  const ledger = await PgLedger.open({ connectionString, schema }); // creates the schema
  await ledger.close();
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    await c.query('SET synchronous_commit = off');
    const s = `"${schema}"`;
    const now = Date.now();
    const chunk = formular ? 25 : 20_000;
    const reqPool = formular ? [formularRequest()] : requests;
    for (let from = 0; from < n; from += chunk) {
      const to = Math.min(n, from + chunk) - 1;
      // $1 from, $2 to, $3 n, $4 now (ms); old = the first 10 %
      const gen = `FROM (SELECT i, 't' || lpad(i::text, 8, '0') AS t, i < $3::int / 10 AS old,
          CASE WHEN i < $3::int / 10 THEN to_timestamp(($4::float8 - ${366 * DAY}::float8 + i::float8 / $3 * ${DAY}::float8) / 1000)
               ELSE to_timestamp(($4::float8 - ${30 * DAY}::float8 + i::float8 / $3 * ${29 * DAY}::float8) / 1000) END AS created
          FROM generate_series($1::int, $2::int) AS i) g`;
      const upd = `CASE WHEN g.old THEN to_timestamp(($4::float8 - ${365 * DAY}::float8) / 1000) ELSE g.created + interval '1 minute' END`;
      const p = [from, to, n, now];
      await c.query('BEGIN');
      await c.query(
        `INSERT INTO ${s}.shipments (transaction_id, distribution_transaction_id, submission_id, webform_id, objekt_type, state, created_at, updated_at, meta)
         SELECT g.t, 'd-' || g.t, 'sub-' || g.i, 'form_' || (g.i % 20), '${formular ? 'FORMULAR' : 'DOKUMENT'}', 'accepted', g.created, ${upd}, '{"sftp":null}'::jsonb ${gen}`,
        p,
      );
      await c.query(
        `INSERT INTO ${s}.bodies (transaction_id, request, response) SELECT g.t, ($5::text[])[1 + g.i % ${reqPool.length}], ($6::text[])[1 + g.i % ${POOL}] ${gen}`,
        [...p, reqPool, responses],
      );
      await c.query(
        `INSERT INTO ${s}.attempts (transaction_id, at, ok, error_class, error, duration_ms)
         SELECT g.t, g.created, false, 'transient', 'HTTP 503 Service Unavailable', 1200 ${gen}
         UNION ALL SELECT g.t, g.created, true, NULL, NULL, 850 ${gen}`,
        p,
      );
      await c.query(
        `INSERT INTO ${s}.receipts (id, transaction_id, distribution_transaction_id, type, code, errors, received_at, fingerprint)
         SELECT 'r1-' || g.t, g.t, 'd-' || g.t, 'Teknisk', 'MODTAGET', '[]'::jsonb, ${upd}, 'fp1-' || g.t ${gen}
         UNION ALL SELECT 'r2-' || g.t, g.t, 'd-' || g.t, 'Forretning', 'ACCEPTERET', '[]'::jsonb, ${upd}, 'fp2-' || g.t ${gen}`,
        p,
      );
      await c.query(
        `INSERT INTO ${s}.receipt_raw (receipt_id, raw)
         SELECT 'r1-' || g.t, ($5::text[])[1 + g.i % ${POOL}] ${gen} UNION ALL SELECT 'r2-' || g.t, ($6::text[])[1 + g.i % ${POOL}] ${gen}`,
        [...p, rawTek, rawFor],
      );
      await c.query('COMMIT');
    }
    // What autovacuum would have done on a ledger in use (hint bits, visibility map, statistics).
    for (const t of ['shipments', 'attempts', 'receipts', 'bodies', 'receipt_raw']) await c.query(`VACUUM (ANALYZE) ${s}.${t}`);
    await c.query('CHECKPOINT');
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- measuring (child process)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
function rssMB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 1048576;
}

async function openLedger(spec: Spec): Promise<Ledger> {
  if (spec.backend === 'sqlite') return new SqliteLedger(spec.dir!);
  return PgLedger.open({ connectionString: spec.connectionString!, schema: spec.schema! });
}

/** createShipment (queued, request) then updateShipment (sent, 1 KB response), `inFlight` at a time, for `seconds` or until `stop()`. */
async function writer(ledger: Ledger, request: string, inFlight: number, until: () => boolean, latencies?: number[]): Promise<number> {
  let done = 0;
  const t0 = process.hrtime.bigint();
  const one = async () => {
    while (!until()) {
      const t = randomUUID();
      let w = process.hrtime.bigint();
      await ledger.createShipment({ transactionId: t, submissionId: t, state: 'queued', request });
      latencies?.push(ms(w));
      w = process.hrtime.bigint();
      await ledger.updateShipment(t, { state: 'sent', distributionTransactionId: `d-${t}`, response: responses[done % POOL] });
      latencies?.push(ms(w));
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, one));
  return done / (ms(t0) / 1000);
}

/** SQLite: ledger.db + ledger.db-wal; PostgreSQL: pg_total_relation_size over the schema's tables. MB. */
async function diskUse(spec: Spec): Promise<number> {
  if (spec.backend === 'sqlite') {
    const f = path.join(spec.dir!, DB_FILE);
    return (statSync(f).size + (existsSync(`${f}-wal`) ? statSync(`${f}-wal`).size : 0)) / 1048576;
  }
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: spec.connectionString });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT coalesce(sum(pg_total_relation_size(format('%I.%I', schemaname, tablename))), 0)::float8 AS b FROM pg_tables WHERE schemaname = $1`,
      [spec.schema],
    );
    return rows[0].b / 1048576;
  } finally {
    await c.end();
  }
}

async function child(spec: Spec): Promise<Result> {
  const load0 = os.loadavg()[0]!;
  const t0 = process.hrtime.bigint();
  const ledger = await openLedger(spec);
  const count = await ledger.countShipments();
  const openMs = ms(t0);
  const diskFilledMB = spec.empty ? 0 : await diskUse(spec);
  if (spec.empty) {
    const rss = rssMB();
    await ledger.close();
    return { rssMB: rss, openMs, count, load: [load0, os.loadavg()[0]!] };
  }
  // receipt in (lib/delivery/receipts.ts handleReceipt): the shipment's row without bodies, then addReceipt with the
  // effect that moves its state; one at a time.
  const effect: ReceiptEffect = () => ({ patch: { state: 'accepted' } });
  const lat: number[] = [];
  const first = Math.ceil(spec.n / 10); // not the old ones (purge comes later)
  for (let k = 0; k < RECEIPTS; k++) {
    const t = pad(first + Math.floor(Math.random() * (spec.n - first)));
    const receipt: ReceiptRecord = {
      transactionId: t,
      distributionTransactionId: `d-${t}`,
      type: 'Forretning',
      code: 'ACCEPTERET',
      errors: [],
      receivedAt: new Date().toISOString(),
      fingerprint: randomUUID(),
      raw: rawFor[k % POOL],
    };
    const w = process.hrtime.bigint();
    const s = await ledger.getShipment(t, { bodies: false });
    if (!s) throw new Error(`no shipment ${t}`);
    await ledger.addReceipt(receipt, effect);
    lat.push(ms(w));
  }
  const rss = rssMB();
  const request = spec.requestBytes > 100_000 ? formularRequest() : requests[0]!;
  let end = Date.now() + INSERT_SECONDS * 1000;
  const insert1 = await writer(ledger, request, 1, () => Date.now() > end);
  end = Date.now() + INSERT_SECONDS * 1000;
  const insert64 = await writer(ledger, request, 64, () => Date.now() > end);
  // Longest stall: a steady writer (64 in flight) while retention deletes the old 10 %.
  const h = monitorEventLoopDelay({ resolution: 10 });
  let maxTimerLate = 0;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    maxTimerLate = Math.max(maxTimerLate, now - last - 10);
    last = now;
  }, 10);
  const wl: number[] = [];
  let purgeDone = false;
  let purgeEnd = 0;
  const w = writer(ledger, request, 64, () => purgeDone && Date.now() > purgeEnd + 500, wl);
  await sleep(500);
  h.enable();
  const p0 = process.hrtime.bigint();
  const purge = await ledger.purgeOlderThan(new Date(Date.now() - 180 * DAY));
  const purgeS = ms(p0) / 1000;
  purgeDone = true;
  purgeEnd = Date.now();
  await w;
  h.disable();
  clearInterval(timer);
  const maxLoopMs = Math.max(h.max / 1e6 - 10, maxTimerLate);
  const diskMB = await diskUse(spec);
  await ledger.close();
  return {
    rssMB: rss,
    openMs,
    count,
    receiptP50: pct(lat, 50),
    receiptP99: pct(lat, 99),
    insert1,
    insert64,
    diskMB,
    diskFilledMB,
    purged: purge.shipments,
    purgedReceipts: purge.receipts,
    purgeS,
    maxWriteMs: wl.reduce((a, b) => Math.max(a, b), 0), // a spread overflows the stack with 10⁵+ writes
    maxLoopMs,
    load: [load0, os.loadavg()[0]!],
  };
}

function runChild(spec: Spec): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', __filename, '--child', JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)) as Result);
      else reject(new Error(`child (${spec.backend} ${spec.set}) exited ${code}: ${out.slice(-2000)}`));
    });
  });
}

// ---------------------------------------------------------------- main

/** The disk's own commit latency: 4 KB write + fdatasync, one at a time (what every durable commit waits for). */
function fsyncProbe(dir: string, n = 1000): string {
  const f = path.join(dir, 'fsync-probe');
  const fd = openSync(f, 'w');
  const buf = randomBytes(4096);
  const lat: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      writeSync(fd, buf, 0, buf.length, (i % 256) * 4096);
      fdatasyncSync(fd);
      lat.push(ms(t));
    }
  } finally {
    closeSync(fd);
    rmSync(f, { force: true });
  }
  return `fsync (4 KB write + fdatasync, ${n}×): p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${Math.max(...lat).toFixed(1)} ms`;
}

const f0 = (x: number | undefined) => (x === undefined ? '–' : Math.round(x).toLocaleString('en'));
const f1 = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(2));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '–' : (a / b).toFixed(2));

async function main(): Promise<void> {
  const sizes = (process.env.LEDGER_SIZES ?? '10000,100000,1000000')
    .split(',')
    .map((x) => Number(x.trim()))
    .filter((x) => x > 0);
  const formular = process.env.LEDGER_FORMULAR !== '0';
  const started = Date.now();
  console.log(
    `start ${new Date().toISOString()}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; ${os.cpus().length} vCPU, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM; Node ${process.version}`,
  );
  console.log(`sets: ${sizes.join(', ')}${formular ? ', FORMULAR 1000' : ''}; ${RECEIPTS} receipts; inserts ${INSERT_SECONDS} s each\n`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'os2-ledger-scale-'));
  console.log(`${fsyncProbe(tmp)} (start)`);
  const pg = await startPostgres({ durable: true });
  const pgServer = pg;
  const cleanup = async () => {
    rmSync(tmp, { recursive: true, force: true });
    await pg?.release();
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: Array<{ set: string; backend: Backend; fillS: number; base: Result; r: Result }> = [];
  const base: Partial<Record<Backend, Result>> = {};
  try {
    // Baselines: an empty ledger opened the same way.
    mkdirSync(path.join(tmp, 'empty'));

    base.sqlite = await runChild({ backend: 'sqlite', set: 'empty', n: 0, requestBytes: 0, dir: path.join(tmp, 'empty'), empty: true });
    if (pg) {
      await fillPg(pg.connectionString, 'scale_empty', 0, false);
      base.postgresql = await runChild({
        backend: 'postgresql',
        set: 'empty',
        n: 0,
        requestBytes: 0,
        connectionString: pg.connectionString,
        schema: 'scale_empty',
        empty: true,
      });
    }
    const sets = sizes.map((n) => ({ set: n.toLocaleString('en'), n, formular: false }));
    if (formular) sets.unshift({ set: 'FORMULAR 1,000', n: 1000, formular: true });
    for (const { set, n, formular: f } of sets) {
      try {
        await measureSet(set, n, f);
      } catch (err) {
        console.error(`  ${set} failed: ${(err as Error).stack}`);
        console.log(`\n(${set}: failed — ${(err as Error).message.split('\n')[0]})`);
      }
      printTables(rows, sizes, (l) => console.error(l)); // progress, in case the run is cut short
    }
    printTables(rows, sizes, (l) => console.log(l));
    console.log(`\n${fsyncProbe(tmp)} (end)`);
  } finally {
    await cleanup();
  }
  console.log(
    `\nend ${new Date().toISOString()} (${((Date.now() - started) / 60000).toFixed(1)} min); load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  if (!pg) console.log('(PostgreSQL not available here: only SQLite measured)');

  async function measureSet(set: string, n: number, f: boolean): Promise<void> {
    const dir = path.join(tmp, `s${n}${f ? 'f' : ''}`);
    const pg = pgServer;
    const schema = `scale_${n}${f ? '_f' : ''}`;
    // Each engine is measured right after its own fill, the other one idle: measuring SQLite while PostgreSQL's
    // background writer flushed the gigabytes of its fill put PostgreSQL's I/O into SQLite's p99 (earlier runs).
    const requestBytes = f ? formularRequest().length : requests[0]!.length;
    let t = Date.now();
    fillSqlite(dir, n, f);
    const fillSqliteS = (Date.now() - t) / 1000;
    console.error(`  filled sqlite ${set} in ${fillSqliteS.toFixed(0)} s (load ${os.loadavg()[0]!.toFixed(2)})`);
    const r1 = await runChild({ backend: 'sqlite', set, n, requestBytes, dir });
    rows.push({ set, backend: 'sqlite', fillS: fillSqliteS, base: base.sqlite!, r: r1 });
    console.error(`  measured sqlite ${set}: ${JSON.stringify(r1)}`);
    rmSync(dir, { recursive: true, force: true });
    if (pg) {
      t = Date.now();
      await fillPg(pg.connectionString, schema, n, f);
      const fillPgS = (Date.now() - t) / 1000;
      console.error(`  filled postgresql ${set} in ${fillPgS.toFixed(0)} s (load ${os.loadavg()[0]!.toFixed(2)})`);
      const cp = new (await import('pg')).default.Client({ connectionString: pg.connectionString });
      await cp.connect();
      await cp.query('CHECKPOINT'); // the fill's dirty buffers written out before measuring, as SQLite's are
      await cp.end();
      const r2 = await runChild({ backend: 'postgresql', set, n, requestBytes, connectionString: pg.connectionString, schema });
      rows.push({ set, backend: 'postgresql', fillS: fillPgS, base: base.postgresql!, r: r2 });
      console.error(`  measured postgresql ${set}: ${JSON.stringify(r2)}`);
      const c = new (await import('pg')).default.Client({ connectionString: pg.connectionString });
      await c.connect();
      await c.query(`DROP SCHEMA "${schema}" CASCADE`);
      await c.end();
    }
  }
}

function printTables(
  rows: Array<{ set: string; backend: Backend; fillS: number; base: Result; r: Result }>,
  sizes: number[],
  log: (line: string) => void,
): void {
  const console = { log };
  const largest = Math.max(...sizes).toLocaleString('en');
  console.log(
    '\n| set | backend | fill s | open ms | RSS growth MB | receipt p50 ms | receipt p99 ms | inserts/s, 1 in flight | inserts/s, 64 in flight | on disk MB, filled / after workload | purged (s) | longest write ms | longest loop delay ms | load 1 min |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const { set, backend, fillS, base, r } of rows) {
    console.log(
      `| ${set} | ${backend} | ${f0(fillS)} | ${f0(r.openMs)} | ${f1(r.rssMB - base.rssMB)} | ${f2(r.receiptP50)} | ${f2(r.receiptP99)} | ${f0(r.insert1)} | ${f0(r.insert64)} | ${f0(r.diskFilledMB)} / ${f0(r.diskMB)} | ${f0(r.purged)} (${f1(r.purgeS)}) | ${f0(r.maxWriteMs)} | ${f0(r.maxLoopMs)} | ${r.load.map((x) => x.toFixed(1)).join('→')} |`,
    );
  }
  const big = rows.filter((x) => x.set === largest);
  if (big.length) {
    console.log(`\nTargets at ${largest} (receipt p99 ≤ 5 ms, open ≤ 1 s, RSS growth ≤ 100 MB, no stall over 100 ms):\n`);
    console.log('| backend | receipt p99 ≤ 5 ms | open ≤ 1 s | RSS growth ≤ 100 MB | longest stall ≤ 100 ms (write / loop) |');
    console.log('|---|---|---|---|---|');
    const ok = (b: boolean) => (b ? 'met' : '**missed**');
    for (const { backend, base, r } of big) {
      const rss = r.rssMB - base.rssMB;
      console.log(
        `| ${backend} | ${ok(r.receiptP99! <= 5)} (${f2(r.receiptP99)}) | ${ok(r.openMs <= 1000)} (${f0(r.openMs)} ms) | ${ok(rss <= 100)} (${f1(rss)}) | ${ok(r.maxWriteMs! <= 100 && r.maxLoopMs! <= 100)} (${f0(r.maxWriteMs)} / ${f0(r.maxLoopMs)} ms) |`,
      );
    }
  }
  const sets = [...new Set(rows.map((x) => x.set))];
  const pairs = sets
    .map((s) => [rows.find((x) => x.set === s && x.backend === 'postgresql'), rows.find((x) => x.set === s && x.backend === 'sqlite')] as const)
    .filter(([a, b]) => a && b);
  if (pairs.length) {
    console.log('\nPostgreSQL ÷ SQLite, same run (> 1: PostgreSQL is higher):\n');
    console.log('| set | open | receipt p50 | receipt p99 | inserts/s 1 | inserts/s 64 | on disk, filled | longest write |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const [p, s] of pairs) {
      console.log(
        `| ${p!.set} | ${ratio(p!.r.openMs, s!.r.openMs)} | ${ratio(p!.r.receiptP50, s!.r.receiptP50)} | ${ratio(p!.r.receiptP99, s!.r.receiptP99)} | ${ratio(p!.r.insert1, s!.r.insert1)} | ${ratio(p!.r.insert64, s!.r.insert64)} | ${ratio(p!.r.diskFilledMB, s!.r.diskFilledMB)} | ${ratio(p!.r.maxWriteMs, s!.r.maxWriteMs)} |`,
      );
    }
  }
}

if (process.argv[2] === '--child') {
  child(JSON.parse(process.argv[3]!) as Spec)
    .then((r) => {
      console.log(`RESULT ${JSON.stringify(r)}`);
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
