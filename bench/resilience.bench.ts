// Durable delivery (what fordeling out runs): DurableDelivery on the embedded SQLite ledger against the local simulator
// (HTTPS + mutual TLS, XSD validation), 16 sends at once. Throughput without and with faults (10 % HTTP 503, 5 % no
// answer → 0.5 s timeout, 5 % dropped connections), and an outage: requests while the platform is down and the time
// from its return until every waiting shipment is delivered. Medians of 3 runs.
// `node --import tsx bench/resilience.bench.ts`
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareAfsend, serviceUrl } from '../lib/delivery/deliver';
import { DurableDelivery, sharedBreakers } from '../lib/delivery/durable-delivery';
import { SoapTransport } from '../lib/delivery/soap-transport';
import { SqliteLedger } from '../lib/ledger/sqlite-ledger';
import type { FordelingsObject } from '../lib/sf2900/model';
import { transactionIdFor } from '../lib/sf2900/transaction-id';
import { createSimulator, type Simulator } from '../simulator';
import { generateCerts } from '../simulator/certs';

const RUNS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
process.env.SF2900_CONTRACT_DIR ??= path.resolve(__dirname, '..', '..', 'shared', 'sf2900');

function object(run: number, i: number): FordelingsObject {
  return {
    objektType: 'JOURNALPOST',
    submissionId: `be1c${String(run).padStart(4, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`,
    webformId: 'bench',
    context: { routing: { receivingAuthorityCvr: '12345678', kle: '32.03.12' } },
    journalpost: { noteTitle: 'Henvendelse', noteText: 'x'.repeat(1000) },
    files: [],
  };
}

let run = 0;

/** Sends `n` shipments; `during` runs while they are being delivered. Resolves with seconds taken and requests made. */
async function scenario(
  sim: Simulator,
  transport: SoapTransport,
  n: number,
  opts: { breakerFailures: number; during?: () => Promise<number> },
): Promise<{ seconds: number; requests: number; after?: number }> {
  run++;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-bench-resilience-'));
  const ledger = new SqliteLedger(dir);
  const endpoint = { baseUrl: sim.url, senderCvr: '12345678', senderSystemUuid: 'a0b1c2d3-0000-4000-8000-000000000001', timeoutMs: 500 };
  let delivered = 0;
  let dead = 0;
  const durable = new DurableDelivery<null>({
    ledger,
    context: () => ({ endpoint, transport }),
    owner: 'bench',
    queue: 'bench',
    attempts: 30,
    baseMs: 50,
    capMs: 500,
    timeoutMs: 2500,
    concurrency: 16,
    pollMs: 50,
    breakers: sharedBreakers({}, { consecutiveFailures: opts.breakerFailures, openMs: 500 }),
    breakerKey: serviceUrl(sim.url),
    callbacks: {
      delivered: () => delivered++,
      deadLetter: () => dead++,
      failed: () => dead++,
      duplicate: () => delivered++,
      settledElsewhere: () => undefined,
    },
  });
  durable.start();
  const before = sim.stats.requests;
  const t = Date.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) => object(run, i)).map((o) =>
      durable.accept(transactionIdFor(o.submissionId, o.webformId), () => prepareAfsend(o, { endpoint }), null),
    ),
  );
  const after = opts.during ? await opts.during() : undefined;
  const back = Date.now();
  while (delivered + dead < n) await sleep(5);
  const seconds = (Date.now() - (after === undefined ? t : back)) / 1000;
  await durable.stop();
  await ledger.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (dead) throw new Error(`${dead} dead letters`);
  return { seconds, requests: sim.stats.requests - before, after };
}

async function main(): Promise<void> {
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-bench-certs-'));
  const certs = await generateCerts(certDir);
  const sim = await createSimulator({ certs });
  const transport = new SoapTransport({ keyPem: certs.client.key, certPem: certs.client.cert, ca: [certs.ca.cert], timeoutMs: 500 });
  const rows = ['| scenario | shipments | delivered/s (median) | platform requests |', '|---|---:|---:|---:|'];
  try {
    for (const [name, faults] of [
      ['no faults', {}],
      ['10 % 503, 5 % timeouts, 5 % dropped', { httpStatus: 503 as const, httpStatusProbability: 0.1, stall: 0.05, stallMs: 2000, dropConnection: 0.05 }],
    ] as const) {
      const rates: number[] = [];
      const requests: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        sim.faults = { ...faults };
        const r = await scenario(sim, transport, 500, { breakerFailures: 8 });
        rates.push(500 / r.seconds);
        requests.push(r.requests);
      }
      rows.push(`| ${name} | 500 | ${Math.round(median(rates))} | ${median(requests)} |`);
    }
    const during: number[] = [];
    const recovery: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      sim.faults = { httpStatus: 503 };
      const r = await scenario(sim, transport, 200, {
        breakerFailures: 5,
        during: async () => {
          const before = sim.stats.requests;
          await sleep(3000);
          sim.faults = {};
          return sim.stats.requests - before;
        },
      });
      during.push(r.after!);
      recovery.push(r.seconds);
    }
    rows.push(
      `| platform down 3 s, 200 waiting (breaker 5 / 0.5 s) | 200 | all delivered ${median(recovery).toFixed(1)} s after it returned | ${median(during)} during the outage |`,
    );
  } finally {
    transport.close();
    await sim.close();
    fs.rmSync(certDir, { recursive: true, force: true });
  }
  console.log(rows.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
