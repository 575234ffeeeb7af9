// What operators probe and scrape, through a real Node-RED with a PostgreSQL ledger and the simulator: /os2/health,
// /os2/ready (false while PostgreSQL is down, true when it is back; false with an expired certificate) and
// /os2/metrics (Prometheus text whose counters move with deliveries and receipts; a bearer token when one is set).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSimulator, type Simulator } from '../../simulator';
import { journalpost } from '../lib/sf2900/fixtures';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { RedProcess, buildJournalpostCode } from '../support/node-red';
import { serviceplatformNode } from '../support/platform';
import { startPostgres, type PostgresServer } from '../support/postgres';

const SECRET = 'ops-secret';
const TOKEN = 'scrape-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A certificate whose validity ended in 2020 (openssl ca with explicit dates). */
function expiredCertificate(dir: string): { key: string; cert: string } {
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'serial'), '01\n');
  fs.writeFileSync(
    path.join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca = x\n[x]\ndir = .\ndatabase = ./index.txt\nserial = ./serial\nnew_certs_dir = .\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n',
  );
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'r.csr', '-subj', '/CN=udloebet']);
  run([
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-selfsign',
    '-keyfile',
    'k.pem',
    '-in',
    'r.csr',
    '-out',
    'c.pem',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200201000000Z',
    '-notext',
  ]);
  return { key: fs.readFileSync(path.join(dir, 'k.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'c.pem'), 'utf8') };
}

/** The Prometheus text format, line by line (an independent check, not prom-client's own code). */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `not Prometheus text: ${line}`);
    values.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return values;
}

describe('operations: health, readiness and metrics through a real Node-RED', function () {
  this.timeout(120_000);
  let pg: PostgresServer | undefined;
  let sim: Simulator;
  let certs: SimulatorCerts;
  let tmp: string;
  let red: RedProcess;

  before(async function () {
    pg = await startPostgres();
    if (!pg) return this.skip(); // only when PostgreSQL is not installed and CI is not set (startPostgres throws under CI=true)
    certs = await testCerts();
    sim = await createSimulator({ certs });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-ops-'));
  });
  after(async () => {
    await red?.stop();
    await sim?.close();
    await pg?.release();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('health answers; readiness follows the ledger and the certificates; metrics move with deliveries and receipts', async function () {
    const expired = expiredCertificate(fs.mkdtempSync(path.join(tmp, 'ca-')));
    const template = journalpost();
    template.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.12' };
    const flows = (withExpired: boolean) => [
      { id: 't', type: 'tab', label: 'ops' },
      { id: 'c1', type: 'os2-certificate', name: 'foces' },
      ...(withExpired ? [{ id: 'c2', type: 'os2-certificate', name: 'gammel' }] : []),
      serviceplatformNode(sim, certs),
      { id: 'L', type: 'os2-ledger', name: 'delt', backend: 'postgresql', retentionDays: '0' },
      { id: 'w1', z: 't', type: 'os2-webform-in', mode: 'push', path: '/ops/in', auth: 'header', authHeader: 'X-Webform-Secret', ledger: 'L', wires: [['f1']] },
      { id: 'f1', z: 't', type: 'function', func: buildJournalpostCode(template), outputs: 1, wires: [['fo']] },
      { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', ledger: 'L', retryBase: '0.2', wires: [[], []] },
      { id: 'ri', z: 't', type: 'os2-receipt-in', path: '/ops/receipt', allow: '127.0.0.1', ledger: 'L', wires: [[], [], []] },
    ];
    const credentials = (withExpired: boolean) => ({
      c1: { keyPem: certs.client.key, certPem: certs.client.cert },
      ...(withExpired ? { c2: { keyPem: expired.key, certPem: expired.cert } } : {}),
      sp: { ca: certs.ca.cert },
      w1: { secret: SECRET },
      L: { connectionString: pg!.connectionString },
    });
    red = new RedProcess({
      userDir: path.join(tmp, 'red'),
      readyPath: '/ops/in',
      env: { OS2_METRICS_TOKEN: TOKEN },
      flows: flows(false),
      credentials: credentials(false),
    });
    await red.start();
    sim.receipt = { url: `${red.url}/ops/receipt` };

    assert.deepEqual(await (await fetch(`${red.url}/os2/health`)).json(), { status: 'ok' });
    let ready = await fetch(`${red.url}/os2/ready`);
    const body = (await ready.json()) as { ready: boolean; checks: Array<{ name: string; ok: boolean }> };
    assert.equal(ready.status, 200, JSON.stringify(body));
    assert.deepEqual(
      body.checks.map((c) => c.name).sort(),
      ['certificate:foces', 'flows', 'ledger:delt'].concat(body.checks.some((c) => c.name === 'ledger:default') ? ['ledger:default'] : []).sort(),
    );
    assert.ok(!JSON.stringify(body).includes(pg!.connectionString), 'no connection string in the answer');

    const scrape = async () => {
      assert.equal((await fetch(`${red.url}/os2/metrics`)).status, 401, 'the token is required');
      const res = await fetch(`${red.url}/os2/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      return parseMetrics(await res.text());
    };
    const before = await scrape();
    const n = 3;
    for (let i = 0; i < n; i++) {
      const r = await fetch(`${red.url}/ops/in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webform-secret': SECRET },
        body: JSON.stringify({ uuid: randomUUID(), webform_id: 'ops_form', navn: 'Test' }),
      });
      assert.equal(r.status, 202);
    }
    let after = before;
    for (let i = 0; i < 100; i++) {
      after = await scrape();
      if ((after.get('os2_receipts_total{type="Forretning",code="ACCEPTERET"}') ?? 0) >= n) break;
      await sleep(100);
    }
    const moved = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    assert.equal(moved('os2_submissions_total{outcome="passed"}'), n);
    assert.equal(moved('os2_delivery_attempts_total{outcome="ok"}'), n);
    assert.equal(moved('os2_delivery_send_seconds_count'), n);
    assert.equal(moved('os2_receipts_total{type="Teknisk",code="MODTAGET"}'), n);
    assert.equal(moved('os2_receipts_total{type="Forretning",code="ACCEPTERET"}'), n);
    assert.equal(moved('os2_delivery_receipt_seconds_count'), n);
    assert.equal(after.get('os2_shipments{state="accepted"}'), n);
    assert.equal(after.get('os2_queue_depth'), 0);
    assert.ok((after.get('os2_certificate_days_to_expiry{certificate="foces"}') ?? 0) > 0);
    const breakers = [...after].filter(([k]) => k.startsWith('os2_breaker_state{'));
    assert.equal(breakers.length, 1, JSON.stringify(breakers));
    assert.match(breakers[0][0], /^os2_breaker_state\{endpoint="https?:\/\/127\.0\.0\.1:\d+\/[^"?]*"\}$/);
    assert.equal(breakers[0][1], 0, 'closed after the deliveries');
    assert.ok(
      [...after.keys()].every((k) => !/[0-9a-f]{8}-[0-9a-f]{4}-/.test(k)),
      'no ids in the labels',
    );

    // PostgreSQL down: not ready; back: ready again
    await pg!.stop();
    try {
      for (let i = 0; i < 50 && ready.status !== 503; i++) {
        ready = await fetch(`${red.url}/os2/ready`);
        if (ready.status !== 503) await sleep(200);
      }
      const down = (await ready.json()) as { checks: Array<{ name: string; ok: boolean; detail?: string }> };
      assert.equal(ready.status, 503);
      assert.equal(down.checks.find((c) => c.name === 'ledger:delt')?.ok, false);
    } finally {
      await pg!.start();
    }
    for (let i = 0; i < 100; i++) {
      ready = await fetch(`${red.url}/os2/ready`);
      if (ready.status === 200) break;
      await sleep(200);
    }
    assert.equal(ready.status, 200, 'ready again once PostgreSQL is back');

    // an expired certificate in use: not ready
    await red.stop();
    red = new RedProcess({ userDir: path.join(tmp, 'red'), readyPath: '/ops/in', flows: flows(true), credentials: credentials(true) });
    await red.start();
    const withExpired = await fetch(`${red.url}/os2/ready`);
    const checks = ((await withExpired.json()) as { checks: Array<{ name: string; ok: boolean; detail?: string }> }).checks;
    assert.equal(withExpired.status, 503);
    assert.match(checks.find((c) => c.name === 'certificate:gammel')?.detail ?? '', /expired 2020-02-01/);
    assert.equal(checks.find((c) => c.name === 'certificate:foces')?.ok, true);
  });
});
