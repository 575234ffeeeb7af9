/**
 * The map dialog's "see before sending" (issue 18) in a real browser: Debian's chromium driven by playwright-core against
 * `npm start` (the simulator + a real Node-RED with the demo flows of flows/ deployed), as a municipal builder uses it:
 * a real submission posted through the demo page shows up in the dialog's recent list and previews as the
 * FordelingsObject, the form XML and the exact request (CPR masked, no file contents); a value the dialog lets through
 * but the SF2900 contract refuses is marked at its field; the receiver picker and "check routing" ask the simulated
 * Fordelingskomponent. Screenshots in test-output/browser/. Without chromium the suite skips locally; with CI=true it fails.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEFAULT_RECEIVERS } from '../../simulator';
import { STAND_IN_PDF } from '../../lib/webform/samples';
import { openNodeRedEditor } from '../support/browser';
import { launchChromium, prepareBrowserSuite } from '../support/chromium';
import { NpmStart } from '../support/node-red';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'test-output', 'browser');
const DEMO = { tab: 'd0a0000000000001', map: 'd1a0000000000005', serviceplatform: 'd2a00000000000b1' };
const DOKUMENT = { tab: 'e2a0000000000001', map: 'e2a0000000000005' };
/** The error-handling tab's map node that takes the KLE from the message (payload.data.routing_kle). */
const KLE_FROM_MSG = { tab: 'e3a0000000000001', map: 'e3a0000000000008' };
/** The demo page's test CPR number and PDF (demo/index.html). */
const CPR = '0102031234';
const DEMO_PDF_BASE64 = 'JVBERi0xLjQKMSAwIG9iaiA8PD4+IGVuZG9iagp0cmFpbGVyIDw8Pj4KJSVFT0YK';
/** The simulator's receiver for the demo's routing (14814833, 32.03.12, G01). */
const KP = DEFAULT_RECEIVERS.find((r) => r.authorityCvr === '14814833' && r.kle === '32.03.12')!;

describe('map dialog: see before sending (chromium, npm start)', function () {
  this.timeout(180_000);
  const npmStart = new NpmStart();
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let editor: Page;
  const pageErrors: string[] = [];

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(OUT, name) });
  const tray = () => editor.locator('.red-ui-tray');

  /** Opens a map node's edit dialog on its tab. */
  async function openMap(tab: string, id: string): Promise<void> {
    await editor.evaluate(`RED.workspaces.show('${tab}'); RED.editor.edit(RED.nodes.node('${id}'))`);
    await editor.waitForSelector('.red-ui-tray .red-ui-tray-footer', { state: 'visible' });
    await editor.locator('#os2-map-preview-run').waitFor({ state: 'visible', timeout: 10_000 });
  }
  async function cancelDialog(): Promise<void> {
    await editor.evaluate("document.querySelector('#node-dialog-cancel')?.click()");
    await editor.waitForSelector('.red-ui-tray', { state: 'detached', timeout: 10_000 });
  }
  /** Everything the dialog shows: its text and the values of its inputs. */
  const dialogText = () =>
    tray().evaluate((el) =>
      [el.textContent ?? '', ...Array.from(el.querySelectorAll('input, textarea, select')).map((i) => (i as HTMLInputElement).value)].join('\n'),
    );
  /** Types into a TypedInput's visible box, as the user does. */
  async function typeInto(field: string, value: string): Promise<void> {
    const box = editor.locator(`#node-input-${field} + .red-ui-typedInput-container input.red-ui-typedInput-input`);
    await box.fill(value);
    await box.blur();
  }
  async function preview(): Promise<void> {
    await editor.locator('#os2-map-preview-run').click();
    await editor.waitForFunction(() => !/Mapping…/.test(document.getElementById('os2-map-preview-status')?.textContent ?? ''), undefined, { timeout: 30_000 });
    await editor.waitForFunction(
      () =>
        (document.getElementById('os2-map-preview-parts') as HTMLElement).style.display !== 'none' ||
        /os2-map-bad/.test(document.getElementById('os2-map-preview-status')?.className ?? ''),
      undefined,
      { timeout: 30_000 },
    );
  }
  /** Clicks a routing button and waits for the platform's answer line. */
  async function routingAnswer(button: string): Promise<{ tone: string; text: string }> {
    await editor.locator(button).click();
    await editor.waitForFunction(() => {
      const el = document.getElementById('os2-map-routing-out');
      return !!el && el.style.display !== 'none' && !/Asking the Fordelingskomponent/.test(el.textContent ?? '');
    });
    return routingLine();
  }
  /** The routing line as it stands: its tone (good/bad/plain) and text. */
  async function routingLine(): Promise<{ tone: string; text: string }> {
    const out = editor.locator('#os2-map-routing-out');
    const cls = (await out.getAttribute('class')) ?? '';
    return { tone: /os2-map-good/.test(cls) ? 'good' : /os2-map-bad/.test(cls) ? 'bad' : '', text: (await out.textContent()) ?? '' };
  }

  before(async function () {
    prepareBrowserSuite(this, 'lib/mapping/preview.js', OUT);
    await npmStart.start();
    base = `${npmStart.url}/`;
    browser = await launchChromium();
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    editor = await context.newPage();
    editor.on('pageerror', (e) => pageErrors.push(e.message));
    await openNodeRedEditor(editor, base, `RED.nodes.node('${DEMO.map}') && RED.nodes.node('${DOKUMENT.map}') && RED.nodes.getType('os2-map')`);
  });

  after(async () => {
    await browser?.close();
    await npmStart.dispose();
  });

  afterEach(async () => {
    if (await tray().count()) await cancelDialog();
  });

  it('a real submission through webform in appears in the recent list and previews as object, XML and request: CPR masked, no file contents', async () => {
    await openMap(DEMO.tab, DEMO.map);
    // before the first real submission: the hint, and the paste box
    await editor.locator('#os2-map-preview-hint', { hasText: 'after the first real submission through webform in' }).waitFor({ timeout: 10_000 });
    assert.ok(await editor.locator('#os2-map-preview-sample').isVisible());

    const demo = await context.newPage();
    demo.on('pageerror', (e) => pageErrors.push(`demo: ${e.message}`));
    await demo.goto(`${base}demo/`);
    await demo.getByLabel('CPR-nummer (test)').fill(CPR);
    await demo.getByRole('button', { name: 'Send ansøgning' }).click();
    await demo.waitForFunction(() => /^\d{3} /.test(document.getElementById('out')!.textContent || ''), undefined, { timeout: 20_000 });
    const answer = ((await demo.textContent('#out')) ?? '').trim();
    assert.match(answer, /^202 /, `npm start said:\n${npmStart.out.slice(-3000)}`);
    const uuid = String(JSON.parse(answer.replace(/^202 /, '')).uuid).toLowerCase();
    await demo.close();

    // fetched again: the submission is the newest and chosen, shown read-only with the CPR masked
    let option = editor.locator('#os2-map-preview-source optgroup option', { hasText: uuid.slice(0, 8) });
    for (let i = 0; i < 50 && !(await option.count()); i++) {
      await editor.locator('#os2-map-preview-refresh').click();
      await editor.waitForTimeout(200);
      option = editor.locator('#os2-map-preview-source optgroup option', { hasText: uuid.slice(0, 8) });
    }
    assert.equal(await option.count(), 1, 'the submission is in the recent list');
    assert.match((await option.textContent()) ?? '', /^sp241_helbredstillaeg · \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.equal(await editor.locator('#os2-map-preview-source').inputValue(), await option.getAttribute('value'), 'the newest is chosen');
    await editor.locator('#os2-map-preview-shown', { hasText: '"ansoeger_cpr": "******-****"' }).waitFor({ timeout: 10_000 });
    assert.equal(await editor.locator('#os2-map-preview-sample').isVisible(), false, 'the paste box is hidden while a submission is chosen');
    assert.equal(await editor.locator('#os2-map-preview-hint').isVisible(), false);
    // the serviceplatform of the fordeling out this map node is wired to
    assert.equal(await editor.locator('#os2-map-preview-sp').inputValue(), DEMO.serviceplatform);

    await preview();
    assert.equal(await editor.locator('#os2-map-preview-errors li').count(), 0, (await editor.locator('#os2-map-preview-errors').textContent()) ?? '');
    assert.equal((await editor.locator('#os2-map-preview-contract').textContent())?.trim(), 'Checked against the SF2900 contract ✓');
    assert.equal(await editor.locator('#os2-map-preview-contract').getAttribute('class'), 'os2-map-line os2-map-good');
    const object = JSON.parse((await editor.locator('#os2-map-part-object pre').textContent()) ?? '');
    assert.equal(object.objektType, 'FORMULAR');
    assert.equal(object.submissionId, uuid);
    assert.deepEqual(object.context.routing, { receivingAuthorityCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' });
    assert.match((await editor.locator('#os2-map-part-xml pre').textContent()) ?? '', /<Personnummer>urn:oio:cpr:\*{6}-\*{4}<\/Personnummer>/);
    const request = (await editor.locator('#os2-map-part-request pre').textContent()) ?? '';
    assert.match(request, /FordelingsobjektAfsendRequest/);
    assert.match(request, /<v2:ObjektType>FORMULAR<\/v2:ObjektType>[\s\S]*<v2:TitelTekst>ansøgning\.pdf<\/v2:TitelTekst>/);
    assert.match(request, /os2: file contents left out of the preview/, 'the file contents are left out of the request shown');
    // parts: the FordelingsObject open, the XML and the request collapsed, each scrollable
    assert.deepEqual(
      await editor.evaluate(() => ['object', 'xml', 'request'].map((p) => (document.getElementById(`os2-map-part-${p}`) as HTMLDetailsElement).open)),
      [true, false, false],
    );
    assert.equal(await editor.locator('#os2-map-part-request pre').evaluate((el) => getComputedStyle(el).maxHeight), '280px');

    const text = await dialogText();
    assert.ok(!text.includes(CPR) && !text.includes('010203-1234'), 'no CPR number anywhere in the dialog');
    assert.match(text, /urn:oio:cpr:\*{6}-\*{4}/);
    assert.ok(!text.includes(DEMO_PDF_BASE64), "no content of the submission's PDF");
    assert.ok(!text.includes(STAND_IN_PDF.toString('base64')), 'no file content in the request either');

    await editor.locator('#os2-map-part-request summary').click();
    await editor.locator('#os2-map-part-object summary').click();
    await editor.locator('#os2-map-preview-contract').scrollIntoViewIfNeeded();
    await shot(editor, 'map-preview-request.png');
  });

  it('a value the dialog lets through but the SF2900 contract refuses is marked at its field, the request line and in the list', async () => {
    await openMap(DOKUMENT.tab, DOKUMENT.map);
    await editor.locator('#os2-map-preview-source').selectOption('');
    // a file size from the remote post the dialog cannot know is wrong: "1e+21" in Filstoerrelse is no xs:integer
    const sample = (size: number) =>
      JSON.stringify({
        webform: { id: 'bilag' },
        submission: { uuid: '11111111-2222-4333-8444-555555555555', completed: '2026-11-21T23:15:00.000Z' },
        data: { beskrivelse: 'Tilbud på briller' },
        files: [{ element: 'bilag', name: 'tilbud.pdf', mime: 'application/pdf', size, url: 'https://selvbetjening.example.dk/tilbud.pdf' }],
      });
    await editor.locator('#os2-map-preview-sample').fill(sample(1e21));
    assert.equal(await editor.locator('#os2-map-preview-sp').inputValue(), DEMO.serviceplatform);
    await preview();

    const pdfBox = editor.locator('#node-input-pdf + .red-ui-typedInput-container');
    assert.ok(await pdfBox.evaluate((el) => el.classList.contains('os2-map-flagged')), 'the file setting is outlined');
    assert.equal(await pdfBox.evaluate((el) => el.classList.contains('input-error')), false, "the dialog's own check lets it through");
    const fieldMsg = editor.locator('#node-input-pdf').locator('xpath=ancestor::div[contains(@class,"form-row")][1]').locator('.os2-map-field-msg');
    assert.match((await fieldMsg.textContent()) ?? '', /Filstoerrelse/);
    assert.equal(await editor.locator('.os2-map-flagged').count(), 1, 'only the field that caused it');
    const listed = editor.locator('#os2-map-preview-errors li');
    assert.equal(await listed.count(), 1);
    assert.match((await listed.textContent()) ?? '', /^PDF \/ document file · Filstoerrelse · line \d+: .*Filstoerrelse/);
    assert.match((await editor.locator('#os2-map-preview-contract').textContent()) ?? '', /Checked against the SF2900 contract – problems: 1/);
    // the list entry opens the request at the line the contract refuses
    await listed.click();
    assert.equal(await editor.locator('#os2-map-part-request').evaluate((el) => (el as HTMLDetailsElement).open), true);
    assert.match((await editor.locator('#os2-map-part-request .os2-map-bad-line').textContent()) ?? '', /<v2:Filstoerrelse>1e\+21<\/v2:Filstoerrelse>/);
    const inView = await editor.locator('#os2-map-part-request .os2-map-bad-line').evaluate((el) => {
      const line = el.getBoundingClientRect();
      const pre = el.parentElement!.getBoundingClientRect();
      return line.top >= pre.top && line.bottom <= pre.bottom;
    });
    assert.ok(inView, 'the refused line is scrolled into view');
    assert.match((await fieldMsg.textContent()) ?? '', /^Element 'Filstoerrelse': '1e\+21' is not a valid value/, 'without the namespace');
    await editor.locator('#node-input-pdf').locator('xpath=..').scrollIntoViewIfNeeded();
    await shot(editor, 'map-preview-contract-error-field.png');
    await editor.locator('#os2-map-preview-errors').scrollIntoViewIfNeeded();
    await shot(editor, 'map-preview-contract-error-list.png');

    // corrected: the next preview clears the marks
    await editor.locator('#os2-map-preview-sample').fill(sample(48213));
    await preview();
    assert.equal(await editor.locator('.os2-map-flagged').count(), 0);
    assert.equal(await editor.locator('.os2-map-field-msg').count(), 0);
    assert.equal(await editor.locator('#os2-map-preview-errors li').count(), 0);
    assert.equal((await editor.locator('#os2-map-preview-contract').textContent())?.trim(), 'Checked against the SF2900 contract ✓');
  });

  it("the receiver picker lists the simulator's receivers for the demo's routing; picking one fills the receiving IT-system", async () => {
    await openMap(DEMO.tab, DEMO.map);
    // routing by KLE: picking confirms
    await editor.locator('#os2-map-receivers').click();
    const pick = editor.locator('#os2-map-routing-out .os2-map-receiver');
    await pick.first().waitFor({ timeout: 20_000 });
    assert.deepEqual(await pick.evaluateAll((els) => els.map((e) => [e.textContent, e.getAttribute('data-uuid')])), [[KP.systemName, KP.systemUuid]]);
    assert.match((await editor.locator('#os2-map-routing-out .os2-map-receiver-detail').textContent()) ?? '', /CVR 14814833 · KLE 32\.03\.12 G01/);
    await pick.click();
    assert.deepEqual(await routingLine(), { tone: 'good', text: `The KLE routing (32.03.12 G01) reaches ${KP.systemName} (${KP.systemUuid})` });

    // routing by IT-system: picking fills the field, which the dialog then accepts
    await editor.locator('#node-input-routingMode').selectOption('system');
    await editor.locator('#node-input-receivingSystemUuid + .red-ui-typedInput-container').waitFor({ state: 'visible' });
    assert.equal(await editor.locator('#node-input-receivingSystemUuid').inputValue(), '');
    await editor.locator('#os2-map-receivers').click();
    await editor.locator('#os2-map-routing-out .os2-map-receiver').click();
    assert.equal(await editor.locator('#node-input-receivingSystemUuid').inputValue(), KP.systemUuid);
    assert.equal(await editor.locator('#node-input-receivingSystemUuid').evaluate((el) => el.classList.contains('input-error')), false);
    assert.deepEqual(await routingLine(), { tone: 'good', text: `Receiving IT-system set to ${KP.systemName} (${KP.systemUuid})` });
    await editor.locator('#os2-map-routing-out').scrollIntoViewIfNeeded();
    await shot(editor, 'map-receiver-picked.png');
    // and the platform confirms that system
    const checked = await routingAnswer('#os2-map-check-routing');
    assert.equal(checked.tone, 'good', checked.text);
    assert.match(checked.text, new RegExp(`Would be delivered to ${KP.systemUuid}`));
  });

  it('"check routing": green naming the receiver for the demo routing, red for a KLE no one receives, "deploy first" for an undeployed platform', async () => {
    await openMap(DEMO.tab, DEMO.map);
    const ok = await routingAnswer('#os2-map-check-routing');
    assert.deepEqual(ok, { tone: 'good', text: `✓ Would be delivered to ${KP.systemName} (${KP.systemUuid})` });
    await editor.locator('#os2-map-routing-out').scrollIntoViewIfNeeded();
    await shot(editor, 'map-check-routing-ok.png');

    await typeInto('kle', '00.00.01');
    const none = await routingAnswer('#os2-map-check-routing');
    assert.deepEqual(none, { tone: 'bad', text: '✗ Would not be delivered: no IT-system receives this routing for authority 14814833' });
    await shot(editor, 'map-check-routing-none.png');
    assert.deepEqual(await routingAnswer('#os2-map-receivers'), { tone: 'bad', text: 'No IT-system receives KLE 00.00.01 for authority 14814833' });

    // a serviceplatform configuration added in the editor but not deployed
    const added = (await editor.evaluate(`(() => {
      const id = RED.nodes.id();
      RED.nodes.import([{ id, type: 'os2-serviceplatform', name: 'new platform', environment: 'test', senderCvr: '12345678', senderSystemUuid: '0c6e1e0b-6d6a-4c1f-9d0e-0b7c3b1f2a10' }], { generateIds: false });
      $('#os2-map-preview-sp').append($('<option>').val(id).text('new platform')).val(id);
      return id;
    })()`)) as string;
    try {
      assert.deepEqual(await routingAnswer('#os2-map-check-routing'), {
        tone: 'bad',
        text: 'The serviceplatform configuration is not deployed yet: deploy first, then try again',
      });
    } finally {
      await cancelDialog();
      await editor.evaluate(`(() => { const n = RED.nodes.node('${added}'); if (n) { RED.nodes.remove(n.id); } RED.nodes.dirty(false); })()`);
    }
  });

  it('a KLE taken from the message: a mapping error is marked at the KLE field; the routing checks use the last preview', async () => {
    await openMap(KLE_FROM_MSG.tab, KLE_FROM_MSG.map);
    await editor.locator('#os2-map-preview-source').selectOption('');
    const enquiry = (kle: string) =>
      JSON.stringify({
        webform: { id: 'henvendelse' },
        submission: { uuid: '0d4a3f6b-5e7a-4b92-8d34-6f8a0b2c4e53', completed: '2026-11-22T08:05:00.000Z' },
        data: { navn: 'Ida', besked: 'Hej', routing_kle: kle },
        files: [],
      });
    assert.deepEqual(await routingAnswer('#os2-map-check-routing'), {
      tone: 'bad',
      text: 'KLE subject: taken from the message – run the preview first, its values are used',
    });

    await editor.locator('#os2-map-preview-sample').fill(enquiry('32.3'));
    await preview();
    const kleBox = editor.locator('#node-input-kle + .red-ui-typedInput-container');
    assert.ok(await kleBox.evaluate((el) => el.classList.contains('os2-map-flagged')), 'the KLE setting is outlined');
    assert.match((await editor.locator('#os2-map-preview-errors li').first().textContent()) ?? '', /^KLE subject: kle: /);
    assert.equal(await editor.locator('#os2-map-preview-parts').isVisible(), false, 'nothing mapped, nothing shown');
    assert.match((await editor.locator('#os2-map-preview-status').textContent()) ?? '', /The preview found problems: 1/);

    await editor.locator('#os2-map-preview-sample').fill(enquiry('32.03.12'));
    await preview();
    assert.equal(await editor.locator('.os2-map-flagged').count(), 0);
    assert.deepEqual(await routingAnswer('#os2-map-check-routing'), { tone: 'good', text: `✓ Would be delivered to ${KP.systemName} (${KP.systemUuid})` });
  });

  it('speaks Danish to a Danish browser', async () => {
    const da = await browser.newContext({ locale: 'da-DK', viewport: { width: 1440, height: 900 } });
    try {
      const page = await openNodeRedEditor(await da.newPage(), base, `RED.nodes.node('${DEMO.map}') && RED.nodes.getType('os2-map')`);
      page.on('pageerror', (e) => pageErrors.push(`da: ${e.message}`));
      await page.evaluate(`RED.workspaces.show('${DEMO.tab}'); RED.editor.edit(RED.nodes.node('${DEMO.map}'))`);
      await page.locator('#os2-map-preview-run').waitFor({ state: 'visible', timeout: 10_000 });
      assert.equal((await page.locator('#os2-map-receivers').textContent())?.trim(), 'vælg modtager…');
      assert.equal((await page.locator('#os2-map-check-routing').textContent())?.trim(), 'tjek routing');
      assert.equal(await page.locator('#os2-map-preview-source optgroup').getAttribute('label'), 'Seneste indsendelser');
      await page.locator('#os2-map-check-routing').click();
      await page.locator('#os2-map-routing-out.os2-map-good', { hasText: `Vil blive leveret til ${KP.systemName}` }).waitFor({ timeout: 20_000 });
      await page.locator('#os2-map-preview-run').click();
      await page.locator('#os2-map-preview-contract', { hasText: 'Tjekket mod SF2900-kontrakten ✓' }).waitFor({ timeout: 30_000 });
      assert.deepEqual(await page.locator('#os2-map-preview-parts summary').allTextContents(), [
        'FordelingsObject',
        'Formular-XML',
        'Forespørgsel til Fordelingskomponenten',
      ]);
      await page.locator('#os2-map-preview-contract').scrollIntoViewIfNeeded();
      await shot(page, 'map-preview-da.png');
    } finally {
      await da.close();
    }
  });

  it('raised no script errors in the editor or the demo page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
