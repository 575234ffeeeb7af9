/**
 * The caseworker's side of approve in a real browser (Debian's chromium, playwright-core) against a real Node-RED:
 * the approver's page behind an authenticating proxy (the proxy's user header set by the browser context, from the
 * listed proxy address 127.0.0.1), one application approved, another rejected with a reason, the flow going on on the
 * right outputs, and the OS2 sidebar in the editor showing the audit. Screenshots in test-output/browser/.
 * Without chromium the suite skips locally and says so; with CI=true it fails.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, requireChromium } from '../support/chromium';
import { openNodeRedEditor } from '../support/browser';
import { type Collector, startCollector } from '../support/collector';
import { RedProcess } from '../support/node-red';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'test-output', 'browser');

describe('approve in a real browser: the caseworker approves one, rejects another; the sidebar shows the audit', function () {
  this.timeout(120_000);
  let browser: Browser;
  let red: RedProcess;
  let tmp: string;
  let collector: Collector<{ out: number; navn: string; reason?: string; by?: string }>;

  before(async function () {
    requireChromium(this);
    fs.mkdirSync(OUT, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-approve-browser-'));
    collector = await startCollector();
    const report = (out: number) =>
      `msg.payload = JSON.stringify({ out: ${out}, navn: msg.payload.navn, reason: msg.approval.reason, by: msg.approval.decidedBy }); msg.headers = { 'content-type': 'application/json' }; return msg;`;
    red = new RedProcess({
      userDir: tmp,
      readyPath: '/ansoeg-ready',
      settings: { editorTheme: { tours: false } },
      flows: [
        { id: 't', type: 'tab', label: 'godkendelse' },
        { id: 'ready', z: 't', type: 'http in', method: 'post', url: '/ansoeg-ready', wires: [['ok']] },
        { id: 'in', z: 't', type: 'http in', method: 'post', url: '/ansoeg', wires: [['ap', 'ok']] },
        { id: 'ok', z: 't', type: 'http response', statusCode: '202', wires: [] },
        {
          id: 'ap',
          z: 't',
          type: 'os2-approve',
          path: '/godkend',
          auth: 'proxy',
          userHeader: 'x-remote-user',
          proxies: '127.0.0.1',
          fields: 'Navn = payload.navn\nCPR-nummer = payload.cpr',
          titleTemplate: 'Ansøgning fra {{payload.navn}}',
          pollSeconds: 0.2,
          wires: [['r1'], ['r2'], [], [], []],
        },
        { id: 'r1', z: 't', type: 'function', func: report(1), outputs: 1, wires: [['h']] },
        { id: 'r2', z: 't', type: 'function', func: report(2), outputs: 1, wires: [['h']] },
        { id: 'h', z: 't', type: 'http request', method: 'POST', ret: 'txt', url: collector.url, wires: [[]] },
      ],
      credentials: {},
    });
    await red.start();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    collector?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('approves and rejects on the page; outputs 1 and 2; the audit in the OS2 sidebar', async function () {
    for (const navn of ['Åse Sørensen', 'Bo Ærø']) {
      const r = await fetch(`${red.url}/ansoeg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ navn, cpr: '0101701234' }),
      });
      assert.equal(r.status, 202);
    }
    const caseworker = await browser.newContext({ locale: 'da-DK', extraHTTPHeaders: { 'x-remote-user': 'sagsbehandler' } });
    const page = await caseworker.newPage();
    await page.goto(`${red.url}/godkend/`);
    await page.getByRole('link', { name: 'Ansøgning fra Åse Sørensen' }).waitFor();
    assert.match(await page.content(), /2 venter/);
    await page.screenshot({ path: path.join(OUT, 'approve-list.png') });

    await page.getByRole('link', { name: 'Ansøgning fra Åse Sørensen' }).click();
    assert.ok(!(await page.content()).includes('0101701234'), 'the CPR number is masked on the page');
    await page.getByRole('button', { name: 'Godkend' }).click();
    await page.getByText('Afgjort: approved').waitFor();

    await page.getByRole('link', { name: 'Tilbage til listen' }).click();
    await page.getByRole('link', { name: 'Ansøgning fra Bo Ærø' }).click();
    await page.getByRole('button', { name: 'Afvis' }).click();
    assert.match(await page.content(), /En afvisning kræver en begrundelse|a rejection needs a reason/, 'a rejection without a reason is refused');
    await page.getByLabel(/Begrundelse/).fill('Mangler lægeerklæring');
    await page.getByRole('button', { name: 'Afvis' }).click();
    await page.getByText(/Afgjort: rejected/).waitFor();
    await page.screenshot({ path: path.join(OUT, 'approve-rejected.png') });
    await caseworker.close();

    for (let i = 0; i < 50 && collector.received.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(collector.received.map((o) => [o.out, o.navn, o.by, o.reason ?? null]).sort(), [
      [1, 'Åse Sørensen', 'sagsbehandler', null],
      [2, 'Bo Ærø', 'sagsbehandler', 'Mangler lægeerklæring'],
    ]);

    // the editor's OS2 sidebar: the audit
    const builder = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    const editor = await builder.newPage();
    await openNodeRedEditor(
      editor,
      `${red.url}/`,
      `document.querySelector(".red-ui-palette-node[data-palette-type='os2-approve']") && RED.sidebar.containsTab('os2-overview')`,
    );
    await editor.evaluate("RED.sidebar.show('os2-overview')");
    await editor.locator('.os2-ov-approvals summary').click();
    const rows = editor.locator('.os2-ov-approval');
    await rows.nth(1).waitFor({ timeout: 10_000 });
    const text = ((await editor.locator('.os2-ov-approval-list').textContent()) ?? '').replace(/\s+/g, ' ');
    assert.match(text, /rejected Ansøgning fra Bo Ærø.*by sagsbehandler · Mangler lægeerklæring/);
    assert.match(text, /approved Ansøgning fra Åse Sørensen.*by sagsbehandler/);
    await editor.screenshot({ path: path.join(OUT, 'approve-sidebar.png') });
    await builder.close();
  });
});
