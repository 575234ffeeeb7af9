// Delivery: certificate loading (P12 vs PEM), deliver() against the local simulator (HTTPS + mutual TLS,
// keep-alive, with and without the simulator's XSD validation; one at a time and 10 in flight), and receipt
// handling (correlate + dedup + state) on the memory ledger. Medians of 5 runs.
// `node --import tsx bench/delivery.bench.ts`
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCertificate } from '../lib/certificate/certificate';
import { prepareAfsend, sendAfsend, type DeliveryContext } from '../lib/delivery/deliver';

/** One send as the outbox makes it: serialise, then the call (no ledger: this measures the wire). */
async function deliver(obj: Parameters<typeof prepareAfsend>[0], ctx: DeliveryContext) {
  const { request } = await prepareAfsend(obj, ctx);
  return sendAfsend(request, ctx);
}
import { handleReceipt } from '../lib/delivery/receipt-handling';
import { SoapTransport } from '../lib/delivery/soap-transport';
import { MemoryLedger } from '../lib/ledger/memory-ledger';
import type { FordelingsObject } from '../lib/sf2900/model';
import { createSimulator } from '../simulator';
import { generateCerts } from '../simulator/certs';

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.env.SF2900_CONTRACT_DIR ??= path.resolve(__dirname, '..', '..', 'shared', 'sf2900');

function object(i: number, run: number): FordelingsObject {
  return {
    objektType: 'JOURNALPOST',
    submissionId: `be0c0000-0000-4000-8000-${String(run * 1_000_000 + i).padStart(12, '0')}`,
    webformId: 'bench',
    context: { routing: { receivingAuthorityCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' } },
    journalpost: { noteTitle: 'Henvendelse', noteText: 'x'.repeat(1000) },
    files: [],
  };
}

function time(fn: () => void, n: number): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t) / 1e6 / n;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-bench-certs-'));
  try {
    const certs = await generateCerts(dir);
    const p12 = fs.readFileSync(certs.client.p12Path).toString('base64');
    const rows: string[] = ['| what | median |', '|---|---|'];
    const p12ms = median(Array.from({ length: RUNS }, () => time(() => loadCertificate({ p12Base64: p12, p12Passphrase: certs.client.p12Passphrase }), 5)));
    const pemms = median(Array.from({ length: RUNS }, () => time(() => loadCertificate({ keyPem: certs.client.key, certPem: certs.client.cert }), 20)));
    rows.push(`| load P12 (AES-256, PBKDF2 2048 it.) | ${p12ms.toFixed(1)} ms |`, `| load PEM key + cert | ${pemms.toFixed(2)} ms |`);

    for (const validate of [true, false]) {
      const sim = await createSimulator({ certs, validate });
      const transport = new SoapTransport({ keyPem: certs.client.key, certPem: certs.client.cert, ca: [certs.ca.cert], timeoutMs: 10_000 });
      try {
        for (const [n, conc] of [
          [200, 1],
          [500, 10],
        ] as const) {
          const rates: number[] = [];
          for (let run = 0; run < RUNS; run++) {
            const ctx: DeliveryContext = {
              endpoint: { baseUrl: sim.url, senderCvr: certs.client.cvr, senderSystemUuid: 'a0b1c2d3-0000-4000-8000-000000000001', timeoutMs: 10_000 },
              transport,
            };
            let next = 0;
            const t = process.hrtime.bigint();
            await Promise.all(
              Array.from({ length: conc }, async () => {
                while (next < n) await deliver(object(next++, run + (validate ? 0 : 100) + conc * 1000), ctx);
              }),
            );
            rates.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
            sim.reset();
          }
          rows.push(
            `| deliver() JOURNALPOST (~3 KB request), simulator ${validate ? 'with' : 'without'} XSD validation, ${conc} in flight | ${median(rates).toFixed(0)} /s |`,
          );
        }
      } finally {
        transport.close();
        await sim.close();
      }
    }

    const receiptRates: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const ledger = new MemoryLedger();
      const n = 5000;
      for (let i = 0; i < n; i++) await ledger.createShipment({ transactionId: `r-${i}`, submissionId: `s-${i}`, state: 'sent' });
      const t = process.hrtime.bigint();
      for (let i = 0; i < n; i++)
        await handleReceipt(ledger, {
          transactionId: `r-${i}`,
          distributionTransactionId: `d-${i}`,
          receipt: { code: 'ACCEPTERET', type: 'Forretning', errors: [] },
        });
      receiptRates.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
    }
    rows.push(`| handleReceipt (correlate, fingerprint, dedup, state) on the memory ledger | ${median(receiptRates).toFixed(0)} /s |`);
    console.log(rows.join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
