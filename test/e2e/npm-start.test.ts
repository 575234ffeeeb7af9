/**
 * `npm start` as a newcomer runs it: the simulator and a real Node-RED (not the test helper) with the demo flow.
 * A posted SP241 submission must go the whole way round: webform in → validate → map → fordeling out →
 * simulator → Teknisk and Forretning receipts delivered to receipt in. A real Node-RED also puts its admin app
 * (with a 5 MB body parser) in front of the node routes, which the test helper does not: a 6 MB submission
 * must still reach webform in.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NpmStart } from '../support/node-red';

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
  const demo = new NpmStart();
  const waitForOutput = (re: RegExp, ms: number) => demo.waitForOutput(re, ms);
  let port: number;

  before(async () => {
    await demo.start();
    port = demo.port;
  });
  after(() => demo.dispose());

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
    await demo.stop();
    assert.ok(fs.existsSync(path.join(demo.userDir, 'os2-ledger', 'ledger.db')), 'the default ledger lives in the user directory');
    await demo.start();
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
