import { shipmentIdOf } from '../../lib/delivery/plan';
/**
 * The OS2 overview sidebar's admin endpoints (plugin os2-overview): shipments with receipts from the ledger,
 * one shipment's details with CPR masked, resend of a failed shipment, and Node-RED's admin authentication.
 */
import { strict as assert } from 'assert';
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
import { journalpost } from '../lib/sf2900/fixtures';
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
    assert.match(v.text, /<Fil>\[base64 content, 209 bytes\]<\/Fil>/);
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
