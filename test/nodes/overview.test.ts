import { shipmentIdOf } from '../../lib/delivery/plan';
/**
 * The OS2 overview sidebar's admin endpoints (plugin os2-overview): shipments with receipts from the ledger,
 * one shipment's details with CPR masked, resend of a failed shipment, and Node-RED's admin authentication.
 */
import { strict as assert } from 'assert';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import overviewPlugin from '../../nodes/overview/overview';
import ledgerNode from '../../nodes/ledger/ledger';
import type { Ledger } from '../../lib/ledger/types';
import { maskCpr, parseFilter, requestView } from '../../nodes/overview/shipments';
import type { Simulator } from '../../simulator';
import type { SimulatorCerts } from '../support/certs';
import { dokument, formular, journalpost } from '../lib/sf2900/fixtures';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import { NODES, until } from '../e2e/harness';
import { buildAfsendRequest } from '../../lib/sf2900/afsend';
import certificateNode from '../../nodes/certificate/certificate';
import serviceplatformNode from '../../nodes/serviceplatform/serviceplatform';
import { serviceplatformNode as spNode, useSimulator } from '../support/platform';

const SYSTEM = 'a0b1c2d3-0000-4000-8000-000000000001';

describe('overview: masking and filters', () => {
  it('masks CPR numbers with and without a dash and in urn:oio:cpr: values, but not longer numbers', () => {
    assert.equal(maskCpr('CPR 010203-1234 og 0102031234.'), 'CPR ******-**** og ******-****.');
    assert.equal(maskCpr('<Personnummer>urn:oio:cpr:0102031234</Personnummer>'), '<Personnummer>urn:oio:cpr:******-****</Personnummer>');
    assert.equal(maskCpr('order 123456789012 / cvr 12345678'), 'order 123456789012 / cvr 12345678');
    assert.equal(maskCpr('tx 3f2c8e0a-6b1d-4c2e-9a7f-a0102031234b'), 'tx 3f2c8e0a-6b1d-4c2e-9a7f-a0102031234b', 'not inside a UUID');
    assert.equal(maskCpr('cpr: 010203-1234\n'), 'cpr: ******-****\n');
  });

  it('shows embedded form XML decoded and masked, and file contents only as their size', () => {
    const form = Buffer.from('<SP241><Personnummer>urn:oio:cpr:0102031234</Personnummer>' + ' '.repeat(100) + '</SP241>').toString('base64');
    const pdf = Buffer.from('%PDF-1.4 ' + 'x'.repeat(200)).toString('base64');
    const v = requestView(`<R><Formular>${form}</Formular><Fil>${pdf}</Fil><Note>010203-1234</Note></R>`);
    assert.match(v.text, /<Formular>\[XML document 1, \d+ bytes\]<\/Formular>/);
    assert.match(v.text, /<Fil>\[file content left out: Fil, 209 bytes\]<\/Fil>/);
    assert.match(v.text, /<Note>\*{6}-\*{4}<\/Note>/);
    assert.equal(v.documents.length, 1);
    assert.match(v.documents[0], /urn:oio:cpr:\*{6}-\*{4}/);
    assert.ok(!JSON.stringify(v).includes('0102031234'));
  });

  it('reads state, form and a date range; refuses what it cannot read', () => {
    assert.deepEqual(parseFilter({ state: 'dead-letter', form: 'sp241', since: '2026-11-01', until: '2026-11-02' }), {
      state: 'dead-letter',
      webformId: 'sp241',
      since: '2026-11-01T00:00:00.000Z',
      until: '2026-11-02T23:59:59.999Z',
      limit: 200,
    });
    assert.match(String(parseFilter({ state: 'lost' })), /state must be one of/);
    assert.match(String(parseFilter({ since: 'yesterday' })), /since must be a date/);
    assert.match(String(parseFilter({ limit: '0' })), /limit must be/);
  });
});

describe('overview: admin endpoints', function () {
  this.timeout(30000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let n = 0;
  useSimulator((p) => ({ certs, sim } = p));
  beforeEach(() => {
    sim.faults = {};
  });
  afterEach(() => helper.unload());

  /**
   * A stand-in for fordeling out that only carries its configuration (and, when asked, a resend method), so these
   * tests pin the overview's own behaviour whatever fordeling out's delivery does.
   */
  const standIn = (withResend?: (id: string) => Promise<unknown>) => (RED: NodeAPI) => {
    RED.nodes.registerType('os2-fordeling-out', function (this: Node, config: NodeDef) {
      RED.nodes.createNode(this, config);
      if (withResend) (this as unknown as { resend: typeof withResend }).resend = withResend;
    });
  };
  const flow = (extra: object[] = []) =>
    [
      { id: 't', type: 'tab' },
      { id: 'c1', type: 'os2-certificate' },
      spNode(sim, certs),
      { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', wires: [[], []] },
      ...extra,
    ] as Parameters<typeof helper.load>[1];
  const creds = () => ({ c1: { keyPem: certs.client.key, certPem: certs.client.cert }, sp: { ca: certs.ca.cert } });
  const load = (opts: { extra?: object[]; resend?: (id: string) => Promise<unknown> } = {}) =>
    helper.load([certificateNode, serviceplatformNode, standIn(opts.resend), overviewPlugin], flow(opts.extra), creds());

  /** A failed JOURNALPOST in the default ledger whose note carries a CPR number (never to reach the browser unmasked). */
  async function failedShipment(state: 'failed' | 'dead-letter' = 'failed', meta?: Record<string, unknown>): Promise<string> {
    const o = journalpost();
    o.submissionId = `7d1e2f3a-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    o.webformId = 'overview_test';
    o.journalpost!.noteText = 'Borger 010203-1234 søger';
    const transactionId = shipmentIdOf(o);
    const request = buildAfsendRequest(o, { transactionId, senderCvr: certs.client.cvr, senderSystemUuid: SYSTEM });
    await defaultLedger().createShipment({
      transactionId,
      submissionId: o.submissionId,
      webformId: o.webformId,
      objektType: 'JOURNALPOST',
      state,
      request,
      lastError: 'HTTP 503 from the platform',
      meta,
    });
    await defaultLedger().addAttempt(transactionId, { at: new Date().toISOString(), ok: false, errorClass: 'transient', error: 'HTTP 503' });
    return transactionId;
  }

  it('lists shipments filtered by state, form and date, with their receipts (CPR masked)', async () => {
    await load();
    const tx = await failedShipment();
    const okTx = await failedShipment();
    await defaultLedger().updateShipment(okTx, { state: 'accepted' });
    await defaultLedger().addReceipt({
      transactionId: okTx,
      type: 'Forretning',
      code: 'ACCEPTERET',
      reason: 'ok for 010203-1234',
      errors: [],
      receivedAt: new Date().toISOString(),
      fingerprint: 'f-' + okTx,
    });

    const failed = await helper.request().get('/os2-overview/shipments').query({ state: 'failed', form: 'overview_test' }).expect(200);
    assert.ok(failed.body.shipments.some((s: { transactionId: string }) => s.transactionId === tx));
    assert.ok(failed.body.shipments.every((s: { state: string; webformId: string }) => s.state === 'failed' && s.webformId === 'overview_test'));

    const all = await helper
      .request()
      .get('/os2-overview/shipments')
      .query({ form: 'overview_test', since: new Date(Date.now() - 60000).toISOString() })
      .expect(200);
    const ok = all.body.shipments.find((s: { transactionId: string }) => s.transactionId === okTx);
    assert.deepEqual(
      ok.receipts.map((r: { type: string; code: string; reason: string }) => [r.type, r.code, r.reason]),
      [['Forretning', 'ACCEPTERET', 'ok for ******-****']],
    );
    assert.equal(ok.ledger.name, 'default');

    const future = await helper.request().get('/os2-overview/shipments').query({ form: 'overview_test', since: '2999-01-01' }).expect(200);
    assert.deepEqual(future.body.shipments, []);
    const other = await helper.request().get('/os2-overview/shipments').query({ form: 'another_form' }).expect(200);
    assert.ok(!other.body.shipments.some((s: { webformId: string }) => s.webformId === 'overview_test'));
    const bad = await helper.request().get('/os2-overview/shipments').query({ state: 'lost' }).expect(400);
    assert.match(bad.body.error, /state must be one of/);
  });

  it('pages in the ledger: a total for the filter, and pages of the given size that together list each shipment once', async () => {
    await load();
    const form = `paging_${Date.now()}`;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const t = `aaaaaaaa-0000-4000-8000-${String(Date.now() % 1e8).padStart(8, '0')}${i}000`.slice(0, 36);
      await defaultLedger().createShipment({ transactionId: t, submissionId: `s${i}`, webformId: form, state: 'sent' });
      made.push(t);
      await new Promise((r) => setTimeout(r, 2));
    }
    const seen: string[] = [];
    for (let offset = 0; offset < 6; offset += 2) {
      const page = await helper.request().get('/os2-overview/shipments').query({ form, limit: 2, offset }).expect(200);
      assert.equal(page.body.total, 5);
      assert.equal(page.body.offset, offset);
      assert.ok(page.body.shipments.length <= 2);
      seen.push(...page.body.shipments.map((s: { transactionId: string }) => s.transactionId));
    }
    assert.deepEqual(seen, [...made].reverse(), 'newest first, each once');
    await helper.request().get('/os2-overview/shipments').query({ offset: -1 }).expect(400);
  });

  it('shows one shipment with its request and attempts, CPR masked', async () => {
    await load();
    const tx = await failedShipment();
    const res = await helper.request().get(`/os2-overview/shipments/${tx}`).expect(200);
    assert.equal(res.body.transactionId, tx);
    assert.equal(res.body.state, 'failed');
    assert.equal(res.body.resendable, true);
    assert.equal(res.body.attemptList.length, 1);
    assert.match(res.body.request.text, /FordelingsobjektAfsendRequest/);
    assert.match(res.body.request.text, /Borger \*{6}-\*{4} søger/);
    assert.ok(!JSON.stringify(res.body).includes('010203-1234'), 'no CPR number in the details');
    await helper.request().get('/os2-overview/shipments/00000000-0000-4000-8000-000000000000').expect(404);
    await helper.request().get('/os2-overview/shipments/not%20an%20id').expect(400);
  });

  it("resends only through a running fordeling out node's queue: none running → 409 with why; a delivered shipment → 409", async () => {
    await load();
    const tx = await failedShipment();
    const r = await helper.request().post(`/os2-overview/shipments/${tx}/resend`).expect(409);
    assert.match(r.body.error, /not running/);
    assert.equal(sim.shipments.get(tx), undefined, 'nothing sent around the queue');
    await defaultLedger().updateShipment(tx, { state: 'accepted' });
    const again = await helper.request().post(`/os2-overview/shipments/${tx}/resend`).expect(409);
    assert.match(again.body.error, /Only failed or dead-letter shipments/);
  });

  it('a resend the node refuses answers 409 with its reason (CPR masked)', async () => {
    await load({ resend: async () => Promise.reject(new Error('Shipment for 010203-1234 cannot be queued again')) });
    const tx = await failedShipment('dead-letter', { node: 'fo' });
    const r = await helper.request().post(`/os2-overview/shipments/${tx}/resend`).expect(409);
    assert.match(r.body.error, /Shipment for \*{6}-\*{4} cannot be queued again/);
  });

  it('with two fordeling out nodes on one ledger, resend asks which one unless the shipment names its node (meta.node)', async () => {
    const calls: string[] = [];
    await load({ resend: async (id) => calls.push(id), extra: [{ id: 'fo2', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', wires: [[], []] }] });
    const tx = await failedShipment();
    const r = await helper.request().post(`/os2-overview/shipments/${tx}/resend`).expect(409);
    assert.match(r.body.error, /Several fordeling out nodes/);
    const named = await failedShipment('failed', { node: 'fo2' });
    await helper.request().post(`/os2-overview/shipments/${named}/resend`).expect(202);
    assert.deepEqual(calls, [named]);
  });

  it("calls the fordeling out node's own resend (durable queue) when it has one", async () => {
    const calls: string[] = [];
    await load({
      resend: async (id) => {
        calls.push(id);
        return defaultLedger().updateShipment(id, { state: 'queued' });
      },
    });
    const tx = await failedShipment('dead-letter', { node: 'fo' });
    const r = await helper.request().post(`/os2-overview/shipments/${tx}/resend`).expect(202);
    assert.deepEqual(calls, [tx]);
    assert.deepEqual([r.body.state, r.body.via], ['queued', 'queue']);
  });

  it('with the real fordeling out: a dead-letter shipment resent from the overview reaches the platform', async () => {
    await helper.load([...NODES, overviewPlugin], flow(), creds());
    const tx = await failedShipment('dead-letter', { node: 'fo' });
    const r = await helper.request().post(`/os2-overview/shipments/${tx}/resend`);
    assert.ok([200, 202].includes(r.status), `${r.status} ${JSON.stringify(r.body)}`);
    await until(() => (sim.shipments.get(tx)?.count ?? 0) >= 1, 15000, 'the simulator received the resent shipment');
    const s = await helper.request().get(`/os2-overview/shipments/${tx}`).expect(200);
    assert.ok(['sending', 'sent', 'technically-received', 'accepted'].includes(s.body.state), s.body.state);
  });

  it('lists the shipments of an os2-ledger config node too, named by the ledger, and finds their details', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-overview-ledger-'));
    try {
      await helper.load([ledgerNode, overviewPlugin], [
        { id: 'L1', type: 'os2-ledger', name: 'audit ledger', backend: 'embedded', path: dir, retentionDays: 0 },
      ] as unknown as Parameters<typeof helper.load>[1]);
      const node = helper.getNode('L1') as unknown as { ready: Promise<Ledger> };
      const ledger = await node.ready;
      const tx = '0a1b2c3d-0000-4000-8000-00000000ab01';
      await ledger.createShipment({ transactionId: tx, submissionId: 's-ledger', webformId: 'ledger_form', objektType: 'DOKUMENT', state: 'accepted' });
      const list = await helper.request().get('/os2-overview/shipments').query({ form: 'ledger_form' }).expect(200);
      assert.deepEqual(
        list.body.shipments.map((s: { transactionId: string; ledger: { id: string; name: string } }) => [s.transactionId, s.ledger]),
        [[tx, { id: 'L1', name: 'audit ledger' }]],
      );
      assert.deepEqual(list.body.ledgers, [
        { id: '', name: 'default' },
        { id: 'L1', name: 'audit ledger' },
      ]);
      const one = await helper.request().get(`/os2-overview/shipments/${tx}`).expect(200);
      assert.equal(one.body.ledger.name, 'audit ledger');
      assert.equal(one.body.resendable, false);
    } finally {
      await helper.unload();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses every endpoint without a token when admin auth is on; read-only tokens may read but not resend', async () => {
    // The test helper stubs RED.auth; install Node-RED's real admin auth as the runtime does.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const auth = require('@node-red/editor-api/lib/auth');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tokens = require('@node-red/editor-api/lib/auth/tokens');
    const storage = { getSessions: async () => ({}), saveSessions: async () => undefined };
    const adminAuth = {
      type: 'credentials' as const,
      users: [{ username: 'admin', password: '$2b$08$wuAqPiKJlVN27eF5qJp.RuQYuy6ZYONW7a/UWYxDTtwKFCdB8F19y', permissions: '*' as const }],
    };
    auth.init(helper.settings({ adminAuth }), storage);
    try {
      const wrapped = (RED: NodeAPI) => {
        (RED as unknown as { auth: unknown }).auth = { needsPermission: auth.needsPermission };
        return overviewPlugin(RED);
      };
      await helper.load([wrapped], []);
      const tx = '00000000-0000-4000-8000-000000000001';
      await helper.request().get('/os2-overview/shipments').expect(401);
      await helper.request().get(`/os2-overview/shipments/${tx}`).expect(401);
      await helper.request().post(`/os2-overview/shipments/${tx}/resend`).expect(401);
      const reader = await tokens.create('admin', 'node-red-editor', ['read']);
      await helper.request().get('/os2-overview/shipments').set('Authorization', `Bearer ${reader.accessToken}`).expect(200);
      await helper.request().post(`/os2-overview/shipments/${tx}/resend`).set('Authorization', `Bearer ${reader.accessToken}`).expect(401);
      const writer = await tokens.create('admin', 'node-red-editor', ['*']);
      await helper.request().post(`/os2-overview/shipments/${tx}/resend`).set('Authorization', `Bearer ${writer.accessToken}`).expect(404);
    } finally {
      auth.init({}, storage);
    }
  });
});

/** A real PDF (one page showing a grey image of `imageBytes` random bytes): what a citizen's attachment looks like. */
function realPdf(imageBytes: number): Buffer {
  const width = 256;
  const height = Math.ceil(imageBytes / width);
  const image = randomBytes(width * height);
  const content = 'q 595 0 0 842 0 0 cm /Im1 Do Q';
  const objects: Buffer[] = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
    Buffer.from('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>'),
    Buffer.concat([
      Buffer.from(
        `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceGray /BitsPerComponent 8 /Length ${image.length} >>\nstream\n`,
      ),
      image,
      Buffer.from('\nendstream'),
    ]),
    Buffer.from(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`),
  ];
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let at = parts[0].length;
  objects.forEach((body, i) => {
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    offsets.push(at);
    parts.push(obj);
    at += obj.length;
  });
  const xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${at}\n%%EOF\n`));
  return Buffer.concat(parts);
}

describe('overview: file contents are never shown (detail, list, approvals, export)', function () {
  this.timeout(30000);
  const LONG_RUN = /[A-Za-z0-9+/]{200,}/;
  let dir: string;
  let ledger: Ledger;
  const pdf = realPdf(1_200_000);
  const pdfB64 = pdf.toString('base64');
  const file = realPdf(30_000);
  const fileB64 = file.toString('base64');
  const formularTx = 'f0a1b2c3-0000-4000-8000-00000000f001';
  const dokumentTx = 'f0a1b2c3-0000-4000-8000-00000000d001';

  before(async () => {
    assert.equal(pdf.subarray(0, 8).toString('latin1'), '%PDF-1.7');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-overview-files-'));
    await helper.load([ledgerNode, overviewPlugin], [
      { id: 'LF', type: 'os2-ledger', name: 'files ledger', backend: 'embedded', path: dir, retentionDays: 0 },
    ] as unknown as Parameters<typeof helper.load>[1]);
    ledger = await (helper.getNode('LF') as unknown as { ready: Promise<Ledger> }).ready;

    // A FORMULAR whose request carries the PDF inline (FormularIndhold), as it is stored until the platform has it.
    const f = formular();
    f.submissionId = '7d1e2f3a-0000-4000-8000-00000000f001';
    f.webformId = 'files_test';
    f.formular!.pdfBase64 = pdfB64;
    const formularRequest = buildAfsendRequest(f, { transactionId: formularTx, senderCvr: '12345678', senderSystemUuid: SYSTEM });
    assert.ok(formularRequest.includes(pdfB64));
    await ledger.createShipment({
      transactionId: formularTx,
      submissionId: f.submissionId,
      webformId: f.webformId,
      objektType: 'FORMULAR',
      state: 'failed',
      request: formularRequest,
      // a platform echoing what it refused, MIME-wrapped
      response: `<Fault><Detail>FormularIndhold rejected: ${(pdfB64.slice(0, 3000).match(/.{1,76}/g) as string[]).join('\r\n')}</Detail></Fault>`,
      lastError: `Element 'FormularIndhold': '${pdfB64.slice(0, 5000)}' is not a valid value (borger 010203-1234)`,
    });
    await ledger.addAttempt(formularTx, { at: new Date().toISOString(), ok: false, errorClass: 'permanent', error: `schema: ${pdfB64.slice(0, 400)}` });

    // A DOKUMENT with its file: in the request (DokumentIndhold), in the receipts' texts and raw receipt.
    const d = dokument();
    d.submissionId = '7d1e2f3a-0000-4000-8000-00000000d001';
    d.webformId = 'files_test';
    d.dokument!.description = 'Lægeerklæring for 010203-1234';
    const dokumentRequest = buildAfsendRequest(d, { transactionId: dokumentTx, senderCvr: '12345678', senderSystemUuid: SYSTEM }).replace(
      /(<v2:MimeType>[^<]*<\/v2:MimeType>)/,
      `$1<v2:DokumentIndhold>${fileB64}</v2:DokumentIndhold>`,
    );
    assert.ok(dokumentRequest.includes(fileB64));
    await ledger.createShipment({
      transactionId: dokumentTx,
      submissionId: d.submissionId,
      webformId: d.webformId,
      objektType: 'DOKUMENT',
      state: 'accepted',
      request: dokumentRequest,
      response: JSON.stringify({ status: 'ok', files: [{ name: 'bilag.pdf', mime: 'application/pdf', content: fileB64.slice(0, 64) }] }),
      meta: { file: { name: 'bilag.pdf', content: fileB64 }, echo: fileB64.slice(0, 280) },
    });
    await ledger.addReceipt({
      transactionId: dokumentTx,
      type: 'Forretning',
      code: 'ACCEPTERET',
      reason: `modtaget: ${fileB64.slice(0, 600)}`,
      errors: [{ code: 'W1', text: `bilag ${fileB64.slice(0, 1000)}` }],
      receivedAt: new Date().toISOString(),
      fingerprint: `f-${dokumentTx}`,
      raw: `<Kvittering><DokumentIndhold>${fileB64}</DokumentIndhold></Kvittering>`,
    });
  });

  after(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** No file content in an answer: neither the files' base64 (or a piece of it) nor any 200-character base64 run. */
  function assertNoFileContent(text: string, what: string) {
    assert.doesNotMatch(text, LONG_RUN, `${what}: a long base64 run`);
    for (const b64 of [pdfB64, fileB64]) {
      for (const at of [0, 1000, 3000]) assert.ok(!text.includes(b64.slice(at, at + 60)), `${what}: a piece of a file (at ${at})`);
    }
    assert.ok(!text.includes('010203-1234') && !text.includes('0102031234'), `${what}: a CPR number`);
  }

  it("the detail endpoint shows the FORMULAR's request with its PDF left out, named and sized", async () => {
    const res = await helper.request().get(`/os2-overview/shipments/${formularTx}`).expect(200);
    const json = JSON.stringify(res.body);
    assertNoFileContent(json, 'FORMULAR detail');
    const size = `${(pdf.length / 1e6).toFixed(1)} MB`;
    assert.match(
      res.body.request.text,
      new RegExp(`<v2:FormularIndhold>\\[file content left out: FormularIndhold, ${size.replace('.', '\\.')}\\]</v2:FormularIndhold>`),
    );
    assert.match(res.body.request.text, /<v2:FormularXML>/, 'the form XML is still shown');
    assert.match(res.body.response, /\[file content left out: \d+(\.\d)? kB\]/);
    assert.match(res.body.lastError, /Element 'FormularIndhold': '\[file content left out: 3\.8 kB\]' is not a valid value \(borger \*{6}-\*{4}\)/);
    assert.match(res.body.attemptList[0].error, /^schema: \[file content left out: 300 bytes\]$/);
  });

  it('the detail endpoint shows the DOKUMENT with its file, receipts and response left out, named and sized', async () => {
    const res = await helper.request().get(`/os2-overview/shipments/${dokumentTx}`).expect(200);
    const json = JSON.stringify(res.body);
    assertNoFileContent(json, 'DOKUMENT detail');
    assert.match(
      res.body.request.text,
      new RegExp(
        `<v2:DokumentIndhold>\\[file content left out: DokumentIndhold, ${(file.length / 1e3).toFixed(1).replace('.', '\\.')} kB\\]</v2:DokumentIndhold>`,
      ),
    );
    assert.match(res.body.request.text, /Lægeerklæring for \*{6}-\*{4}/);
    assert.match(res.body.response, /"content":"\[file content left out: content, 48 bytes\]"/);
    assert.match(res.body.receipts[0].reason, /^modtaget: \[file content left out: 450 bytes\]$/);
    assert.match(res.body.receipts[0].errors[0].text, /^bilag \[file content left out: 750 bytes\]$/);
    assert.equal(res.body.meta.file, undefined, 'no file object from meta');
    assert.equal(res.body.meta.echo, '[file content left out: 210 bytes]');
  });

  it('the list and approvals endpoints hold no file content either', async () => {
    const list = await helper.request().get('/os2-overview/shipments').query({ form: 'files_test' }).expect(200);
    assert.equal(list.body.shipments.length, 2);
    assertNoFileContent(JSON.stringify(list.body), 'list');
    const approvals = await helper.request().get('/os2-overview/approvals').expect(200);
    assertNoFileContent(JSON.stringify(approvals.body), 'approvals');
  });

  it('the export endpoint (JSON and CSV) holds no file content, CPR numbers masked to their date', async () => {
    for (const format of ['json', 'csv']) {
      const res = await helper
        .request()
        .get('/os2-ledger/LF/export')
        .query({ format, webformId: 'files_test' })
        .buffer(true)
        .parse((r, cb) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (d: string) => (text += d));
          r.on('end', () => cb(null, text));
        });
      assert.equal(res.status, 200);
      const text = String(res.body);
      assert.match(text, new RegExp(formularTx));
      assert.match(text, new RegExp(dokumentTx));
      assertNoFileContent(text, `export ${format}`);
      assert.match(text, /\[file content left out: 3\.8 kB\]/);
      assert.match(text, /010203-XXXX/);
    }
  });
});
