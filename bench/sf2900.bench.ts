/**
 * SF2900 SOAP/XML cost and simulator round trips: building requests (JOURNALPOST, FORMULAR with a 1 MB PDF),
 * validating them against the official contract, parsing receipts, and FordelingsobjektAfsend over mTLS to the
 * simulator (sequential and 16 in flight, receipts going to a local HTTP endpoint). Medians of 5 runs.
 * Run: node --import tsx bench/sf2900.bench.ts
 */
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';
import type { AddressInfo } from 'net';
import { buildAfsendRequest, parseAfsendResponse } from '../lib/sf2900/afsend';
import { SOAP_ACTIONS } from '../lib/sf2900/namespaces';
import { buildReceiptRequest, buildReceiptResponse, parseReceiptRequest } from '../lib/sf2900/receipts';
import { soapEnvelope } from '../lib/sf2900/soap';
import { transactionIdFor } from '../lib/sf2900/transaction-id';
import { loadXsd } from '../lib/xml/xsd';
import { createSimulator } from '../simulator';
import { generateCerts } from '../simulator/certs';
import { AFSEND_OPTS, formular, journalpost } from '../test/lib/sf2900/fixtures';

process.env.SF2900_CONTRACT_DIR ??= path.resolve(__dirname, '..', '..', 'shared', 'sf2900');
const RUNS = 5;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function perOp(n: number, fn: (i: number) => void): number {
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    runs.push(Number(process.hrtime.bigint() - t) / 1e6 / n);
  }
  return median(runs);
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  const schema = await loadXsd(path.join(process.env.SF2900_CONTRACT_DIR!, 'contract', 'DistributionServiceMsg.xsd'));
  const jp = journalpost();
  const big = formular();
  big.formular!.pdfBase64 = Buffer.alloc(1024 * 1024, 7).toString('base64');
  const jpXml = buildAfsendRequest(jp, AFSEND_OPTS);
  const bigXml = buildAfsendRequest(big, AFSEND_OPTS);
  rows.push(['build JOURNALPOST request', `${(perOp(2000, () => buildAfsendRequest(jp, AFSEND_OPTS)) * 1000).toFixed(1)} µs`, `${jpXml.length} B`]);
  rows.push([
    'build FORMULAR request, 1 MB PDF',
    `${perOp(20, () => buildAfsendRequest(big, AFSEND_OPTS)).toFixed(2)} ms`,
    `${(bigXml.length / 1048576).toFixed(2)} MB`,
  ]);
  rows.push(['XSD-validate JOURNALPOST request', `${(perOp(500, () => schema.validate(jpXml)) * 1000).toFixed(1)} µs`, '']);
  rows.push(['XSD-validate FORMULAR request, 1 MB PDF', `${perOp(20, () => schema.validate(bigXml)).toFixed(2)} ms`, '']);
  const receipt = soapEnvelope(
    buildReceiptRequest({
      transactionId: AFSEND_OPTS.transactionId,
      senderCvr: '12345678',
      routingCvr: '14814833',
      routing: { kle: '32.03.12' },
      receipt: { code: 'ACCEPTERET', type: 'Forretning', errors: [] },
    }),
  );
  rows.push(['parse receipt request', `${(perOp(5000, () => parseReceiptRequest(receipt)) * 1000).toFixed(1)} µs`, '']);

  // Round trips to the simulator.
  const receiptServer = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/xml' }).end(buildReceiptResponse()));
  });
  await new Promise<void>((r) => receiptServer.listen(0, '127.0.0.1', r));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf2900-bench-'));
  const certs = await generateCerts(dir);
  const sim = await createSimulator({
    certs,
    receiptUrl: `http://127.0.0.1:${(receiptServer.address() as AddressInfo).port}/`,
    technicalReceiptDelayMs: 0,
    businessReceiptDelayMs: 0,
  });
  const agent = new https.Agent({ keepAlive: true, maxSockets: 16, key: certs.client.key, cert: certs.client.cert, ca: certs.ca.cert });
  let seq = 0;
  const send = (obj = journalpost()): Promise<void> =>
    new Promise((resolve, reject) => {
      const body = soapEnvelope(buildAfsendRequest(obj, { ...AFSEND_OPTS, transactionId: transactionIdFor(`bench-${seq++}`) }));
      const req = https.request(
        sim.serviceUrl,
        { method: 'POST', agent, headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${SOAP_ACTIONS.afsend}"` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            try {
              parseAfsendResponse(Buffer.concat(chunks).toString('utf8'));
              resolve();
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  for (let i = 0; i < 20; i++) await send(); // warm-up
  const seqRuns: number[] = [];
  const parRuns: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t = Date.now();
    for (let i = 0; i < 100; i++) await send();
    seqRuns.push((Date.now() - t) / 100);
    t = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next++ < 400) await send();
      }),
    );
    parRuns.push(400 / ((Date.now() - t) / 1000));
    await sim.idle();
  }
  rows.push(['Afsend round trip to simulator (JOURNALPOST, sequential)', `${median(seqRuns).toFixed(2)} ms`, 'incl. XSD validation, keep-alive mTLS']);
  rows.push(['Afsend throughput, 16 in flight', `${median(parRuns).toFixed(0)} /s`, `${os.cpus().length} cores`]);
  rows.push(['receipts delivered / failed', `${sim.stats.receiptsSent} / ${sim.stats.receiptsFailed}`, '']);
  agent.destroy();
  await sim.close();
  await new Promise((r) => receiptServer.close(r));
  fs.rmSync(dir, { recursive: true, force: true });

  console.log('| operation | median | note |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
