// End to end: a real Node-RED (a child process, the package from dist/, the default embedded ledger) running
// webform in (push) → validate → map (JOURNALPOST) → fordeling out (16 in flight) against the simulator, beside a raw
// keep-alive mutual-TLS client (node:https, no package code on its path) POSTing the same ~3 KB SOAP requests to the same
// simulator, 16 in flight. The simulator's XSD check is off so that it is not the limit. 3 repetitions, in one run;
// CPU per message of each process (Node-RED, and this process: the simulator plus the load generators) says which
// process saturates. Each rep also measures three floors, each receiving a ready request and relaying it to the
// simulator: a plain node:http → node:https relay (bench/e2e-relay.ts, a process of its own), and a second Node-RED
// relaying with a function node and with the core http request node. After the reps, 300 submissions are posted one at
// a time for webform in's answer time (what OS2forms' remote post waits for). `node --import tsx bench/e2e.bench.ts` (needs
// `npm run build` first). E2E_N: messages per rep; E2E_FLOORS=0: no floors; E2E_PROFILE=<dir>: the flow's CPU profile;
// E2E_LEDGER=memory: the flow on the in-memory ledger (the same ledger code with no file: not a configuration to run,
// but a bound on what a faster disk or looser durability could give the store); E2E_FSYNC_DELAY_US=<µs>: a slow disk
// (every fsync of the flow's Node-RED that much slower; needs a C compiler).
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { certificateSecurity, prepareAfsend, serviceUrl } from '../lib/delivery/deliver';
import { SOAP_ACTIONS } from '../lib/sf2900/namespaces';
import type { FordelingsObject } from '../lib/sf2900/model';
import { createSimulator } from '../simulator';
import { generateCerts } from '../simulator/certs';
import { RedProcess } from '../test/support/node-red';
import { schedstat } from './support/schedstat';
import { serviceplatformNode } from '../test/support/platform';

process.env.SF2900_CONTRACT_DIR ??= path.resolve(__dirname, '..', '..', 'shared', 'sf2900');
const N = Number(process.env.E2E_N ?? 1500);
const REPS = 3;
const WARM_UP = 1000;
const IN_FLIGHT = 16;
/** Submissions posted one at a time after the reps, for webform in's answer time. */
const ONE_BY_ONE = 300;
const LEDGER = process.env.E2E_LEDGER ?? 'embedded';
if (LEDGER !== 'embedded' && LEDGER !== 'memory') throw new Error(`E2E_LEDGER: "embedded" (the default) or "memory", not "${LEDGER}"`);
/** webform in's and fordeling out's ledger: none configured (the default embedded one), or an in-memory one. */
const ledgerRef = LEDGER === 'memory' ? { ledger: 'lm' } : {};
/** E2E_FSYNC_DELAY_US: every fsync of the flow's Node-RED that much slower (a slow disk; bench/support/slow-fsync.c). */
const FSYNC_DELAY_US = Number(process.env.E2E_FSYNC_DELAY_US ?? 0);
if (!Number.isInteger(FSYNC_DELAY_US) || FSYNC_DELAY_US < 0)
  throw new Error(`E2E_FSYNC_DELAY_US: microseconds (an integer ≥ 0), not "${process.env.E2E_FSYNC_DELAY_US}"`);

/** The flow's Node-RED environment for a slow disk: the shim compiled into `dir` and preloaded. */
function slowDisk(dir: string): Record<string, string> {
  if (!FSYNC_DELAY_US) return {};
  const lib = path.join(dir, 'slow-fsync.so');
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', lib, path.join(__dirname, 'support', 'slow-fsync.c'), '-ldl']);
  return { LD_PRELOAD: lib, FSYNC_DELAY_US: String(FSYNC_DELAY_US) };
}
const SECRET = 'bench-secret';
const SYSTEM = 'a0b1c2d3-0000-4000-8000-000000000001';
const TEXT = 'Jeg vil gerne høre om min ansøgning. '.repeat(28); // ~1 KB of note text: a ~3 KB request

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU seconds (user + system) of a process so far, from /proc. */
function cpuOf(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** A process's main thread's scheduler times so far (its tid is the pid), or undefined where the kernel does not say. */
const mainThreadOf = (pid: number) => schedstat(`/proc/${pid}/task/${pid}/schedstat`);
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function flow(sim: { url: string }, certs: Awaited<ReturnType<typeof generateCerts>>) {
  return {
    flows: [
      { id: 't', type: 'tab', label: 'bench' },
      { id: 'c1', type: 'os2-certificate', name: 'client' },
      ...(LEDGER === 'memory' ? [{ id: 'lm', type: 'os2-ledger', backend: 'memory' }] : []),
      serviceplatformNode(sim, certs, { timeout: '30' }),
      {
        id: 'w1',
        z: 't',
        type: 'os2-webform-in',
        mode: 'push',
        path: '/bench/in',
        auth: 'header',
        authHeader: 'X-Webform-Secret',
        ...ledgerRef,
        wires: [['v1']],
      },
      {
        id: 'v1',
        z: 't',
        type: 'os2-validate',
        property: 'payload',
        propertyType: 'msg',
        schemaSource: 'node',
        schema: JSON.stringify({
          type: 'object',
          required: ['data'],
          properties: {
            data: { type: 'object', required: ['navn', 'besked'], properties: { navn: { type: 'string', minLength: 1 }, besked: { type: 'string' } } },
          },
        }),
        wires: [['m1'], []],
      },
      {
        id: 'm1',
        z: 't',
        type: 'os2-map',
        objektType: 'JOURNALPOST',
        routingMode: 'kle',
        routingCvr: '14814833',
        routingCvrType: 'str',
        kle: '32.03.12',
        kleType: 'str',
        handlingFacet: 'G01',
        handlingFacetType: 'str',
        noteTitle: 'Henvendelse fra {{data.navn}}',
        noteTitleType: 'template',
        noteText: 'payload.data.besked',
        noteTextType: 'msg',
        title: 'Henvendelse',
        titleType: 'str',
        files: [],
        wires: [['fo']],
      },
      { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', concurrency: String(IN_FLIGHT), ...ledgerRef, wires: [[], [], []] },
    ],
    credentials: {
      c1: { keyPem: certs.client.key, certPem: certs.client.cert },
      sp: { ca: certs.ca.cert },
      w1: { secret: SECRET },
    },
  };
}

/**
 * The floors in Node-RED, in a Node-RED process of their own (so that their garbage and connections do not weigh on the
 * flow's): core nodes relaying a ready SOAP request, answering once the simulator has.
 */
function floorFlow(sim: { url: string }, certs: Awaited<ReturnType<typeof generateCerts>>) {
  return {
    flows: [
      // Node-RED's floor, core nodes only: http in → http request (keep-alive, mutual TLS) → http response. It relays a
      // ready SOAP request and answers once the simulator has: no validation, mapping, storage or retries
      { id: 'f', type: 'tab', label: 'floor' },
      {
        id: 'tls1',
        type: 'tls-config',
        name: 'client',
        cert: '',
        key: '',
        ca: '',
        certname: '',
        keyname: '',
        caname: '',
        servername: '',
        verifyservercert: true,
      },
      { id: 'fi', z: 'f', type: 'http in', url: '/bench/floor', method: 'post', upload: false, swaggerDoc: '', wires: [['fh']] },
      {
        id: 'fh',
        z: 'f',
        type: 'change',
        rules: [
          {
            t: 'set',
            p: 'headers',
            pt: 'msg',
            to: JSON.stringify({ 'content-type': 'text/xml; charset=utf-8', SOAPAction: `"${SOAP_ACTIONS.afsend}"` }),
            tot: 'json',
          },
        ],
        wires: [['fr']],
      },
      {
        id: 'fr',
        z: 'f',
        type: 'http request',
        method: 'POST',
        ret: 'txt',
        paytoqs: 'ignore',
        url: serviceUrl(sim.url),
        tls: 'tls1',
        persist: true,
        proxy: '',
        authType: '',
        senderr: false,
        headers: [],
        wires: [['fd']],
      },
      {
        id: 'fd',
        z: 'f',
        type: 'change',
        rules: [
          { t: 'delete', p: 'headers', pt: 'msg' },
          { t: 'set', p: 'payload', pt: 'msg', to: '', tot: 'str' },
        ],
        wires: [['fo2']],
      },
      { id: 'fo2', z: 'f', type: 'http response', statusCode: '', headers: {} },
      // Node-RED's runtime floor: http in → a function node relaying with node:https on a keep-alive agent → http response
      { id: 'gi', z: 'f', type: 'http in', url: '/bench/runtime', method: 'post', upload: false, swaggerDoc: '', wires: [['gf']] },
      {
        id: 'gf',
        z: 'f',
        type: 'function',
        libs: [{ var: 'https', module: 'https' }],
        initialize:
          "context.set('agent', new https.Agent({ keepAlive: true, maxSockets: 16, timeout: 4000, key: env.get('BENCH_KEY'), cert: env.get('BENCH_CERT'), ca: env.get('BENCH_CA') }));",
        func: `const body = Buffer.from(msg.payload);
const req = https.request(${JSON.stringify(serviceUrl(sim.url))}, { method: 'POST', agent: context.get('agent'),
  headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: ${JSON.stringify(`"${SOAP_ACTIONS.afsend}"`)}, 'Content-Length': body.length } }, (res) => {
  res.resume();
  res.on('end', () => { msg.statusCode = res.statusCode; msg.payload = ''; node.send(msg); node.done(); });
});
req.on('error', (err) => { msg.statusCode = 502; msg.payload = ''; node.send(msg); node.done(err); });
req.end(body);
return;`,
        finalize: "context.get('agent')?.destroy();",
        outputs: 1,
        wires: [['fo2']],
      },
    ],
    credentials: { tls1: { certdata: certs.client.cert, keydata: certs.client.key, cadata: certs.ca.cert } },
  };
}

function submission(): string {
  const now = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    sid: '1',
    uuid: randomUUID(),
    webform_id: 'henvendelse',
    created: String(now),
    completed: String(now),
    navn: 'Åse Ærø',
    besked: TEXT,
  });
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** What main() started, stopped at its end or when it fails (newest first). */
const started: Array<() => unknown> = [];

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-bench-e2e-'));
  started.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = await generateCerts(path.join(dir, 'certs'));
  const sim = await createSimulator({ certs, validate: false });
  started.push(() => sim.close());
  // E2E_PROFILE=<dir>: Node-RED writes a V8 CPU profile there when it stops (node --cpu-prof)
  const profile = process.env.E2E_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.E2E_PROFILE)}`] : undefined;
  const red = new RedProcess({ userDir: path.join(dir, 'red'), ...flow(sim, certs), readyPath: '/bench/in', nodeArgs: profile, env: slowDisk(dir) });
  started.push(() => red.stop());
  await red.start();
  const pid = red.child!.pid!;
  // E2E_FLOORS=0: the flow and the raw client only (for a CPU profile of the flow alone)
  const floorsToo = process.env.E2E_FLOORS !== '0';
  const floorRed = new RedProcess({
    userDir: path.join(dir, 'red-floor'),
    ...floorFlow(sim, certs),
    readyPath: '/bench/runtime',
    env: { BENCH_KEY: certs.client.key, BENCH_CERT: certs.client.cert, BENCH_CA: certs.ca.cert },
    settings: { functionExternalModules: true },
  });
  started.push(() => floorRed.stop());
  if (floorsToo) await floorRed.start();
  const floorPid = floorRed.child?.pid ?? pid;
  const rawAgent = new https.Agent({ keepAlive: true, maxSockets: IN_FLIGHT, key: certs.client.key, cert: certs.client.cert, ca: certs.ca.cert });
  const target = new URL(serviceUrl(sim.url));
  const relay = floorsToo ? await startRelay(dir, target, certs) : undefined;

  // the raw client's requests: real FordelingsobjektAfsend envelopes of the same size, made before the clock starts
  async function envelopes(n: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const endpoint = { baseUrl: sim.url, senderCvr: certs.client.cvr, senderSystemUuid: SYSTEM, timeoutMs: 30_000 };
    for (let i = 0; i < n; i++) {
      const obj: FordelingsObject = {
        objektType: 'JOURNALPOST',
        submissionId: randomUUID(),
        webformId: 'henvendelse',
        context: { routing: { receivingAuthorityCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' } },
        journalpost: { noteTitle: 'Henvendelse fra Åse Ærø', noteText: TEXT },
        files: [],
      };
      const { request } = await prepareAfsend(obj, { endpoint });
      out.push(Buffer.from(await certificateSecurity.envelope(request, 'FordelingsobjektAfsend')));
    }
    return out;
  }

  /** One POST on a keep-alive agent; resolves when the answer has the expected status. */
  function post(lib: typeof http | typeof https, agent: http.Agent, url: URL, body: Buffer, headers: http.OutgoingHttpHeaders, status: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method: 'POST', agent, headers: { ...headers, 'Content-Length': body.length } }, (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => (res.statusCode === status ? resolve() : reject(new Error(`${url.pathname} answered ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  const soapHeaders = { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${SOAP_ACTIONS.afsend}"` };

  // the load generator for the relays and the flow: node:http on a keep-alive agent, as the raw client uses node:https
  // (fetch cost this process ~0.5 ms more CPU per submission, which on 2 vCPUs is taken from Node-RED)
  const inAgent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const inUrl = new URL(`${red.url}/bench/in`);
  const floorUrl = new URL(`${floorRed.url}/bench/floor`);
  const runtimeUrl = new URL(`${floorRed.url}/bench/runtime`);
  const relayUrl = new URL(`http://127.0.0.1:${relay?.port ?? 0}/`);
  const relayCpu = () => (relay ? cpuOf(relay.pid) : 0);

  /** Runs `send` for 0..n-1, IN_FLIGHT at a time. */
  async function inFlight(n: number, send: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < n) await send(next++);
      }),
    );
  }

  /** Times `run` and charges CPU to the flow's Node-RED, the floors' Node-RED, the relay and this process. */
  async function timed(n: number, run: () => Promise<void>) {
    // each phase on fresh connections: a keep-alive socket left idle by the phases between may be closed by its server
    // (keepAliveTimeout, 5 s) just as it is taken again, and that request fails with "socket hang up" (seen once)
    inAgent.destroy();
    rawAgent.destroy();
    const cpu0 = [cpuOf(pid), cpuOf(floorPid), relayCpu(), selfCpu()];
    const main0 = mainThreadOf(pid);
    const t0 = performance.now();
    await run();
    const s = (performance.now() - t0) / 1000;
    const main = mainThreadOf(pid);
    const per = (now: number, was: number) => ((now - was) / n) * 1000;
    return {
      rate: n / s,
      redCpuMs: per(cpuOf(pid), cpu0[0]!),
      floorCpuMs: per(cpuOf(floorPid), cpu0[1]!),
      relayCpuMs: per(relayCpu(), cpu0[2]!),
      selfCpuMs: per(selfCpu(), cpu0[3]!),
      // the share of the phase's wall time the flow's Node-RED main thread (its event loop) was on a CPU
      redMainBusy: main && main0 ? (main.onCpuMs - main0.onCpuMs) / 1000 / s : undefined,
      // … and the share it was ready to run but waited for a CPU (the rest it was idle, waiting for work or I/O)
      redMainWaiting: main && main0 ? (main.waitingMs - main0.waitingMs) / 1000 / s : undefined,
    };
  }

  /** One submission to webform in, as OS2forms' remote post sends it; resolves on its 202. */
  const postSubmission = () => post(http, inAgent, inUrl, Buffer.from(submission()), { 'content-type': 'application/json', 'x-webform-secret': SECRET }, 202);
  const nodeRedRun = (n: number) =>
    timed(n, async () => {
      const before = sim.stats.accepted;
      // submissions arrive as fast as webform in takes them, 16 at a time; delivery is what is timed
      await inFlight(n, () => postSubmission());
      await until(() => sim.stats.accepted - before >= n, 600_000, 'the deliveries');
    });
  const rawRun = (bodies: Buffer[]) => timed(bodies.length, () => inFlight(bodies.length, (i) => post(https, rawAgent, target, bodies[i]!, soapHeaders, 200)));
  const relayTo = (url: URL) => (bodies: Buffer[]) =>
    timed(bodies.length, () => inFlight(bodies.length, (i) => post(http, inAgent, url, bodies[i]!, soapHeaders, 200)));
  const relayRun = relayTo(relayUrl);
  const floorRun = relayTo(floorUrl);
  const runtimeRun = relayTo(runtimeUrl);

  const rssOf = () => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;
  const load0 = os.loadavg()[0]!;
  const rss0 = rssOf();
  console.log(
    `start ${new Date().toISOString()}; ${os.cpus().length} vCPU; load ${load0.toFixed(2)}; Node ${process.version}; ${N} messages per rep; ledger ${LEDGER}${FSYNC_DELAY_US ? `; every fsync ${FSYNC_DELAY_US} µs slower` : ''}`,
  );
  // warm-up: JIT, TLS sessions, the ledger file (with 200 the first rep ran both processes at half speed)
  await nodeRedRun(WARM_UP);
  await rawRun(await envelopes(WARM_UP));
  if (floorsToo) {
    await relayRun(await envelopes(WARM_UP));
    await floorRun(await envelopes(WARM_UP));
    await runtimeRun(await envelopes(WARM_UP));
  }
  const rows: string[] = [];
  const floors: string[] = [];
  const ratios: number[] = [];
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;
  for (let rep = 1; rep <= REPS; rep++) {
    // the flow right after the raw client; then the floors
    // the raw client runs 3× the flow's count: at ~2,000 per second N alone took under a second, and the raw rate moved
    // by half between reps
    const raw = await rawRun(await envelopes(3 * N));
    const red2 = await nodeRedRun(N);
    ratios.push(red2.rate / raw.rate);
    rows.push(
      `| ${rep} | ${red2.rate.toFixed(0)} | ${raw.rate.toFixed(0)} | ${pct(red2.rate, raw.rate)} | ${red2.redCpuMs.toFixed(2)} | ${red2.redMainBusy === undefined ? '– (no schedstat)' : `${pct(red2.redMainBusy, 1)} / ${pct(red2.redMainWaiting!, 1)}`} | ${red2.selfCpuMs.toFixed(2)} | ${raw.selfCpuMs.toFixed(2)} | ${os.loadavg()[0]!.toFixed(2)} |`,
    );
    if (!floorsToo) continue;
    const relayed = await relayRun(await envelopes(N));
    const runtime = await runtimeRun(await envelopes(N));
    const floor = await floorRun(await envelopes(N));
    floors.push(
      `| ${rep} | ${relayed.rate.toFixed(0)} | ${pct(relayed.rate, raw.rate)} | ${relayed.relayCpuMs.toFixed(2)} | ${runtime.rate.toFixed(0)} | ${pct(runtime.rate, raw.rate)} | ${runtime.floorCpuMs.toFixed(2)} | ${floor.rate.toFixed(0)} | ${pct(floor.rate, raw.rate)} | ${floor.floorCpuMs.toFixed(2)} | ${pct(red2.rate, runtime.rate)} |`,
    );
  }
  // webform in's answer one submission at a time: what OS2forms' remote post (and the citizen's browser behind it)
  // waits for, while fordeling out delivers what came before
  inAgent.destroy();
  const answers: number[] = [];
  const accepted0 = sim.stats.accepted;
  for (let i = 0; i < ONE_BY_ONE; i++) {
    const t = performance.now();
    await postSubmission();
    answers.push(performance.now() - t);
  }
  await until(() => sim.stats.accepted - accepted0 >= ONE_BY_ONE, 600_000, 'the deliveries');
  const rss1 = rssOf();
  console.log(
    '\n| rep | Node-RED flow /s | raw mTLS client /s | flow ÷ raw | Node-RED CPU ms/msg | Node-RED main thread on a CPU / waiting for one | bench process (simulator + load) CPU ms/msg, flow | same, raw | load 1 min |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(rows.join('\n'));
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(
    `\nflow ÷ raw: median ${(median(ratios) * 100).toFixed(0)} % (spread ${(sorted[0]! * 100).toFixed(0)}–${(sorted[sorted.length - 1]! * 100).toFixed(0)} %); Node-RED RSS ${rss0.toFixed(0)} → ${rss1.toFixed(0)} MB over ${REPS * N + WARM_UP + ONE_BY_ONE} messages`,
  );
  const q = (p: number) => [...answers].sort((a, b) => a - b)[Math.min(answers.length - 1, Math.floor(p * answers.length))]!.toFixed(2);
  console.log(
    `\nwebform in's answer (202), ${ONE_BY_ONE} submissions one at a time while fordeling out delivers them: p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms`,
  );
  if (floorsToo) {
    console.log(
      '\nThe floors, same reps: a process that receives each request and relays it, answering after the simulator did (the Node-RED ones in a Node-RED of their own)',
    );
    console.log(
      '| rep | plain node:http → node:https /s | ÷ raw | its CPU ms/msg | Node-RED http in → function (node:https) /s | ÷ raw | Node-RED CPU ms/msg | Node-RED http in → http request (core) /s | ÷ raw | Node-RED CPU ms/msg | flow ÷ Node-RED function relay |',
    );
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    console.log(floors.join('\n'));
  }
  rawAgent.destroy();
  inAgent.destroy();
}

/** Starts bench/e2e-relay.ts as a child process; resolves with its pid and port. */
async function startRelay(dir: string, target: URL, certs: Awaited<ReturnType<typeof generateCerts>>) {
  const certFile = path.join(dir, 'relay-certs.json');
  fs.writeFileSync(certFile, JSON.stringify({ key: certs.client.key, cert: certs.client.cert, ca: certs.ca.cert }), { mode: 0o600 });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'e2e-relay.ts')], {
    env: { ...process.env, RELAY_TARGET: target.href, RELAY_CERTS: certFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(() => child.kill('SIGKILL')); // if it never says its port
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the relay exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number.parseInt(d.toString(), 10)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  started.push(stop);
  if (!Number.isInteger(port) || port <= 0) throw new Error('the relay did not say its port');
  return { pid: child.pid!, port };
}

/** Stops what main() started, newest first; a failure to stop one does not keep the others running. */
async function stopAll(): Promise<void> {
  for (const stop of started.reverse()) {
    try {
      await stop();
    } catch (err) {
      console.error(err);
    }
  }
}

main()
  .then(stopAll)
  .catch(async (err) => {
    console.error(err);
    await stopAll();
    process.exit(1);
  });
