// Examples 05 and 06 work as imported, once a certificate is chosen and the environment variables are set.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import helper from 'node-red-node-test-helper';
import { createSimulator, type Simulator } from '../../simulator';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { NODES, serveHttpNode, sleep, until } from './harness';
import * as os from 'os';
import { spawnSync } from 'child_process';
import { startSftpSimulator, type SftpSimulator } from '../../simulator/sftp';
import { sshdUnavailableReason } from '../support/sshd';
import { startPostgres, type PostgresServer } from '../support/postgres';
import { FakeOs2formsApi } from '../support/os2forms-api';
import { RedProcess } from '../support/node-red';
import bcrypt from 'bcryptjs';

/* eslint-disable @typescript-eslint/no-require-imports */
const CORE = ['common/20-inject.js', 'function/10-function.js', 'common/90-comment.js'].map((f) => require(`@node-red/nodes/core/${f}`));

type FlowNode = Record<string, unknown> & { id: string; type: string; name?: string };
const example = (name: string): FlowNode[] => JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', `${name}.json`), 'utf8'));

describe('examples 05 and 06 against the simulator', function () {
  this.timeout(30000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  const env = ['OS2_SERVICEPLATFORM_URL', 'OS2_SENDER_CVR', 'OS2_SENDER_SYSTEM_UUID'];
  before(async function () {
    this.timeout(60000);
    certs = await testCerts();
    sim = await createSimulator({ certs, technicalReceiptDelayMs: 5, businessReceiptDelayMs: 20 });
    process.env.OS2_SERVICEPLATFORM_URL = sim.url;
    process.env.OS2_SENDER_CVR = certs.client.cvr;
    process.env.OS2_SENDER_SYSTEM_UUID = 'a0b1c2d3-0000-4000-8000-000000000001';
  });
  after(async () => {
    for (const k of env) delete process.env[k];
    await sim.close();
  });
  afterEach(() => helper.unload());

  it('contain no credentials', function () {
    for (const f of ['05 - Deliver to the Fordelingskomponent', '06 - Receive receipts']) {
      const nodes = example(f);
      assert.ok(
        nodes.every((n) => !('credentials' in n)),
        `${f}: credentials`,
      );
      assert.ok(!/-----BEGIN|PRIVATE KEY/.test(JSON.stringify(nodes)), `${f}: key material`);
      const sp = nodes.find((n) => n.type === 'os2-serviceplatform');
      if (sp)
        assert.deepEqual([sp.baseUrl, sp.senderCvr, sp.senderSystemUuid], ['${OS2_SERVICEPLATFORM_URL}', '${OS2_SENDER_CVR}', '${OS2_SENDER_SYSTEM_UUID}']);
    }
  });

  it('deliver a JOURNALPOST, ask FordelingsmodtagerList, and show its receipts', async function () {
    const flow = [...example('05 - Deliver to the Fordelingskomponent'), ...example('06 - Receive receipts')].map((n) => {
      const c: FlowNode = { ...n };
      if (c.type === 'debug') c.type = 'helper';
      if (!['os2-serviceplatform', 'os2-certificate'].includes(c.type)) c.z = 'tab';
      return c;
    });
    const cert = flow.find((n) => n.type === 'os2-certificate')!;
    const sp = flow.find((n) => n.type === 'os2-serviceplatform')!;
    await helper.load(
      [...CORE, ...NODES],
      [{ id: 'tab', type: 'tab' }, ...flow] as never,
      {
        [cert.id]: { p12: fs.readFileSync(certs.client.p12Path).toString('base64'), p12Passphrase: certs.client.p12Passphrase },
        // the example uses a custom URL: trust the simulator's CA
        [sp.id]: { ca: certs.ca.cert },
      } as never,
    );
    const srv = await serveHttpNode();
    try {
      sim.receipt = { url: `${srv.url}/os2/fordeling/kvittering` };
      // by node id: both examples have a debug node named "accepted"
      const seen: Record<string, Array<Record<string, any>>> = {};
      for (const h of flow.filter((n) => n.type === 'helper')) {
        seen[h.id] = [];
        helper.getNode(h.id).on('input', (m: Record<string, any>) => seen[h.id].push(m));
      }
      const debugOf = (file: string, name: string) => flow.find((n) => n.type === 'helper' && n.name === name && n.id.startsWith(file))!.id;
      const [delivered, failed, receipts] = [debugOf('e05', 'accepted'), debugOf('e05', 'failed'), debugOf('e06', 'accepted')];
      const injects = flow.filter((n) => n.type === 'inject');
      helper.getNode(injects.find((n) => /JOURNALPOST/.test(String(n.name)))!.id).receive({} as never);
      await until(() => seen[delivered].length === 1 || seen[failed].length === 1, 15000, 'delivery');
      assert.equal(seen[failed].length, 0, JSON.stringify(seen[failed][0]?.error));
      const tx = seen[delivered][0].transactionId;
      assert.match(tx, /^[0-9a-f-]{36}$/);
      await until(() => seen[receipts].filter((m) => m.transactionId === tx).length === 2, 15000, 'two receipts');
      assert.deepEqual(seen[receipts].map((m) => m.payload.receipt.code).sort(), ['ACCEPTERET', 'MODTAGET']);
      helper.getNode(injects.find((n) => /who receives/.test(String(n.name)))!.id).receive({} as never);
      await until(() => seen[delivered].length === 2, 15000, 'FordelingsmodtagerList answer');
      assert.equal(seen[delivered][1].payload[0].systemName, 'KP – Ekstern Test');
    } finally {
      await srv.close();
    }
  });
});

/**
 * Every example as a user imports it, each deployed on its own (a full deploy, like the editor's Deploy button) into a
 * real Node-RED — this repository's 4.x, or another installation with OS2_NODE_RED_PATH (Node-RED 5) — with what its
 * comment says to set: the environment variables (the simulator, the SFTP server, PostgreSQL) and the credentials
 * typed into the dialogs. None may log an error or warning. The new ones run end to end: an inject click (POST
 * /inject/:id, the editor's button), the delivery at the simulator (and the file at the SFTP server), the receipts
 * back, and the shipment as the OS2 sidebar shows it (its admin endpoint).
 */
describe('every example deployed in a real Node-RED', function () {
  this.timeout(180_000);
  const DIR = path.join(__dirname, '..', '..', 'examples');
  const FILES = fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const CONFIG = new Set(['os2-serviceplatform', 'os2-certificate', 'os2-sftp', 'os2-ledger', 'os2-os2forms-site']);
  const RECEIPT_PATH = '/os2/fordeling/kvittering';
  let certs: SimulatorCerts;
  let sim: Simulator;
  let sftp: SftpSimulator | undefined;
  let pg: PostgresServer | undefined;
  let api: FakeOs2formsApi;
  let red: RedProcess;
  let userDir: string;
  let token = '';
  const ADMIN_PASSWORD = 'example-admin-password';
  /** Node-RED's admin API as the logged-in editor calls it. */
  const admin = (p: string, init: RequestInit = {}) =>
    fetch(`${red.url}${p}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });

  before(async function () {
    this.timeout(120_000);
    certs = await testCerts();
    sim = await createSimulator({ certs, technicalReceiptDelayMs: 5, businessReceiptDelayMs: 20 });
    const noSshd = sshdUnavailableReason();
    if (noSshd && process.env.CI === 'true') throw new Error(`example 10 needs an sshd: ${noSshd}`);
    if (!noSshd) sftp = await startSftpSimulator({ intervalMs: 50 });
    pg = await startPostgres();
    api = await new FakeOs2formsApi('example-api-key').start();
    const now = Math.floor(Date.now() / 1000);
    api.add('ansoegning', { sid: 1, uuid: '0e0a0b0c-1111-4222-8333-000000000008', created: now - 60, completed: now - 30, data: { navn: 'Ida' } });
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-examples-'));
    red = new RedProcess({
      userDir,
      flows: [],
      credentials: {},
      nodeRedRoot: process.env.OS2_NODE_RED_PATH,
      env: {
        OS2_SERVICEPLATFORM_URL: sim.url,
        OS2_STS_URL: sim.stsUrl,
        OS2_SENDER_CVR: certs.client.cvr,
        OS2_SENDER_SYSTEM_UUID: 'a0b1c2d3-0000-4000-8000-000000000001',
        OS2_ROUTING_CVR: '14814833',
        ...(sftp
          ? {
              OS2_SFTP_HOST: sftp.settings.host,
              OS2_SFTP_PORT: String(sftp.settings.port),
              OS2_SFTP_USER: sftp.settings.username,
              OS2_SFTP_HOST_KEY: sftp.settings.hostKeyFingerprint,
            }
          : {}),
        ...(pg ? { OS2_LEDGER_DATABASE_URL: pg.connectionString } : {}),
      },
      // example 09's step 1: Node-RED's own users log in to approve (and the editor's API needs a token, as in production)
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'admin', password: bcrypt.hashSync(ADMIN_PASSWORD, 8), permissions: '*' },
            { username: 'sagsbehandler', password: bcrypt.hashSync(ADMIN_PASSWORD, 8), permissions: ['os2-approve.write'] },
          ],
        },
      },
    });
    await red.start();
    const login = await fetch(`${red.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: ADMIN_PASSWORD }),
    });
    assert.equal(login.status, 200, await login.clone().text());
    token = ((await login.json()) as { access_token: string }).access_token;
    sim.receipt = { url: `${red.url}${RECEIPT_PATH}` };
  });
  after(async () => {
    await red?.stop();
    await sftp?.stop();
    await pg?.release();
    await api?.stop();
    await sim?.close();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** What the example's comment asks the user to set in the dialogs (stored as credentials). */
  function credentialsFor(n: FlowNode): Record<string, unknown> | undefined {
    switch (n.type) {
      case 'os2-certificate':
        return { p12: fs.readFileSync(certs.client.p12Path).toString('base64'), p12Passphrase: certs.client.p12Passphrase };
      case 'os2-serviceplatform':
        // the simulator's own CA (a custom URL), and for the token model its STS certificate pinned
        return { ca: certs.ca.cert, stsPins: fs.readFileSync(certs.sts.certPath, 'utf8') };
      case 'os2-sftp':
        return sftp ? { privateKey: sftp.settings.privateKey } : undefined;
      case 'os2-os2forms-site':
        return { apiKey: 'example-api-key' };
      case 'os2-webform-in':
        return { secret: 'example-secret' };
      default:
        return undefined;
    }
  }

  /** The example in a tab of its own, as Import puts it, with its credentials; `change` edits a node as a user would. */
  function importFlow(file: string, change: (n: FlowNode) => void = () => undefined): FlowNode[] {
    const tab = `t${file.slice(0, 2)}${'0'.repeat(12)}`;
    const nodes = example(file.replace(/\.json$/, '')).map((n) => {
      const c: FlowNode = JSON.parse(JSON.stringify(n));
      if (!CONFIG.has(c.type)) c.z = tab;
      if (c.type === 'os2-os2forms-site') c.baseUrl = api.baseUrl; // "set the base URL of your OS2forms site"
      if (c.type === 'os2-sign' && c.mode === 'verify') c.pins = certs.client.cert; // "pin that certificate: … or its PEM"
      change(c);
      const credentials = credentialsFor(c);
      if (credentials) c.credentials = credentials;
      return c;
    });
    return [{ id: tab, type: 'tab', label: file }, ...nodes];
  }

  async function ready(): Promise<{ flows: boolean; ready: boolean; checks: Array<{ name: string; ok: boolean; detail?: string }> }> {
    const body = (await (await admin('/os2/ready')).json()) as { ready: boolean; checks: Array<{ name: string; ok: boolean; detail?: string }> };
    return { flows: body.checks.some((c) => c.name === 'flows' && c.ok), ready: body.ready, checks: body.checks };
  }

  async function put(flow: FlowNode[]): Promise<void> {
    const res = await admin('/flows', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flow),
    });
    assert.ok(res.status === 204 || res.status === 200, `deploy: ${res.status} ${await res.text()}`);
    let last = await ready();
    for (const end = Date.now() + 30_000; !last.ready && Date.now() < end; last = await ready()) await sleep(100);
    assert.ok(last.ready, `ready after the deploy: ${JSON.stringify(last.checks.filter((c) => !c.ok))}\n${red.log.slice(-3000)}`);
    await sleep(300); // what the nodes log right after starting (or stopping)
  }

  /**
   * A full deploy of the example alone (the previous one stopped by an empty deploy first, so what it logs while
   * stopping is not taken for this one's); resolves with what Node-RED logged until every check of /os2/ready passed.
   */
  async function deploy(flow: FlowNode[]): Promise<string> {
    await put([]);
    const from = red.log.length;
    await put(flow);
    return red.log.slice(from);
  }

  const click = async (id: string) => assert.equal((await admin(`/inject/${id}`, { method: 'POST' })).status, 200, `inject ${id}`);
  const injectNamed = (flow: FlowNode[], re: RegExp) => flow.find((n) => n.type === 'inject' && re.test(String(n.name)))!.id;

  interface Listed {
    transactionId: string;
    state: string;
    lastError?: string;
    ledger: { id: string; name: string };
    receipts: Array<{ type: string; code: string }>;
  }
  async function shipments(): Promise<Listed[]> {
    const res = await admin('/os2-overview/shipments?limit=50');
    assert.equal(res.status, 200);
    return ((await res.json()) as { shipments: Listed[] }).shipments;
  }
  /** Waits until the OS2 sidebar lists a shipment (of the ledger with this id, if given) that `done` accepts. */
  async function listed(ledger: string | undefined, done: (s: Listed) => boolean, what: string): Promise<Listed> {
    let seen: Listed[] = [];
    for (const end = Date.now() + 30_000; Date.now() < end; await sleep(200)) {
      seen = (await shipments()).filter((s) => ledger === undefined || s.ledger.id === ledger);
      const found = seen.find(done);
      if (found) return found;
    }
    throw new Error(`timed out waiting for ${what} (listed: ${JSON.stringify(seen)})\n${red.log.slice(-3000)}`);
  }
  const accepted = (s: Listed) =>
    s.state === 'accepted' &&
    s.receipts
      .map((r) => r.code)
      .sort()
      .join() === 'ACCEPTERET,MODTAGET';

  for (const file of FILES) {
    it(`${file}: deploys with no error or warning, and its flows start`, async function () {
      if (/DOKUMENT by SFTP/.test(file) && !sftp) this.skip();
      if (/PostgreSQL/.test(file) && !pg) this.skip();
      const log = await deploy(importFlow(file));
      assert.doesNotMatch(log, /\[(error|warn)\]/, log);
      const nodes = example(file.replace(/\.json$/, ''));
      assert.ok(
        nodes.every((n) => !('credentials' in n)),
        'no credentials in the file',
      );
      assert.ok(
        nodes.some((n) => n.type === 'comment' && typeof n.info === 'string' && n.info.length > 100),
        'a comment explains what to set',
      );
    });
  }

  it('example 08 fetches the submission from the OS2forms site with the API key', async () => {
    await deploy(importFlow('08 - Fetch OS2forms submissions.json'));
    await until(
      () => api.requests.some((r) => r.path.endsWith('/submission/0e0a0b0c-1111-4222-8333-000000000008') && r.status === 200),
      20_000,
      `the submission fetched: ${JSON.stringify(api.requests)}`,
    );
    assert.ok(api.requests.every((r) => r.apiKey === 'example-api-key'));
  });

  it('example 10 uploads the DOKUMENT file by SFTP, then delivers it, and the receipts come back', async function () {
    if (!sftp) this.skip();
    const flow = importFlow('10 - Deliver a DOKUMENT by SFTP.json');
    await deploy(flow);
    const before = sftp!.watcher.events.length;
    await click(injectNamed(flow, /sample attachment/));
    const s = await listed(undefined, accepted, 'the DOKUMENT accepted with both receipts');
    assert.equal(sim.shipments.get(s.transactionId)?.objektType, 'DOKUMENT');
    const files = sftp!.watcher.events.slice(before);
    assert.equal(files.length, 1, JSON.stringify(files));
    assert.ok(files[0]!.ok, JSON.stringify(files[0]!.errors));
    assert.match(files[0]!.fileName, /overslag_tandlaege\.pdf$/);
  });

  it('example 11 keeps an embedded ledger: a failed shipment is listed, and Resend delivers it once the cause is fixed', async () => {
    const file = '11 - Keep a ledger (embedded).json';
    // a wrong URL in the serviceplatform dialog first: the Serviceplatform's answer (404) is final, the shipment fails
    const wrong = importFlow(file, (n) => {
      if (n.type === 'os2-serviceplatform') n.baseUrl = `${sim.url}/wrong`;
    });
    const ledger = wrong.find((n) => n.type === 'os2-ledger')!.id;
    await deploy(wrong);
    await click(injectNamed(wrong, /JOURNALPOST/));
    // refused for good: failed, or dead-letter once fordeling out gives up; both offer Resend
    const failed = await listed(ledger, (s) => s.state === 'failed' || s.state === 'dead-letter', 'the failed shipment');
    assert.match(String(failed.lastError), /404/);
    assert.ok(!sim.shipments.has(failed.transactionId), 'not at the Serviceplatform');
    assert.ok(fs.existsSync(path.join(userDir, 'os2-ledger')), "the ledger's folder in the user directory");
    // the user corrects the URL and deploys: the example as it is
    await deploy(importFlow(file));
    const res = await admin(`/os2-overview/shipments/${failed.transactionId}/resend`, { method: 'POST' });
    assert.equal(res.status, 202, await res.text());
    await listed(ledger, (s) => s.transactionId === failed.transactionId && accepted(s), 'the resent shipment accepted');
    assert.ok(sim.shipments.has(failed.transactionId), 'the same transaction ID at the Serviceplatform');
  });

  it('example 12 keeps the ledger in PostgreSQL (the connection from OS2_LEDGER_DATABASE_URL)', async function () {
    if (!pg) this.skip();
    const flow = importFlow('12 - Keep a ledger in PostgreSQL.json');
    const ledger = flow.find((n) => n.type === 'os2-ledger')!;
    assert.deepEqual([ledger.backend, ledger.connectionEnv], ['postgresql', 'OS2_LEDGER_DATABASE_URL']);
    await deploy(flow);
    await click(injectNamed(flow, /JOURNALPOST/));
    const s = await listed(ledger.id, accepted, 'the shipment accepted with both receipts');
    assert.equal(s.ledger.name, 'PostgreSQL ledger');
    // in the database itself, not only as the overview says
    const { Client } = await import('pg');
    const client = new Client({ connectionString: pg!.connectionString });
    await client.connect();
    try {
      const r = await client.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'os2_ledger'");
      assert.ok(r.rows[0].n > 0, 'tables in the schema os2_ledger');
      const found = await client.query(`SELECT 1 FROM os2_ledger.shipments WHERE transaction_id = $1`, [s.transactionId]);
      assert.equal(found.rowCount, 1);
    } finally {
      await client.end();
    }
  });

  it('no example holds a secret (npm run check:flows)', () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'check-flows.js'), ...FILES.map((f) => path.join(DIR, f))], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    for (const f of FILES) assert.doesNotMatch(fs.readFileSync(path.join(DIR, f), 'utf8'), /-----BEGIN|postgres(ql)?:\/\/\w+:\w+@/i, f);
  });
});
