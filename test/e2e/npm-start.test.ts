/**
 * `npm start` as a newcomer runs it: the simulator and a real Node-RED (not the test helper) with the demo flow.
 * A posted SP241 submission must go the whole way round: webform in → validate → map → fordeling out →
 * simulator → Teknisk and Forretning receipts delivered to receipt in. A real Node-RED also puts its admin app
 * (with a 5 MB body parser) in front of the node routes, which the test helper does not: a 6 MB submission
 * must still reach webform in.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/net';

const root = path.resolve(__dirname, '..', '..');

function sample(extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    sid: '7',
    serial: '1',
    uuid: randomUUID(),
    created: String(now - 60),
    completed: String(now),
    changed: String(now),
    in_draft: '0',
    langcode: 'da',
    webform_id: 'sp241_helbredstillaeg',
    ansoeger_fornavn: 'Ida',
    ansoeger_efternavn: 'Østergård',
    ansoeger_cpr: '0102031234',
    underskrift: 'Ida Østergård',
    sygeforsikring_gruppe: 'GRUPPE_1',
    erklaering: '1',
    routing_kle: '32.03.12',
    attachment_pdf: '1',
    _attachment_pdf: { id: '1', name: 'ansøgning.pdf', uri: 'private://a.pdf', mime: 'application/pdf', uuid: randomUUID(), data: 'JVBERi0xLjQKJSVFT0YK' },
    ...extra,
  };
}

describe('npm start (real Node-RED + simulator + demo flow)', function () {
  this.timeout(120_000);
  let child: ChildProcess;
  let userDir: string;
  let port: number;
  let out = '';

  async function start(): Promise<void> {
    out = '';
    child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
      cwd: root,
      env: { ...process.env, PORT: String(port), SF2900_SIM_PORT: '0', OS2_USER_DIR: userDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await waitForOutput(/Node-RED editor:/, 90_000);
  }

  before(async () => {
    if (!fs.existsSync(path.join(root, 'dist', 'simulator', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) first');
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-start-'));
    port = await freePort();
    await start();
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function waitForOutput(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const until = Date.now() + ms;
    for (;;) {
      const m = out.match(re);
      if (m) return m;
      if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${out.slice(-3000)}`);
      if (Date.now() > until) throw new Error(`timed out waiting for ${re}:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function post(body: unknown, secret?: string): Promise<{ status: number; text: string }> {
    const cfg = (await (await fetch(`http://127.0.0.1:${port}/demo/config.json`)).json()) as { postUrl: string; secretHeader: string; secret: string };
    const res = await fetch(`http://127.0.0.1:${port}${cfg.postUrl}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [cfg.secretHeader]: secret ?? cfg.secret },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  it('serves the editor and the demo page', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);
    const page = await fetch(`http://127.0.0.1:${port}/demo/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /SP241/);
  });

  it('delivers a posted submission and receives its Teknisk and Forretning receipts', async () => {
    const s = sample();
    const r = await post(s);
    assert.equal(r.status, 202, r.text);
    assert.equal(JSON.parse(r.text).uuid, s.uuid);
    const accepted = await waitForOutput(/sim: accepted FORMULAR ([0-9a-f-]{36})/, 30_000);
    const tx = accepted[1];
    await waitForOutput(new RegExp(`receipt Teknisk/MODTAGET for ${tx}: delivered`), 30_000);
    await waitForOutput(new RegExp(`receipt Forretning/ACCEPTERET for ${tx}: delivered`), 30_000);
    delivered = tx;
  });

  let delivered: string | undefined;
  it("keeps the OS2 sidebar's shipments through a restart (the default embedded ledger, no ledger node)", async () => {
    assert.ok(delivered, 'the delivery test ran first');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    assert.ok(fs.existsSync(path.join(userDir, 'os2-ledger', 'ledger.db')), 'the default ledger lives in the user directory');
    await start();
    const res = await fetch(`http://127.0.0.1:${port}/os2-overview/shipments?limit=50`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { shipments: Array<{ transactionId: string; state: string; receipts: Array<{ code: string }> }> };
    const s = body.shipments.find((x) => x.transactionId === delivered);
    assert.ok(s, `shipment ${delivered} listed after the restart`);
    assert.equal(s.state, 'accepted');
    assert.deepEqual(s.receipts.map((r) => r.code).sort(), ['ACCEPTERET', 'MODTAGET']);
  });

  it('accepts a 6 MB submission although Node-RED parses admin bodies only up to 5 MB, and refuses a wrong secret', async () => {
    const big = sample({ bemaerkning: 'æ'.repeat(3 * 1024 * 1024) });
    const r = await post(big);
    assert.equal(r.status, 202, r.text);
    const wrong = await post(sample(), 'not-the-secret');
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /wrong secret/);
  });
});
