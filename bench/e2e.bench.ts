// End to end: a real Node-RED (a child process, the package from dist/, the default embedded ledger) running
// webform in (push) → validate → map (JOURNALPOST) → fordeling out (16 in flight) against the simulator, beside a raw
// keep-alive mutual-TLS client (node:https, no package code on its path) POSTing the same ~3 KB SOAP requests to the same
// simulator, 16 in flight. The simulator's XSD check is off so that it is not the limit. 3 repetitions, in one run;
// CPU per message of each process (Node-RED, and this process: the simulator plus the load generators) says which
// process saturates. `node --import tsx bench/e2e.bench.ts` (needs `npm run build` first). E2E_N: messages per rep.
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
import { serviceplatformNode } from '../test/support/platform';

process.env.SF2900_CONTRACT_DIR ??= path.resolve(__dirname, '..', '..', 'shared', 'sf2900');
const N = Number(process.env.E2E_N ?? 1500);
const REPS = 3;
const WARM_UP = 1000;
const IN_FLIGHT = 16;
const SECRET = 'bench-secret';
const SYSTEM = 'a0b1c2d3-0000-4000-8000-000000000001';
const TEXT = 'Jeg vil gerne høre om min ansøgning. '.repeat(28); // ~1 KB of note text: a ~3 KB request

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU seconds (user + system) of a process so far, from /proc. */
function cpuOf(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100 Hz)
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function flow(sim: { url: string }, certs: Awaited<ReturnType<typeof generateCerts>>) {
  return {
    flows: [
      { id: 't', type: 'tab', label: 'bench' },
      { id: 'c1', type: 'os2-certificate', name: 'client' },
      serviceplatformNode(sim, certs, { timeout: '30' }),
      { id: 'w1', z: 't', type: 'os2-webform-in', mode: 'push', path: '/bench/in', auth: 'header', authHeader: 'X-Webform-Secret', wires: [['v1']] },
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
      { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', concurrency: String(IN_FLIGHT), wires: [[], [], []] },
    ],
    credentials: { c1: { keyPem: certs.client.key, certPem: certs.client.cert }, sp: { ca: certs.ca.cert }, w1: { secret: SECRET } },
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

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-bench-e2e-'));
  const certs = await generateCerts(path.join(dir, 'certs'));
  const sim = await createSimulator({ certs, validate: false });
  // E2E_PROFILE=<dir>: Node-RED writes a V8 CPU profile there when it stops (node --cpu-prof)
  const profile = process.env.E2E_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.E2E_PROFILE)}`] : undefined;
  const red = new RedProcess({ userDir: path.join(dir, 'red'), ...flow(sim, certs), readyPath: '/bench/in', nodeArgs: profile });
  await red.start();
  const pid = red.child!.pid!;
  const rawAgent = new https.Agent({ keepAlive: true, maxSockets: IN_FLIGHT, key: certs.client.key, cert: certs.client.cert, ca: certs.ca.cert });
  const target = new URL(serviceUrl(sim.url));

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

  function rawPost(body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        target,
        {
          method: 'POST',
          agent: rawAgent,
          headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${SOAP_ACTIONS.afsend}"`, 'Content-Length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  // the submissions' load generator: node:http on a keep-alive agent, as the raw client uses node:https (fetch cost
  // this process ~0.5 ms more CPU per submission, which on 2 vCPUs is taken from Node-RED)
  const inAgent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const inUrl = new URL(`${red.url}/bench/in`);
  function post(): Promise<void> {
    const body = Buffer.from(submission());
    return new Promise((resolve, reject) => {
      const req = http.request(
        inUrl,
        { method: 'POST', agent: inAgent, headers: { 'content-type': 'application/json', 'x-webform-secret': SECRET, 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('error', reject);
          res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`webform in answered ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async function nodeRedRun(n: number) {
    const before = sim.stats.accepted;
    const cpu0 = [cpuOf(pid), selfCpu()];
    const t0 = performance.now();
    let next = 0;
    // submissions arrive as fast as webform in takes them, 16 at a time; delivery is what is timed
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next++ < n) await post();
      }),
    );
    await until(() => sim.stats.accepted - before >= n, 600_000, 'the deliveries');
    const s = (performance.now() - t0) / 1000;
    return { rate: n / s, redCpuMs: ((cpuOf(pid) - cpu0[0]!) / n) * 1000, selfCpuMs: ((selfCpu() - cpu0[1]!) / n) * 1000, seconds: s };
  }

  async function rawRun(bodies: Buffer[]) {
    const cpu0 = [cpuOf(pid), selfCpu()];
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < bodies.length) await rawPost(bodies[next++]!);
      }),
    );
    const s = (performance.now() - t0) / 1000;
    return { rate: bodies.length / s, redCpuMs: ((cpuOf(pid) - cpu0[0]!) / bodies.length) * 1000, selfCpuMs: ((selfCpu() - cpu0[1]!) / bodies.length) * 1000 };
  }

  const load0 = os.loadavg()[0]!;
  const rss0 = Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;
  console.log(`start ${new Date().toISOString()}; ${os.cpus().length} vCPU; load ${load0.toFixed(2)}; Node ${process.version}; ${N} messages per rep`);
  // warm-up: JIT, TLS sessions, the ledger file (with 200 the first rep ran both processes at half speed)
  await nodeRedRun(WARM_UP);
  await rawRun(await envelopes(WARM_UP));
  const rows: string[] = [];
  const ratios: number[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    const bodies = await envelopes(N);
    const raw = await rawRun(bodies);
    const red2 = await nodeRedRun(N);
    ratios.push(red2.rate / raw.rate);
    rows.push(
      `| ${rep} | ${red2.rate.toFixed(0)} | ${raw.rate.toFixed(0)} | ${((red2.rate / raw.rate) * 100).toFixed(0)} % | ${red2.redCpuMs.toFixed(2)} | ${red2.selfCpuMs.toFixed(2)} | ${raw.selfCpuMs.toFixed(2)} | ${os.loadavg()[0]!.toFixed(2)} |`,
    );
  }
  const rss1 = Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;
  console.log(
    '\n| rep | Node-RED flow /s | raw mTLS client /s | flow ÷ raw | Node-RED CPU ms/msg | bench process (simulator + load) CPU ms/msg, flow | same, raw | load 1 min |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(rows.join('\n'));
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(
    `\nflow ÷ raw: median ${(median(ratios) * 100).toFixed(0)} % (spread ${(sorted[0]! * 100).toFixed(0)}–${(sorted[sorted.length - 1]! * 100).toFixed(0)} %); Node-RED RSS ${rss0.toFixed(0)} → ${rss1.toFixed(0)} MB over ${REPS * N + WARM_UP} messages`,
  );
  rawAgent.destroy();
  inAgent.destroy();
  await red.stop();
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
