/**
 * Signing throughput: in-thread (one core) vs the worker-thread pool (lib/signing/pool, one worker per core),
 * for an enveloped signature of a small document and WS-Security on a small SOAP envelope (RSA-2048).
 * Each figure is the median of RUNS runs of N messages; the ratio is pool / single thread within the same run set.
 * Run: node --import tsx bench/sign.bench.ts
 */
import { availableParallelism, loadavg } from 'os';
import { Signer, type SignRequest } from '../lib/signing/sign';
import { SigningPool } from '../lib/signing/pool';
import { makeTestKey, removeTestKeys } from '../test/lib/signing/test-keys';

const N = 400;
const RUNS = 5;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const DOC = `<Kvittering xmlns="urn:example:kvittering">${Array.from({ length: 20 }, (_, i) => `<Linje nr="${i}">Tekst ${i} æøå</Linje>`).join('')}</Kvittering>`;
const ENVELOPE =
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://www.w3.org/2005/08/addressing">' +
  '<soap:Header><wsa:Action>http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/port/FordelingsobjektAfsend</wsa:Action>' +
  '<wsa:MessageID>urn:uuid:6f0c2a4e-2c8e-4b1e-9a57-0d5f6e7a8b9c</wsa:MessageID><wsa:To>https://localhost/service/SP/Distribution/3</wsa:To>' +
  '<liberty:Framework xmlns:liberty="urn:liberty:sb:2006-08" liberty:profile="urn:liberty:sb:profile:basic" liberty:version="2.0"/></soap:Header>' +
  `<soap:Body>${DOC}</soap:Body></soap:Envelope>`;

async function throughput(sign: (r: SignRequest) => Promise<string>, req: SignRequest, concurrent: boolean): Promise<number> {
  const t0 = process.hrtime.bigint();
  if (concurrent) await Promise.all(Array.from({ length: N }, () => sign(req)));
  else for (let i = 0; i < N; i++) await sign(req);
  return N / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function main(): Promise<void> {
  const key = makeTestKey('bench signer');
  const signer = new Signer(key);
  const pool = new SigningPool(key);
  const rows: string[] = [];
  const loadBefore = loadavg()[0];
  try {
    const cases: Array<[string, SignRequest]> = [
      ['enveloped (1.2 KB document)', { mode: 'enveloped', xml: DOC }],
      ['WS-Security (1.7 KB envelope, 5 references)', { mode: 'wssecurity', xml: ENVELOPE, extraHeaders: ['Framework'] }],
    ];
    for (const [name, req] of cases) {
      // Warm up both (JIT, worker start-up and tsx loading in the workers).
      await throughput((r) => signer.sign(r), req, false);
      await throughput((r) => pool.sign(r), req, true);
      const single: number[] = [];
      const pooled: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        single.push(await throughput((r) => signer.sign(r), req, false));
        pooled.push(await throughput((r) => pool.sign(r), req, true));
      }
      const s = median(single);
      const p = median(pooled);
      rows.push(`| ${name} | ${s.toFixed(0)} | ${(1000 / s).toFixed(2)} | ${p.toFixed(0)} | ${(p / s).toFixed(2)}× |`);
    }
  } finally {
    await pool.close();
    removeTestKeys();
  }
  console.log(
    `Signing throughput, RSA-2048, ${N} messages per run, median of ${RUNS} runs, ${availableParallelism()} cores, pool of ${pool.size} workers; 1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (the pool can only gain when cores are idle).\n`,
  );
  console.log('| case | single thread msg/s | ms per message | pool msg/s | pool / single |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
