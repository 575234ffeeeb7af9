// The container files of deploy/, exercised outside a container (no machine here can pull the base image): the SAME
// entrypoint.sh and settings.js start two Node-RED "replicas" with the environment compose.yaml gives them, a temp
// directory standing in for the mounted git checkout, and a throw-away PostgreSQL as the shared ledger; the image's
// healthcheck.js and the simulator service's script run as they would in the image; the proxy's Caddyfile runs in a
// real Caddy; compose.yaml is checked by docker-compose; the Dockerfile's COPY sources must exist.
//
// Stand-ins for what the image provides: node-red is this repository's devDependency (or OS2_NODE_RED_PATH's, as
// for Node-RED 5 in CI), and the package is a symlink in the user directory's node_modules to this repository (built
// dist/), where the image has the installed tarball in /usr/src/node-red/node_modules.
import { strict as assert } from 'node:assert';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import pg from 'pg';
import { freePort } from '../support/net';
import { startPostgres, type PostgresServer } from '../support/postgres';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');
const deploy = path.join(root, 'deploy');
const nodeRedDir = process.env.OS2_NODE_RED_PATH ? path.resolve(process.env.OS2_NODE_RED_PATH) : root;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const LEDGER_ID = 'a05d000000000002';
const WEBFORM_ID = 'a05d000000000004';
const LEDGER_NAME = 'PostgreSQL ledger';

/** Secrets as the operator's .env would hold them: none of them may show up in flows, answers or files in git. */
const secrets = {
  credential: randomBytes(24).toString('base64url'),
  adminPassword: `admin-${randomBytes(9).toString('base64url')}`,
  metricsToken: `metrics-${randomBytes(12).toString('hex')}`,
  pgPassword: `pg-${randomBytes(12).toString('hex')}`,
  webform: `webform-${randomBytes(12).toString('hex')}`,
};

/** Whether a command exists on PATH; under CI=true a missing one is an error, since no test may skip there. */
async function tool(name: string, apt: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`${name} is not installed, and CI=true: install the Debian package ${apt}`);
    console.warn(`  (skipping: ${name} is not installed; apt-get install ${apt})`);
    return false;
  }
}

/** The credentials file as Node-RED writes it with a credentialSecret: aes-256-ctr, key sha256(secret), IV in front. */
function encryptCredentials(secret: string, credentials: Record<string, unknown>): string {
  const key = createHash('sha256').update(secret).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return JSON.stringify({ $: iv.toString('hex') + cipher.update(JSON.stringify(credentials), 'utf8', 'base64') + cipher.final('base64') });
}

/** A process started from one of deploy/'s shell scripts, with everything it printed. */
class Script {
  child: ChildProcess;
  out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(file: string, env: Record<string, string>, cwd: string) {
    // the same node as the test's (Node 22 for Node-RED 5 in CI) comes first on PATH, as /usr/local/bin/node in the image
    const PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
    this.child = spawn('sh', [path.join(deploy, file)], { cwd, env: { PATH, HOME: os.homedir(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d));
    this.child.stderr!.on('data', (d: Buffer) => (this.out += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (docker stop), SIGKILL after 20 s. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      const r = await this.exited;
      clearTimeout(t);
      return r;
    }
    return this.exited;
  }
}

/** Runs a script to its end (one that should refuse to start), with a time limit. */
async function runToExit(file: string, env: Record<string, string>, cwd: string, ms = 30_000) {
  const s = new Script(file, env, cwd);
  const t = setTimeout(() => s.child.kill('SIGKILL'), ms);
  const r = await s.exited;
  clearTimeout(t);
  return { ...r, out: s.out };
}

async function waitReady(url: string, s: Script, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  let last = 'no answer';
  for (;;) {
    if (!s.running) throw new Error(`the entrypoint exited (${s.child.exitCode}):\n${s.out.slice(-3000)}`);
    try {
      const res = await fetch(`${url}/os2/ready`, { signal: AbortSignal.timeout(3000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url}/os2/ready was not 200 within ${ms} ms (last: ${last}):\n${s.out.slice(-3000)}`);
    await sleep(200);
  }
}

interface Readiness {
  ready: boolean;
  checks: Array<{ name: string; ok: boolean; detail?: string }>;
}

describe('deploy/: the container entrypoint and settings, outside a container', function () {
  this.timeout(120_000);
  let server: PostgresServer | undefined;
  let tmp = '';
  let checkout = '';
  let dbName = '';
  let databaseUrl = '';
  let baseEnv: Record<string, string> = {};
  const replicas: Array<{ script: Script; url: string; port: number }> = [];

  before(async function () {
    server = await startPostgres();
    if (!server) return this.skip(); // PostgreSQL not installed, outside CI (under CI=true startPostgres throws)
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-deploy-'));

    // a database of its own on the shared test server, as compose's postgres service has
    dbName = `os2_deploy_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: server.connectionString });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const url = new URL(server.connectionString);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString(); // no password in it: PGPASSWORD is the password, as in compose.yaml

    // the mounted checkout: the settings and flows of deploy/ and, as an operator commits it, the credentials
    // encrypted with the credential secret (here: webform in's shared secret)
    checkout = path.join(tmp, 'checkout');
    fs.mkdirSync(checkout);
    fs.copyFileSync(path.join(deploy, 'settings.js'), path.join(checkout, 'settings.js'));
    fs.copyFileSync(path.join(deploy, 'checkout', 'flows.json'), path.join(checkout, 'flows.json'));
    fs.writeFileSync(path.join(checkout, 'flows_cred.json'), encryptCredentials(secrets.credential, { [WEBFORM_ID]: { secret: secrets.webform } }));

    baseEnv = {
      // what compose.yaml sets
      OS2_ADMIN_USER: 'admin',
      OS2_ADMIN_PASSWORD_HASH: bcrypt.hashSync(secrets.adminPassword, 8),
      OS2_METRICS_TOKEN: secrets.metricsToken,
      OS2_LEDGER_DATABASE_URL: databaseUrl,
      OS2_LOG_LEVEL: 'warn',
      TZ: 'Europe/Copenhagen',
      // what the image sets (Dockerfile ENV), pointed at the stand-ins
      OS2_CONFIG_DIR: checkout,
      OS2_NODE_RED_DIR: nodeRedDir,
      // loopback only here (the container listens on 0.0.0.0)
      OS2_LISTEN_HOST: '127.0.0.1',
    };
    // replica 2 takes its secrets from files, as with Docker/Kubernetes secrets (<NAME>_FILE)
    const secretDir = path.join(tmp, 'run-secrets');
    fs.mkdirSync(secretDir);
    fs.writeFileSync(path.join(secretDir, 'credential'), `${secrets.credential}\n`);
    fs.writeFileSync(path.join(secretDir, 'pg'), `${secrets.pgPassword}\n`);
    const perReplica: Array<Record<string, string>> = [
      { OS2_CREDENTIAL_SECRET: secrets.credential, PGPASSWORD: secrets.pgPassword },
      { OS2_CREDENTIAL_SECRET_FILE: path.join(secretDir, 'credential'), PGPASSWORD_FILE: path.join(secretDir, 'pg') },
    ];

    for (const [i, own] of perReplica.entries()) {
      const data = path.join(tmp, `data-${i + 1}`); // the replica's own /data volume
      fs.mkdirSync(path.join(data, 'node_modules', '@os2'), { recursive: true });
      fs.symlinkSync(root, path.join(data, 'node_modules', '@os2', 'node-red-fordeling'), 'dir');
      const port = await freePort();
      const env = { ...baseEnv, ...own, OS2_USER_DIR: data, PORT: String(port) };
      replicas.push({ script: new Script('entrypoint.sh', env, tmp), url: `http://127.0.0.1:${port}`, port });
    }
    await Promise.all(replicas.map((r) => waitReady(r.url, r.script)));
  });

  after(async function () {
    await Promise.all(replicas.map((r) => r.script.stop()));
    if (server && dbName) {
      const admin = new pg.Client({ connectionString: server.connectionString });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    }
    await server?.release();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('both replicas start from the checkout and are ready, the shared PostgreSQL ledger answering', async function () {
    for (const r of replicas) {
      assert.ok(r.script.out.includes(`settings ${checkout}/settings.js`), r.script.out.slice(0, 500));
      const res = await fetch(`${r.url}/os2/ready`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as Readiness;
      assert.equal(body.ready, true, JSON.stringify(body));
      assert.deepEqual(
        body.checks.find((c) => c.name === 'flows'),
        { name: 'flows', ok: true },
      );
      assert.deepEqual(
        body.checks.find((c) => c.name === `ledger:${LEDGER_NAME}`),
        { name: `ledger:${LEDGER_NAME}`, ok: true },
        JSON.stringify(body.checks),
      );
      assert.ok(!JSON.stringify(body).includes(secrets.pgPassword));
      assert.deepEqual(await (await fetch(`${r.url}/os2/health`)).json(), { status: 'ok' });
    }
    // the ledger's schema is in the database compose's replicas share
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    const tables = await c.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'os2_ledger'");
    await c.end();
    assert.ok(
      tables.rows.some((t: { table_name: string }) => t.table_name === 'shipments'),
      JSON.stringify(tables.rows),
    );
  });

  it("the image's healthcheck.js: 0 while ready, 1 when nothing answers", async function () {
    const healthcheck = path.join(deploy, 'healthcheck.js');
    const ok = await run(process.execPath, [healthcheck], { env: { ...process.env, PORT: String(replicas[0]!.port) } });
    assert.equal(ok.stdout, '');
    const unused = await freePort();
    await assert.rejects(
      run(process.execPath, [healthcheck], { env: { ...process.env, PORT: String(unused) } }),
      (err: Error & { code?: number; stdout?: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stdout ?? '', /not ready/);
        return true;
      },
    );
  });

  it('metrics only with the token from the environment', async function () {
    const url = `${replicas[0]!.url}/os2/metrics`;
    assert.equal((await fetch(url)).status, 401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${secrets.metricsToken}` } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /os2_shipments/);
  });

  it("webform in's secret comes from the encrypted flows_cred.json, and both replicas decide on one ledger", async function () {
    const body = JSON.stringify({ uuid: randomUUID(), webform_id: 'deploy-test', navn: 'Åse' });
    const post = (url: string, secret: string) =>
      fetch(`${url}/os2forms/submission`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webform-secret': secret }, body });
    assert.equal((await post(replicas[0]!.url, 'wrong')).status, 401, replicas[0]!.script.out.slice(-3000));
    const first = await post(replicas[0]!.url, secrets.webform);
    assert.equal(first.status, 202);
    assert.equal(((await first.json()) as { outcome: string }).outcome, 'passed on');
    // the same submission at the other replica: its intake record is in the shared PostgreSQL ledger
    const again = await post(replicas[1]!.url, secrets.webform);
    assert.equal(again.status, 202);
    assert.match(((await again.json()) as { outcome: string }).outcome, /^skipped/);
  });

  it('the Admin API is behind the login, and the flows it exports hold no secret', async function () {
    const base = `${replicas[0]!.url}/admin`;
    assert.equal((await fetch(`${base}/flows`)).status, 401);
    const login = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: secrets.adminPassword }),
    });
    assert.equal(login.status, 200);
    const { access_token: token } = (await login.json()) as { access_token: string };
    const auth = { authorization: `Bearer ${token}` };

    const flowsRes = await fetch(`${base}/flows`, { headers: auth });
    assert.equal(flowsRes.status, 200);
    const exported = await flowsRes.text();
    const settingsText = await (await fetch(`${base}/settings`, { headers: auth })).text();
    const credsRes = await fetch(`${base}/credentials/os2-webform-in/${WEBFORM_ID}`, { headers: auth });
    const creds = (await credsRes.json()) as Record<string, unknown>;
    assert.deepEqual(creds, { has_secret: true }, 'the editor learns that there is a secret, not the secret');
    const ledger = (JSON.parse(exported) as Array<Record<string, unknown>>).find((n) => n.id === LEDGER_ID);
    assert.equal(ledger?.connectionEnv, 'OS2_LEDGER_DATABASE_URL');

    const inGit = [
      fs.readFileSync(path.join(deploy, 'checkout', 'flows.json'), 'utf8'),
      fs.readFileSync(path.join(deploy, 'settings.js'), 'utf8'),
      fs.readFileSync(path.join(deploy, 'compose.yaml'), 'utf8'),
      fs.readFileSync(path.join(checkout, 'flows_cred.json'), 'utf8'),
    ];
    for (const [what, value] of Object.entries({ ...secrets, adminHash: baseEnv.OS2_ADMIN_PASSWORD_HASH! })) {
      assert.ok(!exported.includes(value), `GET /flows holds the ${what}`);
      assert.ok(!settingsText.includes(value), `GET /settings holds the ${what}`);
      for (const text of inGit) assert.ok(!text.includes(value), `a file in git holds the ${what}`);
    }
    // the flows of deploy/ pass the project's own check (known node types, no secret-looking values)
    const check = await run(process.execPath, [path.join(root, 'scripts', 'check-flows.js'), path.join(deploy, 'checkout', 'flows.json')]);
    assert.match(check.stdout, /OK/);
  });

  it('refuses to start without the credential secret, with a short one or one that does not open flows_cred.json, with secrets in plain text, or with an admin password that is not a bcrypt hash', async function () {
    const data = path.join(tmp, 'data-refused');
    fs.mkdirSync(data);
    const env = { ...baseEnv, OS2_USER_DIR: data, PORT: String(await freePort()), PGPASSWORD: secrets.pgPassword };
    const plainCheckout = path.join(tmp, 'checkout-plain');
    fs.mkdirSync(plainCheckout);
    fs.copyFileSync(path.join(deploy, 'checkout', 'flows.json'), path.join(plainCheckout, 'flows.json'));
    fs.writeFileSync(path.join(plainCheckout, 'flows_cred.json'), JSON.stringify({ [WEBFORM_ID]: { secret: secrets.webform } }));
    const [missing, short, other, badHash, plain] = await Promise.all([
      runToExit('entrypoint.sh', env, tmp),
      runToExit('entrypoint.sh', { ...env, OS2_CREDENTIAL_SECRET: 'too-short' }, tmp),
      // Node-RED itself would log the failure and run the flows without credentials
      runToExit('entrypoint.sh', { ...env, OS2_CREDENTIAL_SECRET: randomBytes(24).toString('base64url') }, tmp),
      runToExit('entrypoint.sh', { ...env, OS2_CREDENTIAL_SECRET: secrets.credential, OS2_ADMIN_PASSWORD_HASH: secrets.adminPassword }, tmp),
      runToExit('entrypoint.sh', { ...env, OS2_CREDENTIAL_SECRET: secrets.credential, OS2_CONFIG_DIR: plainCheckout }, tmp),
    ]);
    for (const r of [missing, short, other, badHash, plain]) assert.ok(r.code !== 0 && r.code !== null, `exit code ${r.code}:\n${r.out}`);
    assert.match(missing.out, /OS2_CREDENTIAL_SECRET is not set/);
    assert.match(short.out, /OS2_CREDENTIAL_SECRET is shorter than 16 characters/);
    assert.match(other.out, /OS2_CREDENTIAL_SECRET does not decrypt .*flows_cred\.json/);
    assert.match(badHash.out, /OS2_ADMIN_PASSWORD_HASH is not a bcrypt hash/);
    assert.ok(!badHash.out.includes(secrets.adminPassword), 'the refusal does not print the value');
    assert.match(plain.out, /flows_cred\.json holds credentials in plain text/);
    assert.ok(!plain.out.includes(secrets.webform), 'the refusal does not print the value');
    assert.ok(!fs.existsSync(path.join(data, '.config.runtime.json')), 'Node-RED made no key of its own');
  });

  it('credentials may instead be ${VARIABLE} references in a plain flows_cred.json, filled from the environment', async function () {
    const refs = path.join(tmp, 'checkout-refs');
    fs.mkdirSync(refs);
    fs.copyFileSync(path.join(deploy, 'checkout', 'flows.json'), path.join(refs, 'flows.json')); // no settings.js: the image's copy
    fs.writeFileSync(path.join(refs, 'flows_cred.json'), JSON.stringify({ [WEBFORM_ID]: { secret: '${OS2_WEBFORM_SECRET}' } }));
    const data = path.join(tmp, 'data-refs');
    fs.mkdirSync(path.join(data, 'node_modules', '@os2'), { recursive: true });
    fs.symlinkSync(root, path.join(data, 'node_modules', '@os2', 'node-red-fordeling'), 'dir');
    const port = await freePort();
    const env = {
      ...baseEnv,
      OS2_CONFIG_DIR: refs,
      OS2_USER_DIR: data,
      PORT: String(port),
      OS2_CREDENTIAL_SECRET: secrets.credential,
      PGPASSWORD: secrets.pgPassword,
      OS2_WEBFORM_SECRET: secrets.webform,
    };
    const s = new Script('entrypoint.sh', env, tmp);
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitReady(url, s);
      assert.ok(s.out.includes(`settings ${deploy}/settings.js`), `the default settings beside the entrypoint: ${s.out.slice(0, 500)}`);
      const body = JSON.stringify({ uuid: randomUUID(), webform_id: 'deploy-test', navn: 'Bo' });
      const post = (secret: string) =>
        fetch(`${url}/os2forms/submission`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webform-secret': secret }, body });
      assert.equal((await post('${OS2_WEBFORM_SECRET}')).status, 401);
      assert.equal((await post(secrets.webform)).status, 202);
    } finally {
      await s.stop();
    }
  });

  it('the entrypoint refuses a checkout without a flow file', async function () {
    const empty = path.join(tmp, 'empty-checkout');
    fs.mkdirSync(empty);
    const r = await runToExit('entrypoint.sh', { ...baseEnv, OS2_CONFIG_DIR: empty, OS2_CREDENTIAL_SECRET: secrets.credential }, tmp);
    assert.equal(r.code, 1);
    assert.match(r.out, /no flows\.json in .*empty-checkout/);
  });

  it("the proxy's Caddyfile: valid, and in a real Caddy it serves the replicas' probes and hides the metrics", async function () {
    if (!(await tool('caddy', 'caddy'))) return this.skip();
    const home = path.join(tmp, 'caddy-home');
    fs.mkdirSync(home);
    const env = { ...process.env, HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home };
    const file = path.join(deploy, 'Caddyfile');
    await run('caddy', ['validate', '--config', file, '--adapter', 'caddyfile'], { env });

    // the same file with the compose network's names replaced by this machine's addresses
    const port = await freePort();
    const local = path.join(tmp, 'Caddyfile');
    fs.writeFileSync(
      local,
      fs
        .readFileSync(file, 'utf8')
        .replace(/^:8080 \{/m, `http://127.0.0.1:${port} {`)
        .replaceAll('node-red-1:1880', `127.0.0.1:${replicas[0]!.port}`)
        .replaceAll('node-red-2:1880', `127.0.0.1:${replicas[1]!.port}`),
    );
    const caddy = spawn('caddy', ['run', '--config', local, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    caddy.stderr!.on('data', (d: Buffer) => (log += d));
    try {
      const url = `http://127.0.0.1:${port}`;
      let ready: Response | undefined;
      for (let i = 0; i < 50 && ready?.status !== 200; i++) {
        ready = await fetch(`${url}/os2/ready`).catch(() => undefined);
        if (ready?.status !== 200) await sleep(100);
      }
      assert.equal(ready?.status, 200, log.slice(-2000));
      assert.equal(((await ready!.json()) as Readiness).ready, true);
      assert.equal((await fetch(`${url}/os2/metrics`, { headers: { authorization: `Bearer ${secrets.metricsToken}` } })).status, 404);
      assert.equal((await fetch(`${url}/admin/flows`)).status, 401, 'the Admin API is reached, and still asks for a login');
      const cookie = (await fetch(`${url}/admin/`)).headers.get('set-cookie') ?? '';
      assert.match(cookie, /os2_replica=/, 'a browser is kept on one replica for the editor');
    } finally {
      const exited = new Promise((r) => caddy.once('exit', r));
      caddy.kill('SIGTERM');
      await exited;
    }
  });

  it('compose.yaml: docker-compose accepts it with the secrets set, and refuses it without them', async function () {
    if (!(await tool('docker-compose', 'docker-compose'))) return this.skip();
    const file = path.join(deploy, 'compose.yaml');
    const env = { PATH: process.env.PATH ?? '', HOME: tmp, OS2_CREDENTIAL_SECRET: 'placeholder-placeholder', OS2_POSTGRES_PASSWORD: 'placeholder' };
    // --env-file: an empty one, so a developer's deploy/.env is not read
    fs.writeFileSync(path.join(tmp, 'empty.env'), '');
    const args = ['--env-file', path.join(tmp, 'empty.env'), '-f', file, 'config'];
    const services = await run('docker-compose', [...args, '--services'], { env, cwd: tmp });
    assert.deepEqual(services.stdout.trim().split('\n').sort(), ['node-red-1', 'node-red-2', 'postgres', 'proxy', 'simulator']);
    const full = await run('docker-compose', args, { env, cwd: tmp });
    assert.match(full.stdout, /OS2_LEDGER_DATABASE_URL: postgresql:\/\/os2@postgres:5432\/os2/);
    assert.equal((full.stdout.match(/- \S+\/deploy\/checkout:\/config:ro\n/g) ?? []).length, 2, 'both replicas mount the checkout read-only');
    assert.equal(
      (full.stdout.match(/test:\n\s+- CMD\n\s+- node\n\s+- \/usr\/src\/node-red\/os2\/healthcheck\.js/g) ?? []).length,
      2,
      'both replicas check readiness',
    );
    await assert.rejects(
      run('docker-compose', [...args, '-q'], { env: { PATH: env.PATH, HOME: tmp, OS2_POSTGRES_PASSWORD: 'placeholder' }, cwd: tmp }),
      (err: Error & { stderr?: string }) => {
        assert.match(err.stderr ?? '', /set OS2_CREDENTIAL_SECRET/);
        return true;
      },
    );
  });

  it('the Dockerfile copies only files that exist, packs what package.json publishes, and runs as node-red', function () {
    const text = fs.readFileSync(path.join(deploy, 'Dockerfile'), 'utf8');
    const lines = text.split('\n').filter((l) => !l.startsWith('#'));
    assert.match(lines.find((l) => l.startsWith('ARG NODE_RED_IMAGE='))!, /^ARG NODE_RED_IMAGE=nodered\/node-red:4\./);
    const copied: string[] = [];
    for (const l of lines) {
      if (!l.startsWith('COPY ') || l.includes('--from=')) continue;
      const parts = l
        .split(/\s+/)
        .slice(1)
        .filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        assert.ok(fs.existsSync(path.join(root, src)), `COPY source ${src} exists`);
        copied.push(src.replace(/\/$/, ''));
      }
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    for (const f of pkg.files.filter((f) => f !== 'dist')) assert.ok(copied.includes(f), `the pack stage copies ${f}`);
    for (const f of ['lib', 'nodes', 'simulator', 'icons', 'scripts/build.js', 'tsconfig.build.json'])
      assert.ok(copied.includes(f), `the pack stage copies ${f}`);
    const users = lines.filter((l) => l.startsWith('USER '));
    assert.equal(users.at(-1), 'USER node-red', 'the image runs as the non-root node-red user');
    assert.match(text, /^ENTRYPOINT \["\/usr\/src\/node-red\/os2\/entrypoint\.sh"\]$/m);
    assert.match(text, /^HEALTHCHECK .*healthcheck\.js/m);
    assert.match(text, /npm pack/);
    assert.match(text, /npm install [^\n]*\/tmp\/pkg\/\*\.tgz/);
  });

  it("the simulator service's script: test certificates for the service name, mutual TLS", async function () {
    const certs = path.join(tmp, 'sim-certs');
    const port = await freePort();
    const sim = new Script(
      'simulator.sh',
      {
        OS2_PACKAGE_DIR: root,
        OS2_SIM_HOSTNAME: 'simulator',
        SF2900_SIM_CERT_DIR: certs,
        SF2900_SIM_PORT: String(port),
        SF2900_CONTRACT_DIR: path.join(tmp, 'none'),
      },
      tmp,
    );
    try {
      const until = Date.now() + 40_000;
      while (!/listening on/.test(sim.out)) {
        if (!sim.running || Date.now() > until) throw new Error(`the simulator did not start:\n${sim.out.slice(-3000)}`);
        await sleep(100);
      }
      assert.match(sim.out, /not validated against the XSD/);
      const read = (f: string) => fs.readFileSync(path.join(certs, f));
      // as a replica reaches it: https://simulator:8443, trusting the simulator's CA, with the client certificate
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request(
          { host: '127.0.0.1', servername: 'simulator', port, path: '/', method: 'GET', ca: read('ca.crt'), cert: read('client.crt'), key: read('client.key') },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.ok(status > 0, 'the TLS handshake verified the name "simulator"');
    } finally {
      const r = await sim.stop();
      assert.equal(r.code, 0, sim.out.slice(-2000));
    }
  });

  it('SIGTERM (docker stop) reaches Node-RED itself, which stops cleanly', async function () {
    const r = replicas[1]!;
    const { code, signal } = await r.script.stop();
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, r.script.out.slice(-2000));
    assert.equal((await fetch(`${replicas[0]!.url}/os2/ready`)).status, 200, 'the other replica stays ready');
  });
});
