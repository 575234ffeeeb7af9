// The editor side of certificate, serviceplatform, fordeling out and receipt in, in a real browser
// (Debian chromium + playwright-core) against a real Node-RED that loads this package from dist/.
import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromium } from '../support/chromium';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { RedProcess } from '../support/node-red';

const ROOT = path.resolve(__dirname, '..', '..');

describe('editor: os2 config nodes and fordeling out / receipt in in the browser', function () {
  this.timeout(120000);
  let red: RedProcess;
  let url: string;
  let browser: Browser;
  let page: Page;
  let userDir: string;
  let certs: SimulatorCerts;
  const pageErrors: string[] = [];

  before(async function () {
    requireChromium(this);
    certs = await testCerts();
    if (!fs.existsSync(path.join(ROOT, 'dist', 'nodes', 'receipt-in', 'receipt-in.html'))) {
      execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js')], { stdio: 'ignore' });
    }
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-editor-'));
    red = new RedProcess({ userDir, flows: [], credentials: {}, settings: { editorTheme: { tours: false } } });
    await red.start(90_000);
    url = `${red.url}/`;
    browser = await launchChromium();
    page = await browser.newPage({ locale: 'en-US' });
    page.on('pageerror', (e) => pageErrors.push(String(e.message)));
    await page.goto(url);
    await page.waitForFunction(
      "!!(window.RED && RED.nodes && RED.nodes.getType && RED.nodes.getType('os2-receipt-in')) && !!document.querySelector(\".red-ui-palette-node[data-palette-type='os2-fordeling-out']\")",
      undefined,
      { timeout: 60000 },
    );
  });

  after(async () => {
    await browser?.close();
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('shows "fordeling out" and "receipt in" in the OS2 palette with 3 outputs each', async function () {
    const r =
      (await page.evaluate(`(() => { const label = (t) => document.querySelector(\`.red-ui-palette-node[data-palette-type='\${t}'] .red-ui-palette-label\`)?.textContent?.replace(/\\s+/g, ' ').trim();
      return {
        fo: label('os2-fordeling-out'),
        ri: label('os2-receipt-in'),
        foOutputs: RED.nodes.getType('os2-fordeling-out').outputs,
        riOutputs: RED.nodes.getType('os2-receipt-in').outputs,
        riInputs: RED.nodes.getType('os2-receipt-in').inputs,
        categories: ['os2-certificate', 'os2-serviceplatform'].map((t) => RED.nodes.getType(t).category),
      };
    })()`)) as Record<string, unknown>;
    assert.deepEqual(r, { fo: 'fordeling out', ri: 'receipt in', foOutputs: 3, riOutputs: 3, riInputs: 0, categories: ['config', 'config'] });
  });

  it('validates CVR, UUID, URL, fingerprints and IP ranges in the dialogs', async function () {
    const r = (await page.evaluate(`(() => { const sp = RED.nodes.getType('os2-serviceplatform').defaults;
      const ri = RED.nodes.getType('os2-receipt-in').defaults;
      const v = (d, value, node = {}) => d.validate.call(node, value) === true;
      return [
        v(sp.senderCvr, '12345678'), v(sp.senderCvr, '1234567'), v(sp.senderCvr, '\${OS2_SENDER_CVR}'),
        v(sp.senderSystemUuid, 'a0b1c2d3-0000-4000-8000-000000000001'), v(sp.senderSystemUuid, 'nope'),
        v(sp.baseUrl, 'https://localhost:8443', { environment: 'custom' }), v(sp.baseUrl, 'localhost', { environment: 'custom' }), v(sp.baseUrl, '', { environment: 'test' }),
        v(ri.fingerprints, 'AB:'.repeat(31) + 'AB'), v(ri.fingerprints, 'AB:CD'),
        v(ri.allow, '10.0.0.0/8, 127.0.0.1, 2001:db8::/32'), v(ri.allow, 'example.org'),
        v(ri.path, '/os2/fordeling/kvittering'), v(ri.path, '/bad path'),
      ];
    })()`)) as Record<string, unknown>;
    assert.deepEqual(r, [true, false, true, true, false, true, false, true, true, false, true, false, true, false]);
  });

  it('certificate dialog: picking a P12 and its passphrase shows subject, CVR and validity', async function () {
    await page.evaluate("RED.editor.editConfig('', 'os2-certificate', '_ADD_')");
    await page.waitForSelector('#os2-cert-p12-file', { state: 'attached' });
    await page.setInputFiles('#os2-cert-p12-file', certs.client.p12Path);
    await page.waitForFunction(
      "(document.querySelector('#node-config-input-p12') || {}).value && document.querySelector('#node-config-input-p12').value.length > 100",
    );
    await page.fill('#node-config-input-p12Passphrase', certs.client.p12Passphrase);
    await page.evaluate("document.getElementById('os2-cert-check').click()");
    await page.waitForSelector('#os2-cert-info table', { timeout: 10000 });
    const text = await page.textContent('#os2-cert-info');
    assert.match(text ?? '', new RegExp(`CVR${certs.client.cvr}`));
    assert.match(text ?? '', /Serviceplatform Simulator Test CA/);
    await page.fill('#node-config-input-p12Passphrase', 'wrong');
    await page.evaluate("document.getElementById('os2-cert-check').click()");
    await page.waitForSelector('#os2-cert-info .os2-cert-error', { timeout: 10000 });
    assert.equal(await page.textContent('#os2-cert-info .os2-cert-error'), 'Wrong passphrase for the P12 file');
    await page.evaluate("document.getElementById('node-config-dialog-cancel')?.click()");
  });

  it('serviceplatform dialog: the token fields show only for the token model; the STS URL is required for a custom environment', async function () {
    await page.evaluate("RED.editor.editConfig('', 'os2-serviceplatform', '_ADD_')");
    await page.waitForSelector('#node-config-input-securityModel', { state: 'visible' });
    const visible = () => page.evaluate("['stsUrl', 'stsPins', 'appliesTo'].map((f) => $('#node-config-input-' + f).is(':visible'))");
    assert.deepEqual(await visible(), [false, false, false]);
    await page.selectOption('#node-config-input-securityModel', 'token');
    assert.deepEqual(await visible(), [true, true, true]);
    const r = await page.evaluate(`(() => { const d = RED.nodes.getType('os2-serviceplatform').defaults;
      const v = (value) => d.stsUrl.validate.call({}, value) === true;
      const test = [v(''), v('https://sts.example')];
      $('#node-config-input-environment').val('custom').trigger('change');
      return { option: $('#node-config-input-securityModel option[value=token]').text(), test, custom: [v(''), v('nope'), v('https://sts.example'), v('\${OS2_STS_URL}')] };
    })()`);
    assert.deepEqual(r, { option: 'Token (SAML from the STS, WS-Security)', test: [true, true], custom: [false, false, true, true] });
    await page.evaluate("document.getElementById('node-config-dialog-cancel')?.click()");
  });

  it('serves help in English and Danish for all four nodes', async function () {
    for (const [lang, phrase] of [
      ['en-US', 'Receives the Fordelingskomponent'],
      ['da', 'Modtager Fordelingskomponentens'],
    ]) {
      const html = await (await fetch(url + 'nodes', { headers: { Accept: 'text/html', 'Accept-Language': lang } })).text();
      for (const t of ['os2-certificate', 'os2-serviceplatform', 'os2-fordeling-out', 'os2-receipt-in'])
        assert.ok(html.includes(`data-help-name="${t}"`), `${lang} help for ${t}`);
      assert.ok(html.includes(phrase), `${lang} receipt-in help text`);
    }
  });

  it('raised no script errors in the editor', function () {
    assert.deepEqual(pageErrors, []);
  });
});
