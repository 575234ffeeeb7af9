/**
 * `npm start` with the simulator's SFTP side (a real sshd): the demo's FORMULAR attachments and the DOKUMENT demo's file
 * go by SFTP (upload, trigger, SUCCESS receipt) before FordelingsobjektAfsend — in a real Node-RED, not the test helper.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sshdUnavailableReason } from '../support/sshd';
import { freePort } from '../support/net';

const root = path.resolve(__dirname, '..', '..');
const skipReason = sshdUnavailableReason();

function post(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs scripts/start.js on free ports; `output()` is everything it printed so far. */
function startDemo(env: Record<string, string> = {}) {
  const state = { child: undefined as ChildProcess | undefined, userDir: '', port: 0, out: '' };
  const waitForOutput = async (re: RegExp, ms: number) => {
    const end = Date.now() + ms;
    while (!re.test(state.out)) {
      if (Date.now() > end) throw new Error(`no ${re} in npm start's output within ${ms} ms:\n${state.out.slice(-3000)}`);
      if (state.child!.exitCode !== null) throw new Error(`npm start exited (${state.child!.exitCode}):\n${state.out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  before(async () => {
    if (!fs.existsSync(path.join(root, 'dist', 'simulator', 'sftp', 'index.js')))
      throw new Error('dist/ is missing: run `npm run build` (npm test does) first');
    state.userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-start-sftp-'));
    state.port = await freePort();
    state.child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
      cwd: root,
      env: { ...process.env, PORT: String(state.port), SF2900_SIM_PORT: '0', OS2_USER_DIR: state.userDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    state.child.stdout!.on('data', (d) => (state.out += d));
    state.child.stderr!.on('data', (d) => (state.out += d));
    await waitForOutput(/Stop with Ctrl\+C/, 90_000);
  });
  after(async () => {
    const child = state.child;
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    if (state.userDir) fs.rmSync(state.userDir, { recursive: true, force: true });
  });
  return { state, waitForOutput, inject: (id: string) => post(`http://127.0.0.1:${state.port}/inject/${id}`) };
}

describe('npm start with SFTP (real Node-RED + simulator + sshd)', function () {
  this.timeout(120_000);
  if (skipReason) {
    it.skip(`SKIPPED: ${skipReason}`);
    return;
  }
  const { state, waitForOutput, inject } = startDemo();

  it('announces the SFTP side and sends the demo attachments by SFTP before FordelingsobjektAfsend', async () => {
    const out = () => state.out;
    assert.match(out(), /SFTP \(sim, attachments\): sftp:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(out(), /\[error\].*os2-sftp/, 'every os2-sftp config node got its key and settings');
    assert.equal(await inject('d1a0000000000003'), 200);
    await waitForOutput(/sim: accepted FORMULAR/, 30_000);
    const receipts = [...out().matchAll(/\[sftp\] (os2forms_3f2c8e0a-\S+): SUCCESS/g)].map((m) => m[1]);
    assert.deepEqual(receipts.sort(), [
      'os2forms_3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c_0_overslag_briller.pdf',
      'os2forms_3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c_1_kvittering_aa.jpg',
    ]);
    assert.ok(out().indexOf('[sftp] os2forms_3f2c8e0a') < out().indexOf('sim: accepted FORMULAR'), 'the files went first');
  });

  it('the DOKUMENT demo uploads its file and sends DokumentFilNavn', async () => {
    assert.equal(await inject('e2a0000000000003'), 200);
    await waitForOutput(/sim: accepted DOKUMENT/, 30_000);
    assert.match(state.out, /\[sftp\] os2forms_8b2e1d4f-\S+_0_overslag_tandlaege\.pdf: SUCCESS/);
  });
});

describe('npm start without SFTP (OS2_DEMO_SFTP=0, as without an sshd)', function () {
  this.timeout(120_000);
  const { state, waitForOutput, inject } = startDemo({ OS2_DEMO_SFTP: '0' });

  it('says so, and the SP241 demo is still delivered, without attachments', async () => {
    assert.match(state.out, /SFTP: off \(no sshd found, or OS2_DEMO_SFTP=0\): the demo sends no attachments/);
    assert.equal(await inject('d1a0000000000003'), 200);
    await waitForOutput(/sim: accepted FORMULAR/, 30_000);
    assert.doesNotMatch(state.out, /\[sftp\] os2forms_/);
  });
});
