// Token model: STS token fetch (signed Issue request → simulator STS → pinned assertion check), and the per-delivery
// cost of the token model against the certificate model: deliver() one at a time against the local simulator (the
// simulator runs in this process, so its token checks count too), the client's envelope alone (buildTokenEnvelope
// vs a plain SOAP envelope), and the client's side alone with the simulator in a process of its own (clientSide).
// Medians of 5 runs; ratios within one run.
// `npm run build && node --import tsx bench/token.bench.ts` (the client code measured is the shipped dist/ build)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DeliveryContext, SecurityModel } from '../lib/delivery/deliver';
import type * as DeliverModule from '../lib/delivery/deliver';
import type * as TransportModule from '../lib/delivery/soap-transport';
import type * as TokenSecurityModule from '../lib/delivery/token-security';
import type * as AfsendModule from '../lib/sf2900/afsend';
import type * as SoapModule from '../lib/sf2900/soap';
import type * as KeysModule from '../lib/signing/keys';
import type * as StsModule from '../lib/sts';
import { fromDist } from './support/dist';
import { schedstat } from './support/schedstat';

const { certificateSecurity, prepareAfsend, sendAfsend } = fromDist<typeof DeliverModule>('lib/delivery/deliver');
const { SoapTransport } = fromDist<typeof TransportModule>('lib/delivery/soap-transport');
const { tokenSecurity, tokenSigner } = fromDist<typeof TokenSecurityModule>('lib/delivery/token-security');
const { buildAfsendRequest } = fromDist<typeof AfsendModule>('lib/sf2900/afsend');
const { soapEnvelope } = fromDist<typeof SoapModule>('lib/sf2900/soap');
const { loadSigningKey } = fromDist<typeof KeysModule>('lib/signing/keys');
const { buildTokenEnvelope, FORDELING_ENTITY_ID, requestToken, TokenCache, verifyTokenRequest } = fromDist<typeof StsModule>('lib/sts/index');

/** One send as the outbox makes it: serialise, then the call (no ledger: this measures the wire). */
async function deliver(obj: Parameters<typeof prepareAfsend>[0], ctx: DeliveryContext) {
  const { request } = await prepareAfsend(obj, ctx);
  return sendAfsend(request, ctx);
}
import type { FordelingsObject } from '../lib/sf2900/model';
import { SOAP_ACTIONS } from '../lib/sf2900/namespaces';
import { createSimulator } from '../simulator';
import { generateCerts } from '../simulator/certs';

import { performance } from 'node:perf_hooks';
import { fork } from 'node:child_process';

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
process.env.SF2900_CONTRACT_DIR ??= path.resolve(__dirname, '..', '..', 'shared', 'sf2900');

function object(i: number): FordelingsObject {
  return {
    objektType: 'JOURNALPOST',
    submissionId: `70ce0000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    webformId: 'bench',
    context: { routing: { receivingAuthorityCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' } },
    journalpost: { noteTitle: 'Henvendelse', noteText: 'x'.repeat(1000) },
    files: [],
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-bench-token-'));
  const certs = await generateCerts(dir);
  const sim = await createSimulator({ certs });
  const transport = new SoapTransport({ keyPem: certs.client.key, certPem: certs.client.cert, ca: [certs.ca.cert], timeoutMs: 10_000 });
  try {
    const key = loadSigningKey({ keyPem: certs.client.key, certPem: certs.client.cert });
    const fetch = () =>
      requestToken({ stsUrl: sim.stsUrl, appliesTo: FORDELING_ENTITY_ID, cvr: certs.client.cvr, key, stsPins: sim.stsCert, ca: [sim.ca], timeoutMs: 10_000 });
    await fetch(); // warm up (TLS, JIT)
    const fetchMs: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < 10; i++) await fetch();
      fetchMs.push(ms(t) / 10);
    }

    const cache = new TokenCache(fetch);
    const token = await cache.get();
    const models: Record<'certificate' | 'token', { baseUrl: string; security: SecurityModel }> = {
      certificate: { baseUrl: sim.url, security: certificateSecurity },
      token: { baseUrl: sim.tokenUrl, security: tokenSecurity({ cache, key: () => key, to: sim.tokenServiceUrl }) },
    };
    const N = 100;
    let serial = 0;
    const perDelivery: Record<'certificate' | 'token', number[]> = { certificate: [], token: [] };
    const ratios: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const got: Record<string, number> = {};
      for (const name of ['certificate', 'token'] as const) {
        const m = models[name];
        const ctx: DeliveryContext = {
          endpoint: { baseUrl: m.baseUrl, senderCvr: certs.client.cvr, senderSystemUuid: 'a0b1c2d3-0000-4000-8000-000000000001', timeoutMs: 10_000 },
          transport,
          security: m.security,
        };
        const t = process.hrtime.bigint();
        for (let i = 0; i < N; i++) await deliver(object(++serial), ctx);
        got[name] = ms(t) / N;
        perDelivery[name].push(got[name]);
        sim.reset();
      }
      ratios.push(got.token / got.certificate);
    }

    const body = buildAfsendRequest(object(0), {
      transactionId: '70ce0000-0000-4000-8000-000000000000',
      senderCvr: certs.client.cvr,
      senderSystemUuid: 'a0b1c2d3-0000-4000-8000-000000000001',
    });
    const envelopeMs: Record<'plain' | 'token' | 'verify', number[]> = { plain: [], token: [], verify: [] };
    const signed = buildTokenEnvelope(key, { bodyXml: body, action: SOAP_ACTIONS.afsend, to: sim.tokenServiceUrl, token });
    for (let run = 0; run < RUNS; run++) {
      let t = process.hrtime.bigint();
      for (let i = 0; i < 200; i++) soapEnvelope(body);
      envelopeMs.plain.push(ms(t) / 200);
      t = process.hrtime.bigint();
      for (let i = 0; i < 50; i++) buildTokenEnvelope(key, { bodyXml: body, action: SOAP_ACTIONS.afsend, to: sim.tokenServiceUrl, token });
      envelopeMs.token.push(ms(t) / 50);
      t = process.hrtime.bigint();
      for (let i = 0; i < 20; i++) verifyTokenRequest(signed, { stsPins: sim.stsCert, audience: FORDELING_ENTITY_ID });
      envelopeMs.verify.push(ms(t) / 20);
    }

    const rows = [
      '| what | median |',
      '|---|---|',
      `| token fetch: signed Issue request → simulator STS → assertion with pinned signature check (HTTPS, keep-alive off) | ${median(fetchMs).toFixed(1)} ms |`,
      `| deliver() JOURNALPOST, certificate model (mutual TLS), one at a time | ${median(perDelivery.certificate).toFixed(2)} ms |`,
      `| deliver() JOURNALPOST, token model (cached assertion; client signs, simulator verifies), one at a time | ${median(perDelivery.token).toFixed(2)} ms |`,
      `| token / certificate per delivery (ratio within a run) | ${median(ratios).toFixed(2)}× |`,
      `| client envelope only: plain SOAP envelope | ${(median(envelopeMs.plain) * 1000).toFixed(1)} µs |`,
      `| client envelope only: buildTokenEnvelope (WS-Security signature over 8 parts) | ${median(envelopeMs.token).toFixed(2)} ms |`,
      `| receiving side only: verifyTokenRequest (assertion + message signature), as the simulator does per request | ${median(envelopeMs.verify).toFixed(2)} ms |`,
      `| STS calls during the deliveries (cache) | ${cache.fetches} |`,
    ];
    console.log(rows.join('\n'));
    console.log(`\n${await clientSide(dir, 1)}`);
    // as fordeling out sends by default: 4 deliveries in flight (its concurrency setting)
    console.log(`\n${await clientSide(dir, 4)}`);
  } finally {
    transport.close();
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** This thread's CPU time in ms (Linux: from schedstat), or undefined where the kernel does not say. */
const threadCpuMs = (): number | undefined => schedstat()?.onCpuMs;

/**
 * The client's side only: the simulator runs in a process of its own (as the platform is another machine), so this
 * process's CPU is the client's — serialising, the token model's signature (on the signing thread too), TLS, reading
 * the answer. Per delivery: the main thread's CPU time (from /proc; the event loop's active time where /proc has no
 * schedstat, which also counts time the thread waited for a core) and the whole process's CPU. Medians of RUNS runs,
 * ratio within a run.
 */
async function clientSide(dir: string, inFlight: number): Promise<string> {
  const script = path.join(__dirname, 'support', 'simulator-process.ts');
  const child = fork(script, [dir], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const gone = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`the simulator process stopped (${signal ?? `exit code ${code}`})`))),
  );
  gone.catch(() => {}); // awaited only alongside the simulator's answers
  let transport: InstanceType<typeof SoapTransport> | undefined;
  let certs: Awaited<ReturnType<typeof generateCerts>>;
  let urls: { url: string; tokenUrl: string; tokenServiceUrl: string; stsUrl: string; stsCert: string; ca: string };
  try {
    urls = await Promise.race([new Promise<typeof urls>((resolve) => child.once('message', resolve as (m: unknown) => void)), gone]);
    certs = await generateCerts(dir, { reuse: true });
    transport = new SoapTransport({ keyPem: certs.client.key, certPem: certs.client.cert, ca: [certs.ca.cert], timeoutMs: 10_000 });
  } catch (err) {
    transport?.close();
    child.kill();
    throw err;
  }
  const schedstat = threadCpuMs() !== undefined;
  try {
    const key = loadSigningKey({ keyPem: certs.client.key, certPem: certs.client.cert });
    const cache = new TokenCache(() =>
      requestToken({
        stsUrl: urls.stsUrl,
        appliesTo: FORDELING_ENTITY_ID,
        cvr: certs.client.cvr,
        key,
        stsPins: urls.stsCert,
        ca: [urls.ca],
        timeoutMs: 10_000,
      }),
    );
    await cache.get();
    // as the serviceplatform node runs the token model: requests signed on a thread of their own
    const signer = tokenSigner(() => ({ keyPem: certs.client.key, certPem: certs.client.cert }));
    const models = {
      certificate: { baseUrl: urls.url, security: certificateSecurity },
      token: { baseUrl: urls.tokenUrl, security: tokenSecurity({ cache, key: () => key, to: urls.tokenServiceUrl }) },
      pooled: { baseUrl: urls.tokenUrl, security: tokenSecurity({ cache, key: () => key, to: urls.tokenServiceUrl, signer }) },
    };
    type Model = keyof typeof models | 'paced';
    const N = 100;
    let serial = 1_000_000;
    const setLatency = (latencyMs: number) =>
      Promise.race([
        new Promise<void>((resolve) => {
          child.once('message', () => resolve());
          child.send({ latencyMs });
        }),
        gone,
      ]);
    // main: the main thread's CPU time (or the event loop's active time); cpu: this process's CPU, the signing thread's
    // included; wall: elapsed time per delivery
    const measures = ['main', 'cpu', 'wall'] as const;
    const got = Object.fromEntries(measures.map((m) => [m, { certificate: [], token: [], pooled: [], paced: [] }])) as Record<
      (typeof measures)[number],
      Record<Model, number[]>
    >;
    const ratio = { main: { token: [] as number[], pooled: [] as number[] }, cpu: { token: [] as number[], pooled: [] as number[] } };
    const paced = { main: { token: [] as number[], pooled: [] as number[] }, cpu: { token: [] as number[], pooled: [] as number[] } };
    const latencies: number[] = [];
    for (let run = 0; run <= RUNS; run++) {
      const one: Record<(typeof measures)[number], Partial<Record<Model, number>>> = { main: {}, cpu: {}, wall: {} };
      for (const name of ['certificate', 'token', 'pooled', 'paced'] as const) {
        const model = models[name === 'paced' ? 'certificate' : name];
        // 'paced': the certificate model again, its answers held back by the time the token model's took longer (the
        // simulator's token check, which runs one at a time; × inFlight, as the held-back answers overlap): on this VM
        // a main thread that idles longer between deliveries spends more CPU on the same work (docs/performance.md),
        // so the two models are also compared at the same pace
        const latency = name === 'paced' ? Math.max(0, Math.round(inFlight * (one.wall.pooled! - one.wall.certificate!))) : 0;
        if (name === 'paced') {
          await setLatency(latency);
          if (run > 0) latencies.push(latency);
        }
        const ctx: DeliveryContext = {
          endpoint: { baseUrl: model.baseUrl, senderCvr: certs.client.cvr, senderSystemUuid: 'a0b1c2d3-0000-4000-8000-000000000001', timeoutMs: 10_000 },
          transport,
          security: model.security,
        };
        const elu0 = performance.eventLoopUtilization();
        const thread0 = threadCpuMs();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        let left = N;
        await Promise.all(
          Array.from({ length: inFlight }, async () => {
            while (left-- > 0) await deliver(object(++serial), ctx);
          }),
        );
        const used = process.cpuUsage(cpu0);
        const thread = threadCpuMs();
        one.wall[name] = (performance.now() - t0) / N;
        one.main[name] = (schedstat ? thread! - thread0! : performance.eventLoopUtilization(elu0).active) / N;
        one.cpu[name] = (used.user + used.system) / 1000 / N;
        if (latency) await setLatency(0);
        if (run > 0) for (const m of measures) got[m][name].push(one[m][name]!); // run 0 warms up
      }
      if (run > 0)
        for (const m of ['token', 'pooled'] as const)
          for (const x of ['main', 'cpu'] as const) {
            ratio[x][m].push(one[x][m]! / one[x].certificate!);
            paced[x][m].push(one[x][m]! / one[x].paced!);
          }
    }
    await signer.close();
    const pair = (m: Model) => `${median(got.main[m]).toFixed(2)} / ${median(got.cpu[m]).toFixed(2)}`;
    const times = (r: { main: number[]; cpu: number[] }) => `${median(r.main).toFixed(2)}× / ${median(r.cpu).toFixed(2)}×`;
    const row = (what: string, m: 'token' | 'pooled') =>
      `| ${what} | ${pair('certificate')} | ${pair(m)} | ${times({ main: ratio.main[m], cpu: ratio.cpu[m] })} | ${pair('paced')} | ${times({ main: paced.main[m], cpu: paced.cpu[m] })} |`;
    return [
      `Client side only (the simulator in a process of its own, ${inFlight === 1 ? 'one delivery at a time' : `${inFlight} deliveries in flight, fordeling out's default`}): per delivery, the main thread's`,
      `${schedstat ? 'CPU time' : "event loop's active time (no schedstat here)"} / this process's CPU (a signing thread counts), ms; ratios within a run (target ≤ 2×). Time per delivery:`,
      `certificate model ${median(got.wall.certificate).toFixed(2)} ms, token model ${median(got.wall.pooled).toFixed(2)} ms (signing thread); the certificate model paced as the token model (each answer held back ${median(latencies)} ms${inFlight > 1 ? `, ${inFlight} × the difference` : ''}) ${median(got.wall.paced).toFixed(2)} ms; both token rows are divided by this one paced model.`,
      '',
      '| token model | certificate model | token model | token ÷ certificate, main thread / CPU | certificate model, paced as the token model | token ÷ paced certificate |',
      '|---|---:|---:|---:|---:|---:|',
      row('signed on the event loop', 'token'),
      row('signed on a signing thread (as the serviceplatform node does)', 'pooled'),
    ].join('\n');
  } finally {
    transport.close();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.send('close');
      await exited;
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
