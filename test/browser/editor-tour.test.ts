/**
 * The flow builder's experience in a real browser: Debian's chromium driven by playwright-core against `npm start`
 * (scripts/start.js: the simulator + a real Node-RED with this package and the flows in flows/ deployed).
 * What a municipal user relies on: the six nodes in the OS2 palette category; every dialog refusing a bad value
 * (CVR, KLE, UUID, URL, path, IP range) and accepting a good one; Danish help for a Danish browser; the demo page's
 * submission turning the statuses green and showing up, with its receipts, in the OS2 sidebar (CPR masked);
 * a refused delivery shown as failed and offered for resend.
 * Screenshots are kept in test-output/browser/ (git-ignored).
 * Without chromium the suite skips locally and says so; with CI=true it fails.
 */
import { txFor } from '../support/shipment-id';
import { strict as assert } from 'node:assert';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, prepareBrowserSuite } from '../support/chromium';
import { openNodeRedEditor } from '../support/browser';
import { NpmStart } from '../support/node-red';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'test-output', 'browser');
const DEMO_TAB = 'd0a0000000000001';
const ERRORS_TAB = 'e3a0000000000001';
const IDS = { webformIn: 'd1a0000000000002', fordelingOut: 'd2a00000000000a4', receiptIn: 'd3a00000000000a2', notAuthorised: 'e3a000000000000b' };
const SIX = ['os2-webform-in', 'os2-validate', 'os2-map', 'os2-sign', 'os2-fordeling-out', 'os2-receipt-in'];

/** One field of a dialog: how to make it invalid and valid again. */
interface FieldCase {
  type: string;
  config?: boolean;
  /** Properties the node starts with (validators read the node's other properties, not the form's). */
  props?: Record<string, unknown>;
  field: string;
  bad: string;
  good: string;
}

const CASES: FieldCase[] = [
  { type: 'os2-webform-in', field: 'path', bad: '/os2forms/with space', good: '/os2forms/sp241-test' },
  { type: 'os2-validate', props: { schemaSource: 'file' }, field: 'schemaFile', bad: ' ', good: '/data/schemas/sp241.schema.json' },
  { type: 'os2-map', field: 'kle', bad: '32.3', good: '32.03.12' },
  { type: 'os2-map', field: 'routingCvr', bad: '1481483', good: '14814833' },
  { type: 'os2-sign', props: { select: 'id' }, field: 'elementId', bad: 'two words', good: 'Body' },
  { type: 'os2-fordeling-out', field: 'serviceplatform', bad: '_ADD_', good: 'd2a00000000000b1' },
  { type: 'os2-receipt-in', field: 'allow', bad: 'example.org', good: '10.0.0.0/8, 127.0.0.1' },
  { type: 'os2-receipt-in', field: 'path', bad: '/bad path', good: '/os2/fordeling/kvittering' },
  { type: 'os2-serviceplatform', config: true, field: 'senderCvr', bad: '1234567', good: '12345678' },
  { type: 'os2-serviceplatform', config: true, field: 'senderSystemUuid', bad: 'not-a-uuid', good: '0c6e1e0b-6d6a-4c1f-9d0e-0b7c3b1f2a10' },
  { type: 'os2-os2forms-site', config: true, field: 'baseUrl', bad: 'os2forms.example.dk', good: 'https://os2forms.example.dk' },
];

describe('editor tour in a real browser (chromium, npm start)', function () {
  this.timeout(180_000);
  const npmStart = new NpmStart();
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let editor: Page;
  const pageErrors: string[] = [];
  const waitForOutput = (re: RegExp, ms: number) => npmStart.waitForOutput(re, ms);

  async function openEditor(ctx: BrowserContext): Promise<Page> {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return openNodeRedEditor(
      page,
      base,
      `RED.nodes.node('${IDS.fordelingOut}') && document.querySelector(".red-ui-palette-node[data-palette-type='os2-receipt-in']") && RED.sidebar.containsTab('os2-overview')`,
    );
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(OUT, name) });

  before(async function () {
    prepareBrowserSuite(this, 'nodes/overview/overview.js', OUT);
    await npmStart.start();
    base = `${npmStart.url}/`;
    browser = await launchChromium();
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    editor = await openEditor(context);
  });

  after(async () => {
    await browser?.close();
    await npmStart.dispose();
  });

  it('shows the six nodes in the OS2 palette category, with their short names', async () => {
    const found = (await editor.evaluate(`(${JSON.stringify(SIX)}).map((t) => {
      const el = document.querySelector(".red-ui-palette-node[data-palette-type='" + t + "']");
      return el && [el.closest('.red-ui-palette-category').id, el.querySelector('.red-ui-palette-label').textContent.replace(/\\s+/g, ' ').trim()];
    })`)) as Array<[string, string] | null>;
    assert.deepEqual(found, [
      ['red-ui-palette-container-OS2', 'webform in'],
      ['red-ui-palette-container-OS2', 'validate'],
      ['red-ui-palette-container-OS2', 'map'],
      ['red-ui-palette-container-OS2', 'sign'],
      ['red-ui-palette-container-OS2', 'fordeling out'],
      ['red-ui-palette-container-OS2', 'receipt in'],
    ]);
    const visible = await editor.locator("#red-ui-palette-container-OS2 .red-ui-palette-node[data-palette-type='os2-map']").isVisible();
    assert.ok(visible, 'the OS2 category is open and its nodes visible');
  });

  it('shows every node of the deployed demo flows as valid (no warning triangles)', async () => {
    const invalid = await editor.evaluate(`(() => {
      const out = [];
      RED.nodes.eachNode((n) => { if (n.valid === false) out.push(n.type + ' ' + n.id + ': ' + (n.validationErrors || []).join(', ')); });
      RED.nodes.eachConfig((n) => { if (n.valid === false) out.push(n.type + ' ' + n.id + ': ' + (n.validationErrors || []).join(', ')); });
      return out;
    })()`);
    assert.deepEqual(invalid, []);
  });

  for (const c of CASES) {
    it(`${c.type} dialog: ${c.field} "${c.bad}" is marked invalid, "${c.good}" is accepted`, async () => {
      const prefix = c.config ? '#node-config-input-' : '#node-input-';
      let added: string | undefined;
      if (c.config) {
        await editor.evaluate(`RED.editor.editConfig('', '${c.type}', '_ADD_')`);
      } else {
        // The node as the palette would drop it (every default filled in), then its edit dialog opened.
        added = (await editor.evaluate(`(() => {
          RED.workspaces.show('${DEMO_TAB}');
          const def = RED.nodes.getType('${c.type}');
          const n = { id: RED.nodes.id(), type: '${c.type}', x: 760, y: 620, z: '${DEMO_TAB}', wires: [] };
          for (const k of Object.keys(def.defaults)) n[k] = JSON.parse(JSON.stringify(def.defaults[k].value));
          Object.assign(n, ${JSON.stringify(c.props ?? {})});
          RED.nodes.import([n], { generateIds: false });
          RED.view.redraw(true);
          RED.editor.edit(RED.nodes.node(n.id));
          return n.id;
        })()`)) as string;
      }
      const field = editor.locator(prefix + c.field);
      await field.waitFor({ state: 'attached', timeout: 10_000 });
      await editor.waitForSelector('.red-ui-tray .red-ui-tray-footer', { state: 'visible' });
      const isInvalid = () => field.evaluate((el) => el.classList.contains('input-error'));
      async function set(value: string) {
        if ((await field.evaluate((el) => el.tagName)) === 'SELECT') {
          await field.selectOption(value);
        } else if (!(await field.evaluate((el) => !!el.nextElementSibling?.classList.contains('red-ui-typedInput-container')))) {
          await field.fill(value);
          await field.blur();
        } else {
          // A TypedInput: the user types into its visible text box.
          const box = editor.locator(`${prefix}${c.field} + .red-ui-typedInput-container input.red-ui-typedInput-input`);
          await box.fill(value);
          await box.blur();
        }
      }
      const marked = (invalid: boolean) =>
        editor.waitForFunction(
          ([s, want]) => document.querySelector(s as string)?.classList.contains('input-error') === want,
          [prefix + c.field, invalid] as const,
          { timeout: 5000 },
        );
      try {
        // good → bad → good: some fields start out invalid (required and empty).
        await set(c.good);
        await marked(false);
        await set(c.bad);
        await marked(true);
        if (c.type === 'os2-map' && c.field === 'kle') await shot(editor, 'dialog-map-invalid-kle.png');
        await set(c.good);
        await marked(false);
        assert.equal(await isInvalid(), false);
      } finally {
        await editor.evaluate(`(() => {
          document.querySelector('${c.config ? '#node-config-dialog-cancel' : '#node-dialog-cancel'}')?.click();
          const n = RED.nodes.node('${added}');
          if (n) { RED.nodes.remove(n.id); RED.nodes.dirty(false); RED.view.redraw(true); }
        })()`);
        await editor.waitForSelector('.red-ui-tray', { state: 'detached', timeout: 10_000 });
      }
    });
  }

  it('os2forms site dialog: "Test connection" tells the user to deploy first (the test uses the deployed key)', async () => {
    await editor.evaluate("RED.editor.editConfig('', 'os2-os2forms-site', '_ADD_')");
    try {
      await editor.locator('#os2-site-test-form').fill('sp241_helbredstillaeg');
      await editor.locator('#os2-site-test').click();
      await editor.locator('#os2-site-result', { hasText: 'Deploy the configuration first' }).waitFor({ timeout: 10_000 });
    } finally {
      await editor.evaluate("document.querySelector('#node-config-dialog-cancel')?.click()");
      await editor.waitForSelector('.red-ui-tray', { state: 'detached', timeout: 10_000 });
    }
  });

  it('shows the Danish help and sidebar for a Danish browser', async () => {
    const da = await browser.newContext({ locale: 'da-DK', viewport: { width: 1440, height: 900 } });
    try {
      const page = await openEditor(da);
      for (const [type, text] of [
        ['os2-map', 'Laver en OS2forms-indsendelse om til et Fordelingskomponent-objekt'],
        ['os2-fordeling-out', 'Leverer et FordelingsObject til KOMBITs Fordelingskomponent'],
      ]) {
        await page.evaluate(`RED.sidebar.show('help'); RED.sidebar.help.show('${type}')`);
        await page.locator('.red-ui-help', { hasText: text }).filter({ visible: true }).first().waitFor({ state: 'visible', timeout: 10_000 });
      }
      await shot(page, 'help-da-fordeling-out.png');
      await page.evaluate("RED.sidebar.show('os2-overview')");
      await page.locator('.os2-ov-f-state option[value=""]', { hasText: 'Alle tilstande' }).waitFor({ state: 'attached' });
      assert.equal(await page.locator('.os2-ov-f-form').getAttribute('placeholder'), 'Formular (webform-id)');
    } finally {
      await da.close();
    }
  });

  it('shows the OS2 tab in the tab bar with its envelope icon at 1600×900 (not only in a menu), and it opens the overview', async () => {
    const wide = await browser.newContext({ locale: 'en-US', viewport: { width: 1600, height: 900 } });
    try {
      const page = await openEditor(wide);
      // Node-RED lays its tab bar out in timers after each tab is added: let it settle
      await page.waitForTimeout(500);
      // Node-RED 4: the sidebar's own bar of link buttons (and a ▾ menu); Node-RED 5: one tab bar below the workspace
      const nr4 = (await page.locator('#red-ui-sidebar .red-ui-tab-link-buttons').count()) > 0;
      const bar = page.locator(nr4 ? '#red-ui-sidebar .red-ui-tab-link-buttons' : '.red-ui-sidebar-tab-bar');
      const button = bar.locator(nr4 ? '#red-ui-tab-os2-overview-link-button' : 'button[data-tab-id="os2-overview"]');
      const shown = () => bar.locator(nr4 ? 'a:visible' : 'button:visible').evaluateAll((els) => els.map((e) => e.id || e.getAttribute('data-tab-id')));
      assert.equal(await button.count(), 1, 'one OS2 button');
      assert.ok(await button.isVisible(), `the OS2 button is shown in the bar; shown: ${await shown()}`);
      assert.equal(await button.locator('i.fa.fa-envelope').count(), 1, 'with its envelope icon');
      const [b, row] = [await button.boundingBox(), await bar.boundingBox()];
      assert.ok(b && row && b.width > 10 && b.x >= row.x && b.x + b.width <= row.x + row.width + 1, `inside the bar: ${JSON.stringify({ b, row })}`);
      await shot(page, `sidebar-tabs-1600-nr${nr4 ? 4 : 5}.png`);
      await button.click();
      await page.locator('.os2-ov-filters').waitFor({ state: 'visible', timeout: 10_000 });
      assert.match((await button.getAttribute('class')) ?? '', /\bselected\b/, 'the OS2 button is the selected one');
      // nothing of ours was saved in the user's settings
      assert.equal(await page.evaluate("JSON.stringify(RED.settings.get('editor.sidebar.order') ?? null)"), 'null');
      if (nr4) {
        // a user's own order (Node-RED 4 saves one when a button is dragged) is kept as it is: OS2 not moved into it
        const order = ['debug', 'info', 'help'];
        await page.evaluate(`RED.settings.set('editor.sidebar.order', ${JSON.stringify(order)})`);
        await page.waitForTimeout(500); // saved with the user's settings
        try {
          await page.reload();
          await page.waitForFunction("(() => { try { return RED.sidebar.containsTab('os2-overview') } catch (e) { return false } })()", undefined, {
            timeout: 60_000,
          });
          await page.waitForTimeout(500);
          const tabs = await page.locator('#red-ui-sidebar-tabs > li').evaluateAll((lis) => lis.map((li) => li.id.replace('red-ui-tab-', '')));
          assert.deepEqual(tabs.slice(0, order.length), order, `the user's order first: ${tabs}`);
          // the tabs outside it in the order Node-RED added them: OS2 after Configuration nodes and Context data
          assert.ok(tabs.indexOf('os2-overview') > Math.max(tabs.indexOf('config'), tabs.indexOf('context')), `OS2 where Node-RED put it: ${tabs}`);
        } finally {
          await page.evaluate("RED.settings.remove('editor.sidebar.order')");
          await page.waitForTimeout(500);
        }
      }
    } finally {
      await wide.close();
    }
  });

  it("the demo page's submission turns the statuses green and shows in the OS2 sidebar with both receipts, CPR masked", async () => {
    await editor.evaluate(`RED.workspaces.show('${DEMO_TAB}'); RED.sidebar.show('os2-overview')`);
    const demo = await context.newPage();
    demo.on('pageerror', (e) => pageErrors.push(`demo: ${e.message}`));
    await demo.goto(base + 'demo/');
    await demo.getByLabel('CPR-nummer (test)').fill('0102031234');
    await demo.getByRole('button', { name: 'Send ansøgning' }).click();
    await demo.waitForFunction(() => /^\d{3} /.test(document.getElementById('out')!.textContent || ''), undefined, { timeout: 20_000 });
    assert.match((await demo.textContent('#out')) ?? '', /^202 /);
    const answer = JSON.parse(((await demo.textContent('#out')) ?? '').replace(/^202 /, ''));
    await shot(demo, 'demo-page.png');
    const tx = txFor(answer.uuid, 'sp241_helbredstillaeg', 'FORMULAR', { receivingAuthorityCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' });

    const green = (id: string) =>
      editor.waitForFunction((i) => !!document.getElementById(i)?.querySelector('.red-ui-flow-node-status-dot-green'), id, { timeout: 30_000 });
    await green(IDS.webformIn);
    await green(IDS.fordelingOut);
    await green(IDS.receiptIn);
    // receipt in counts the receipts and shows the last: Teknisk MODTAGET, then Forretning ACCEPTERET.
    await editor.waitForFunction(
      (i) => /ACCEPTERET/.test(document.getElementById(i)?.querySelector('.red-ui-flow-node-status-label')?.textContent ?? ''),
      IDS.receiptIn,
      { timeout: 30_000 },
    );

    const row = editor.locator(`.os2-ov-row[data-tx="${tx}"]`);
    await row.locator('.os2-ov-receipt', { hasText: 'Forretning: ACCEPTERET' }).waitFor({ timeout: 30_000 });
    assert.match((await row.textContent()) ?? '', /Teknisk: MODTAGET/);
    assert.equal(await row.locator('.os2-ov-state').getAttribute('data-state'), 'accepted');
    await shot(editor, 'demo-flow.png');

    await row.click();
    const request = editor.locator('.os2-ov-detail .os2-ov-request');
    await request.waitFor({ timeout: 10_000 });
    const detailText = (await editor.locator('.os2-ov-detail').textContent()) ?? '';
    assert.match(detailText, /FordelingsobjektAfsendRequest/);
    assert.match(detailText, /urn:oio:cpr:\*{6}-\*{4}/, 'the form XML is shown with the CPR masked');
    assert.ok(!detailText.includes('0102031234') && !detailText.includes('010203-1234'), 'no CPR number in the sidebar');
    assert.equal(await editor.locator('.os2-ov-detail .os2-ov-resend').count(), 0, 'a delivered shipment offers no resend');
    await shot(editor, 'overview-sidebar.png');
  });

  it('the JOURNALPOST tab delivers a note, and a shipment with no receiver comes back AFVIST (rejected)', async () => {
    const journalpostTx = txFor('6a1f0c3e-2b4d-4e8f-9a01-3c5d7e9f1b20', 'henvendelse', 'JOURNALPOST', {
      receivingAuthorityCvr: '14814833',
      kle: '32.03.12',
      handlingFacet: 'G01',
    });
    const noReceiverTx = txFor('1e5b4a7c-6f8b-4ca3-9e45-7a9b1c3d5f64', 'henvendelse', 'JOURNALPOST', {
      receivingAuthorityCvr: '14814833',
      kle: '00.00.01',
      handlingFacet: 'G01',
    });
    await editor.evaluate(`RED.workspaces.show('e1a0000000000001'); RED.sidebar.show('os2-overview')`);
    await editor.locator('[id="e1a0000000000003"] .red-ui-flow-node-button').click();
    const jp = editor.locator(`.os2-ov-row[data-tx="${journalpostTx}"]`);
    await jp.locator('.os2-ov-receipt', { hasText: 'Forretning: ACCEPTERET' }).waitFor({ timeout: 30_000 });
    assert.match((await jp.textContent()) ?? '', /JOURNALPOST/);
    await editor.evaluate(`RED.workspaces.show('${ERRORS_TAB}')`);
    await editor.locator('[id="e3a0000000000009"] .red-ui-flow-node-button').click();
    const none = editor.locator(`.os2-ov-row[data-tx="${noReceiverTx}"]`);
    await none.locator('.os2-ov-receipt', { hasText: 'Forretning: AFVIST' }).waitFor({ timeout: 30_000 });
    assert.equal(await none.locator('.os2-ov-state').getAttribute('data-state'), 'rejected');
  });

  it('the DOKUMENT tab sends its file by SFTP and the shipment gets both receipts (when npm start found an sshd)', async function () {
    if (!/SFTP \(sim, attachments\)/.test(npmStart.out)) {
      if (process.env.CI === 'true') throw new Error('npm start found no sshd: run bash scripts/sshd-fetch.sh (CI must test the DOKUMENT demo)');
      console.log('    (skipped: npm start found no sshd; bash scripts/sshd-fetch.sh)');
      this.skip();
    }
    const tx = txFor('8b2e1d4f-3c5e-4f70-8b12-4d6e8f0a2c31', 'bilag', 'DOKUMENT', { receivingAuthorityCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' });
    await editor.evaluate(`RED.workspaces.show('e2a0000000000001'); RED.sidebar.show('os2-overview')`);
    await editor.locator('[id="e2a0000000000003"] .red-ui-flow-node-button').click();
    const row = editor.locator(`.os2-ov-row[data-tx="${tx}"]`);
    await row.locator('.os2-ov-receipt', { hasText: 'Forretning: ACCEPTERET' }).waitFor({ timeout: 30_000 });
    assert.match((await row.textContent()) ?? '', /DOKUMENT/);
    await waitForOutput(/\[sftp\] os2forms_8b2e1d4f-3c5e-4f70-8b12-4d6e8f0a2c31_0_[^:]*: SUCCESS/, 20_000);
  });

  it('filters by state: a refused delivery is listed with its reason and offered for resend, which tries again', async () => {
    await editor.evaluate(`RED.workspaces.show('${ERRORS_TAB}'); RED.sidebar.show('os2-overview')`);
    // The user clicks the inject node's button: a JOURNALPOST from a sender CVR the certificate does not hold.
    await editor.locator(`[id="${IDS.notAuthorised}"] .red-ui-flow-node-button`).click();
    const refused = editor.locator('.os2-ov-row', { hasText: 'does not match the client certificate' }).first();
    await refused.waitFor({ timeout: 20_000 });
    // fordeling out dead-letters a permanent failure (or marks it failed, without a durable queue).
    const state = (await refused.locator('.os2-ov-state').getAttribute('data-state')) ?? '';
    assert.ok(['failed', 'dead-letter'].includes(state), state);
    const tx = (await refused.getAttribute('data-tx')) as string;
    await editor.selectOption('.os2-ov-f-state', state);
    await editor.waitForFunction(
      (st) => {
        const badges = Array.from(document.querySelectorAll('.os2-ov-list .os2-ov-state'));
        return badges.length > 0 && badges.every((b) => b.getAttribute('data-state') === st);
      },
      state,
      { timeout: 10_000 },
    );
    await editor.locator('.os2-ov-f-state').selectOption('accepted');
    await editor.waitForFunction((t) => !document.querySelector(`.os2-ov-row[data-tx="${t}"]`), tx, { timeout: 10_000 });
    await editor.locator('.os2-ov-f-state').selectOption(state);
    await editor.locator(`.os2-ov-row[data-tx="${tx}"]`).click();
    const resend = editor.locator('.os2-ov-detail .os2-ov-resend');
    await resend.waitFor({ timeout: 10_000 });
    await shot(editor, 'overview-dead-letter.png');
    await resend.click();
    // Queued again (durable queue) or sent at once and refused again: either way the user is told.
    await editor
      .locator('.red-ui-notification', { hasText: /Sent again|Resend failed/ })
      .first()
      .waitFor({ timeout: 20_000 });
    await waitForOutput(new RegExp(`(fault: AuthorityContext CVR 11111111[^\\n]*\\n[\\s\\S]*){2}`), 20_000);
    await editor.locator('.os2-ov-f-state').selectOption('');
  });

  it('raised no script errors in the editor or the demo page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
