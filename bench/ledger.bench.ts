// Ledger throughput: createShipment + updateShipment (one shipment = 2 durable changes), per backend,
// one at a time and 64 in flight. Medians of 5 runs. `node --import tsx bench/ledger.bench.ts`
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeliveryWorker } from '../lib/outbox/worker';
import { SqliteLedger } from '../lib/ledger/sqlite-ledger';
import { BreakerRegistry } from '../lib/resilience/breaker';
import { MemoryLedger } from '../lib/ledger/memory-ledger';
import { PgLedger } from '../lib/ledger/pg-ledger';
import type { Ledger } from '../lib/ledger/types';
import { startPostgres } from '../test/support/postgres';

const RUNS = 5;
const REQUEST = 'x'.repeat(2000); // a ~2 KB serialised request, like a small FordelingsObjekt

async function run(ledger: Ledger, n: number, concurrency: number, tag: string): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < n) {
      const t = `${tag}-${next++}`;
      await ledger.createShipment({ transactionId: t, submissionId: t, state: 'queued', request: REQUEST });
      await ledger.updateShipment(t, { state: 'sent', distributionTransactionId: `d-${t}` });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  return n / s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const rows: Array<[string, string, number, number]> = [];
  const backends: Array<[string, () => Promise<{ ledger: Ledger; done: () => Promise<void> }>, number]> = [
    ['memory', async () => ({ ledger: new MemoryLedger(), done: async () => undefined }), 20_000],
    [
      'embedded SQLite (WAL, synchronous=FULL)',
      async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'os2-bench-'));
        const ledger = new SqliteLedger(dir);
        return { ledger, done: async () => (await ledger.close(), rmSync(dir, { recursive: true, force: true })) };
      },
      2_000,
    ],
  ];
  const pg = await startPostgres({ durable: true }).catch(() => undefined);
  let schemas = 0;
  if (pg) {
    backends.push([
      'postgresql (fsync on, loopback)',
      async () => {
        const ledger = await PgLedger.open({ connectionString: pg.connectionString, schema: `bench_${++schemas}`, max: 10 });
        return { ledger, done: () => ledger.close() };
      },
      1_000,
    ]);
  }
  for (const [name, make, n] of backends) {
    for (const concurrency of [1, 64]) {
      const rates: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const { ledger, done } = await make();
        rates.push(await run(ledger, concurrency === 1 ? Math.ceil(n / 4) : n, concurrency, `r${r}`));
        await done();
      }
      rows.push([name, String(concurrency), median(rates), 0]);
    }
  }
  await pg?.release();
  const memory1 = rows[0]![2];
  console.log('| backend | in flight | shipments/s (create+update) | vs memory, 1 in flight |');
  console.log('|---|---:|---:|---:|');
  for (const [name, c, rate] of rows) console.log(`| ${name} | ${c} | ${Math.round(rate).toLocaleString('en')} | ${(rate / memory1).toFixed(3)} |`);
  if (!pg) console.log('\n(PostgreSQL not available here: skipped)');
  console.log(`\nmedian of ${RUNS} runs; ${os.cpus().length} CPU(s), Node ${process.version}, ${os.tmpdir()} on the local disk`);
  await deliveryTable();
}

/** DeliveryWorker on the embedded SQLite ledger against a fake platform (5 ms per call): throughput with and without faults, recovery after an outage. */
async function deliveryTable(): Promise<void> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function scenario(n: number, faultRate: number, downMs: number): Promise<{ rate: number; recoveryMs?: number; callsWhileDown: number }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'os2-bench-dw-'));
    const ledger = new SqliteLedger(dir);
    let up = downMs === 0;
    let callsWhileDown = 0;
    let delivered = 0;
    let allDone!: () => void;
    const finished = new Promise<void>((r) => (allDone = r));
    const worker = new DeliveryWorker({
      ledger,
      concurrency: 16,
      baseMs: 20,
      capMs: 200,
      pollMs: 20,
      attempts: 100,
      breakers: new BreakerRegistry({ consecutiveFailures: 5, openMs: 500 }),
      send: async () => {
        await sleep(5);
        if (!up) {
          callsWhileDown++;
          throw Object.assign(new Error('HTTP 503'), { statusCode: 503 });
        }
        if (Math.random() < faultRate) throw Object.assign(new Error('HTTP 503'), { statusCode: 503 });
        return {};
      },
      onDelivered: () => {
        if (++delivered === n) allDone();
      },
    });
    worker.start();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        await ledger.createShipment({ transactionId: `t${i}`, submissionId: `s${i}`, state: 'queued', request: REQUEST });
        await worker.submit(`t${i}`);
      }),
    );
    let upAt = started;
    if (downMs) {
      await sleep(downMs);
      up = true;
      upAt = Date.now();
    }
    await finished;
    const end = Date.now();
    await worker.stop();
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
    return { rate: (n / (end - started)) * 1000, recoveryMs: downMs ? end - upAt : undefined, callsWhileDown };
  }
  const runs = 3;
  const rows: string[] = [];
  for (const [label, n, fault, down] of [
    ['no faults', 1000, 0, 0],
    ['10 % transient faults', 1000, 0.1, 0],
    ['platform down 3 s, then up', 500, 0, 3000],
  ] as const) {
    const results = [] as Array<Awaited<ReturnType<typeof scenario>>>;
    for (let r = 0; r < runs; r++) results.push(await scenario(n, fault, down));
    const rate = median(results.map((x) => x.rate));
    const rec = down ? `${median(results.map((x) => x.recoveryMs!))} ms` : '–';
    const calls = down ? String(median(results.map((x) => x.callsWhileDown))) : '–';
    rows.push(`| ${label} | ${n} | ${Math.round(rate).toLocaleString('en')} | ${rec} | ${calls} |`);
  }
  console.log('\nDeliveryWorker on the embedded SQLite ledger, fake platform 5 ms/call, 16 in flight, breaker 5 failures / 500 ms open:\n');
  console.log('| scenario | shipments | delivered/s (overall) | all delivered after platform up | calls while down |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log(`\nmedian of ${runs} runs`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
