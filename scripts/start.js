#!/usr/bin/env node
// npm start: the local Serviceplatform simulator + a Node-RED with this package and the demo flows from flows/.
// Everything runs on 127.0.0.1. Node-RED's user directory is .node-red/ (git-ignored); the simulator's test
// certificates live in .sim/. Secrets for the demo (test certificate, shared secrets) are made here and handed
// to Node-RED as credentials through its Admin API, so the flow files in git never hold one.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const http = require('http');
const { spawn } = require('child_process');

const root = path.resolve(__dirname, '..');
const userDir = path.resolve(process.env.OS2_USER_DIR || path.join(root, '.node-red'));
const port = Number(process.env.PORT || 1880);
const simPort = Number(process.env.SF2900_SIM_PORT ?? 8443);
const receiptPath = '/os2/fordeling/kvittering';
const children = [];
let sftpSim; // the simulator's SFTP side (real OpenSSH sshd + watcher), when an sshd is found
const DEMO_SFTP_ID = 'd2a00000000000c1'; // the SFTP config node of flows/demo.json

function fail(message) {
  console.error(`npm start: ${message}`);
  for (const c of children) c.kill('SIGTERM');
  process.exit(1);
}

if (!fs.existsSync(path.join(root, 'dist', 'simulator', 'cli.js'))) fail('dist/ is missing: run `npm run build` first (npm start does).');
fs.mkdirSync(userDir, { recursive: true });

// Secrets of this local demo: made once, kept in .node-red/demo-secrets.json (git-ignored).
const secretsFile = path.join(userDir, 'demo-secrets.json');
const secrets = fs.existsSync(secretsFile)
  ? JSON.parse(fs.readFileSync(secretsFile, 'utf8'))
  : { credentialSecret: rnd(), webformSecret: rnd(), receiptUser: 'serviceplatform', receiptPassword: rnd() };
fs.writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
function rnd() {
  return crypto.randomBytes(18).toString('base64url');
}

fs.writeFileSync(
  path.join(userDir, 'settings.js'),
  `// Written by scripts/start.js on every start.
module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${port},
  flowFile: 'flows.json',
  credentialSecret: ${JSON.stringify(secrets.credentialSecret)},
  nodesDir: [${JSON.stringify(root)}],
  // The demo page, and beside it this instance's own config.json (the webform secret), kept in the user directory.
  httpStatic: [
    { path: ${JSON.stringify(path.join(userDir, 'demo-config'))}, root: '/demo/' },
    { path: ${JSON.stringify(path.join(root, 'demo'))}, root: '/demo/' },
  ],
  telemetry: { enabled: false },
  logging: { console: { level: 'info', metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false },
};
`,
);

function run(name, args, env) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const prefix = (line) => line && console.log(`[${name}] ${line}`);
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) child.emit('line', l);
  });
  child.on('line', prefix);
  child.stderr.on('data', (d) => String(d).split('\n').forEach(prefix));
  child.on('exit', (code) => {
    if (!stopping) fail(`${name} exited (${code})`);
  });
  return child;
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
    if (sftpSim) sftpSim.stop().catch(() => undefined);
    setTimeout(() => process.exit(0), 500);
  });
}

function request(method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

async function waitFor(url, seconds) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    try {
      const r = await request('GET', url);
      if (r.status && r.status < 500) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Node-RED's readiness as this package's ops plugin answers it (nodes/ops: GET /os2/ready, or OS2_OPS_PATH): its
 * "flows" check turns true on Node-RED's `flows:started`, once every node of every flow is created (an inject node's
 * button, an http-in route, webform in's and receipt in's endpoints answer), and false again while a deploy stops them.
 * (Node-RED's own GET /flows/state says "start" as soon as starting begins, before any node exists: no use here.)
 */
const readyUrl = `http://127.0.0.1:${port}${(process.env.OS2_OPS_PATH || '/os2').replace(/\/+$/, '')}/ready`;
async function readiness() {
  try {
    const r = await request('GET', readyUrl);
    const body = JSON.parse(r.body);
    const checks = Array.isArray(body.checks) ? body.checks : [];
    return { flows: checks.some((c) => c.name === 'flows' && c.ok), ready: body.ready === true, failing: checks.filter((c) => !c.ok) };
  } catch {
    return { flows: false, ready: false, failing: [] };
  }
}

/** Waits until the flows have started (true), or the time is up (false). */
async function flowsStarted(seconds) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if ((await readiness()).flows) return true;
    await sleep(200);
  }
  return false;
}

/** After the flows started: a moment for the rest of readiness (certificates loaded, ledgers open); what still fails. */
async function settled(seconds) {
  const until = Date.now() + seconds * 1000;
  let r = await readiness();
  while (!r.ready && Date.now() < until) {
    await sleep(200);
    r = await readiness();
  }
  return r.failing;
}

function startSimulator() {
  return new Promise((resolve) => {
    const sim = run(
      'simulator',
      [
        'dist/simulator/cli.js',
        '--json',
        '--port',
        String(simPort),
        '--receipt-url',
        `http://127.0.0.1:${port}${receiptPath}`,
        '--receipt-user',
        secrets.receiptUser,
      ],
      { SF2900_SIM_RECEIPT_PASSWORD: secrets.receiptPassword },
    );
    sim.once('line', (line) => resolve(JSON.parse(line)));
  });
}

/**
 * The simulator's SFTP side, when an OpenSSH sshd is present ($SSHD_PATH, /usr/sbin/sshd, .sshd/ from
 * scripts/sshd-fetch.sh): the demo's attachments then go by SFTP. Without one the demo runs without files.
 */
async function startSftp() {
  if (process.env.OS2_DEMO_SFTP === '0') return undefined;
  const mod = require(path.join(root, 'dist', 'simulator', 'sftp', 'index.js'));
  if (!mod.findSshd()) {
    console.log('[sftp] no OpenSSH sshd found (scripts/sshd-fetch.sh): the demo sends no attachments');
    return undefined;
  }
  const contractDir = process.env.SF2900_CONTRACT_DIR || path.resolve(root, '..', 'shared', 'sf2900');
  const s = await mod.startSftpSimulator({ schemaPath: path.join(contractDir, 'sftp', 'SFTPTypes.xsd') });
  s.watcher.on('receipt', (e) => console.log(`[sftp] ${e.fileName}: ${e.ok ? 'SUCCESS' : e.errors.map((x) => x.description).join('; ')}`));
  s.watcher.on('error', (err) => console.log(`[sftp] ${err.message}`));
  return s;
}

/** The demo flows with this machine's secrets put into the config nodes' credentials. */
function demoFlows(sim) {
  let flows = [];
  for (const f of fs
    .readdirSync(path.join(root, 'flows'))
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    flows.push(...JSON.parse(fs.readFileSync(path.join(root, 'flows', f), 'utf8')));
  }
  if (sftpSim) {
    for (const n of flows) if (n.type === 'os2-sftp') n.credentials = { privateKey: sftpSim.settings.privateKey };
  } else {
    // No sshd: the SP241 demo loses its SFTP config node and its map sends no attachments (fordeling out refuses
    // files without an SFTP configuration); receipt in then serves only the SOAP endpoint.
    const gone = new Set([DEMO_SFTP_ID]);
    const tabs = new Set();
    flows = flows.filter((n) => !gone.has(n.id));
    for (const n of flows) {
      if (!gone.has(n.sftp)) continue;
      n.sftp = '';
      tabs.add(n.z);
      if (n.type === 'os2-receipt-in' && n.mode === 'both') n.mode = 'soap';
    }
    for (const n of flows) if (n.type === 'os2-map' && tabs.has(n.z) && n.objektType !== 'DOKUMENT') n.files = [];
  }
  const read = (p) => fs.readFileSync(p, 'utf8');
  for (const n of flows) {
    if (n.type === 'os2-certificate') {
      n.format = 'pem';
      n.credentials = { keyPem: read(sim.clientKey), certPem: read(sim.clientCert) };
    }
    if (n.type === 'os2-serviceplatform') n.credentials = { ca: read(sim.ca) };
    if (n.type === 'os2-webform-in') n.credentials = { secret: secrets.webformSecret };
    if (n.type === 'os2-receipt-in') n.credentials = { user: secrets.receiptUser, password: secrets.receiptPassword };
  }
  return flows;
}

(async () => {
  const sim = await startSimulator();
  sftpSim = await startSftp().catch((err) => {
    console.log(`[sftp] could not start the SFTP simulator (${err.message}): the demo sends no attachments`);
    return undefined;
  });
  const sftpEnv = sftpSim
    ? {
        OS2_SFTP_HOST: sftpSim.settings.host,
        OS2_SFTP_PORT: String(sftpSim.settings.port),
        OS2_SFTP_USER: sftpSim.settings.username,
        OS2_SFTP_HOST_KEY: sftpSim.settings.hostKeyFingerprint,
      }
    : {};
  const redJs = require.resolve('node-red/red.js', process.env.OS2_NODE_RED_PATH ? { paths: [process.env.OS2_NODE_RED_PATH] } : undefined);
  const red = run('node-red', [redJs, '-u', userDir, '-s', path.join(userDir, 'settings.js')], {
    OS2_SERVICEPLATFORM_URL: new URL(sim.url).origin,
    OS2_SENDER_CVR: sim.cvr,
    OS2_SENDER_SYSTEM_UUID: process.env.OS2_SENDER_SYSTEM_UUID || '0c6e1e0b-6d6a-4c1f-9d0e-0b7c3b1f2a10',
    OS2_ROUTING_CVR: process.env.OS2_ROUTING_CVR || '14814833',
    ...sftpEnv,
  });
  void red;
  await waitFor(`http://127.0.0.1:${port}/`, 60);
  // Node-RED listens before it has started the flows of its last run (.node-red/flows.json): let that start end first,
  // so its end cannot be taken for the end of the deploy below.
  await flowsStarted(30);
  const r = await request('POST', `http://127.0.0.1:${port}/flows`, demoFlows(sim), {
    'Node-RED-Deployment-Type': 'full',
  });
  if (r.status !== 204 && r.status !== 200) fail(`deploying the demo flows failed: ${r.status} ${r.body}`);
  // POST /flows answers once the old flows have stopped, before the new ones have started: announce the editor only
  // when they have (an inject node's button or a demo post right after the banner would otherwise get a 404).
  if (!(await flowsStarted(60))) {
    console.log(`npm start: the demo flows have not started within 60 s (${readyUrl} says so); see Node-RED's log above`);
  } else {
    const failing = await settled(10);
    if (failing.length) console.log(`npm start: not ready yet: ${failing.map((c) => `${c.name}: ${c.detail ?? 'failing'}`).join('; ')}`);
  }
  fs.mkdirSync(path.join(userDir, 'demo-config'), { recursive: true });
  fs.writeFileSync(
    path.join(userDir, 'demo-config', 'config.json'),
    JSON.stringify({ postUrl: `/os2forms/sp241`, secretHeader: 'x-webform-secret', secret: secrets.webformSecret }, null, 2),
  );
  console.log('');
  console.log(`  Node-RED editor:        http://127.0.0.1:${port}/`);
  console.log(`  Post a sample SP241:    http://127.0.0.1:${port}/demo/`);
  console.log(`  Serviceplatform (sim):  ${sim.url}`);
  console.log(`  Receipts are posted to: http://127.0.0.1:${port}${receiptPath}`);
  console.log(
    sftpSim
      ? `  SFTP (sim, attachments): sftp://${sftpSim.settings.host}:${sftpSim.settings.port} (${sftpSim.sshd.root})`
      : '  SFTP: off (no sshd found, or OS2_DEMO_SFTP=0): the demo sends no attachments',
  );
  console.log('  Stop with Ctrl+C.');
})().catch((err) => fail(err.message));
