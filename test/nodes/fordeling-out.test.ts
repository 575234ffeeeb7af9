import { shipmentIdOf } from '../../lib/delivery/plan';
import { strict as assert } from 'assert';
import helper from 'node-red-node-test-helper';
import type { Simulator } from '../../simulator';
import type { SimulatorCerts } from '../support/certs';
import { journalpost } from '../lib/sf2900/fixtures';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import { anmodningContentXml, buildAfsendRequest } from '../../lib/sf2900/afsend';
import { transactionIdFor } from '../../lib/sf2900/transaction-id';
import { NS } from '../../lib/sf2900/namespaces';
import { NODES, collect, nextMessage, until } from '../e2e/harness';
import { SYSTEM, serviceplatformNode, useSimulator } from '../support/platform';

describe('os2-fordeling-out against the simulator', function () {
  let certs: SimulatorCerts;
  let sim: Simulator;
  let n = 0;
  useSimulator((p) => ({ certs, sim } = p));
  beforeEach(() => {
    sim.faults = {};
    sim.duplicatePolicy = 'accept';
  });
  afterEach(() => helper.unload());

  /** A fresh object per test (distinct submission → distinct AnvenderTransaktionsID). */
  const obj = () => {
    const o = journalpost();
    o.submissionId = `5c1e2f3a-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    o.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.12' };
    return o;
  };
  const flow = (timeout = '5', key = certs.client, extra: Record<string, unknown> = {}) => ({
    flow: [
      { id: 't', type: 'tab' },
      { id: 'c1', type: 'os2-certificate' },
      serviceplatformNode(sim, certs, { timeout }),
      { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', wires: [['ok'], ['failed']], ...extra },
      { id: 'ok', z: 't', type: 'helper' },
      { id: 'failed', z: 't', type: 'helper' },
      { id: 'k1', z: 't', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 't', type: 'helper' },
    ],
    creds: { c1: { keyPem: key.key, certPem: key.cert }, sp: { ca: certs.ca.cert } },
  });
  const load = async (timeout?: string, key?: SimulatorCerts['client'] | SimulatorCerts['otherClient'], extra?: Record<string, unknown>) => {
    const f = flow(timeout, key as SimulatorCerts['client'], extra);
    await helper.load(NODES, f.flow, f.creds);
  };

  it('output 1: accepted, with both transaction IDs and the ForretningsKvittering; the ledger says sent', async function () {
    await load();
    const o = obj();
    const got = nextMessage<Record<string, any>>('ok');
    helper.getNode('fo').receive({ payload: o } as never);
    const msg = await got;
    assert.equal(msg.transactionId, shipmentIdOf(o));
    assert.match(msg.distributionTransactionId, /^[0-9a-f-]{36}$/);
    assert.ok(['MODTAGET', 'ACCEPTERET', 'AFLEVERET'].includes(msg.receipt.code));
    const s = await defaultLedger().getShipment(msg.transactionId);
    assert.equal(s?.distributionTransactionId, msg.distributionTransactionId);
    assert.ok(s && ['sent', 'technically-received', 'accepted'].includes(s.state));
    assert.equal(sim.shipments.get(msg.transactionId)?.context.senderCvr, certs.client.cvr, 'sender CVR from the config');
  });

  it('an upgrade: a submission this node delivered under the old one-id-per-submission scheme is a repeat for its target only', async function () {
    await load();
    const o = obj();
    const legacy = transactionIdFor(o.submissionId, o.webformId);
    const request = buildAfsendRequest(o, { transactionId: legacy, senderCvr: certs.client.cvr, senderSystemUuid: SYSTEM });
    await defaultLedger().createShipment({
      transactionId: legacy,
      submissionId: o.submissionId,
      webformId: o.webformId,
      objektType: 'JOURNALPOST',
      state: 'queued',
      request,
      meta: { node: 'fo' },
    });
    await defaultLedger().updateShipment(legacy, { state: 'accepted' });
    const out = collect(['ok', 'failed']);
    const before = sim.stats.requests;
    helper.getNode('fo').receive({ payload: o } as never);
    await until(() => out.ok.length === 1);
    assert.equal(out.ok[0].transactionId, legacy, 'recognised under its old id');
    assert.equal((out.ok[0] as Record<string, any>).duplicate.reason, 'already-sent');
    assert.equal(sim.stats.requests, before, 'nothing sent again');
    // the same submission to another target is a shipment of its own
    const other = structuredClone(o);
    other.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.14' };
    helper.getNode('fo').receive({ payload: other } as never);
    await until(() => out.ok.length === 2);
    assert.notEqual(out.ok[1].transactionId, legacy);
    assert.equal((out.ok[1] as Record<string, any>).duplicate, undefined);
    assert.equal(sim.shipments.get(out.ok[1].transactionId as string)?.count, 1);
  });

  it('the same submission posted again is one shipment: sent once; the repeat comes out on output 1 saying so', async function () {
    await load();
    const o = obj();
    const out = collect(['ok', 'failed']);
    helper.getNode('fo').receive({ payload: o } as never);
    await until(() => out.ok.length === 1);
    assert.equal(out.ok[0].duplicate, undefined);
    helper.getNode('fo').receive({ payload: o } as never);
    await until(() => out.ok.length === 2);
    const again = out.ok[1] as Record<string, any>;
    assert.equal(again.transactionId, out.ok[0].transactionId);
    assert.equal(again.duplicate.reason, 'already-sent');
    assert.ok(['sent', 'technically-received', 'accepted'].includes(again.duplicate.state));
    assert.equal(out.failed.length, 0);
    assert.equal(sim.shipments.get(out.ok[0].transactionId as string)?.count, 1, 'the platform got it once');
  });

  const failures: Array<[string, () => void, 'permanent' | 'transient', RegExp, string?]> = [
    [
      'HTTP 500',
      () => {
        sim.faults = { httpStatus: 500 };
      },
      'transient',
      /HTTP 500/,
    ],
    [
      'HTTP 503',
      () => {
        sim.faults = { httpStatus: 503 };
      },
      'transient',
      /HTTP 503/,
    ],
    [
      'dropped connection',
      () => {
        sim.faults = { dropConnection: 1 };
      },
      'transient',
      /Network error/,
    ],
    [
      'timeout',
      () => {
        sim.faults = { latencyMs: 1500 };
      },
      'transient',
      /within 500 ms/,
      '0.5',
    ],
  ];
  for (const [name, arrange, cls, reason, timeout] of failures) {
    it(`output 2 + Catch: ${name} is ${cls} with a readable reason`, async function () {
      await load(timeout, undefined, { attempts: '1' }); // one attempt: a transient failure dead-letters at once
      const o = obj();
      arrange();
      const failed = nextMessage<Record<string, any>>('failed');
      const caught = nextMessage<Record<string, any>>('caught');
      helper.getNode('fo').receive({ payload: o } as never);
      const msg = await failed;
      assert.equal(msg.error.class, cls);
      assert.match(msg.error.reason, reason);
      assert.equal(msg.transactionId, shipmentIdOf(o));
      const c = await caught;
      assert.match(c.error.message, reason);
      assert.equal(c.error.source.id, 'fo');
      const s = await defaultLedger().getShipment(msg.transactionId);
      assert.equal(s?.state, 'dead-letter');
      assert.equal(s?.attempts.at(-1)?.errorClass, cls);
      assert.equal(msg.error.attempts.at(-1).errorClass, cls, 'output 2 carries the attempts');
    });
  }

  it("output 2: a SOAP Client fault (platform refuses a sender CVR that is not the certificate's) is permanent", async function () {
    await load();
    const o = obj();
    o.context.senderAuthorityCvr = '87654321';
    const failed = nextMessage<Record<string, any>>('failed');
    helper.getNode('fo').receive({ payload: o } as never);
    const msg = await failed;
    assert.equal(msg.error.class, 'permanent');
    assert.match(msg.error.reason, /does not match the client certificate/);
    assert.equal(msg.error.code, 'SOAP_CLIENT');
  });

  it('a client certificate from another CA is refused by the platform: nothing is delivered, output 2 says why', async function () {
    await load('5', certs.otherClient as SimulatorCerts['client'], { attempts: '1' }); // a reset looks transient: one attempt here
    const o = obj();
    const failed = nextMessage<Record<string, any>>('failed');
    const before = sim.stats.accepted;
    helper.getNode('fo').receive({ payload: o } as never);
    const msg = await failed;
    // TLS 1.3 servers reject the client certificate after the client's handshake is done: the client sees the
    // connection reset (or, when the server sends an alert, a TLS error), never an answer.
    assert.match(msg.error.reason, /TLS handshake failed|socket hang up|ECONNRESET|disconnected/i);
    assert.equal(sim.stats.accepted, before);
    assert.equal(sim.shipments.has(msg.transactionId), false);
  });

  it('answers FordelingsmodtagerList on msg.topic', async function () {
    await load();
    const got = nextMessage<Record<string, any>>('ok');
    helper.getNode('fo').receive({ topic: 'FordelingsmodtagerList', payload: { routingCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' } } as never);
    const msg = await got;
    assert.equal(msg.payload[0].systemName, 'KP – Ekstern Test');
    const failed = nextMessage<Record<string, any>>('failed');
    helper.getNode('fo').receive({ topic: 'FordelingsmodtagerList', payload: { kle: '32.03.12' } } as never);
    assert.match((await failed).error.reason, /routingCvr/);
  });

  it('sends an expert XML anmodning under msg.transactionId', async function () {
    await load();
    const tx = '0f0e0d0c-0b0a-4909-8807-060504030201';
    const o = obj();
    const inner = anmodningContentXml(
      { ...o, context: { ...o.context, senderAuthorityCvr: certs.client.cvr, senderSystemUuid: SYSTEM } },
      { transactionId: tx, senderCvr: certs.client.cvr, senderSystemUuid: SYSTEM },
    );
    const xml = `<v3:anmodning xmlns:v3="${NS.v3}" xmlns:v2="${NS.v2}">${inner}</v3:anmodning>`;
    const got = nextMessage<Record<string, any>>('ok');
    helper.getNode('fo').receive({ payload: xml, transactionId: tx } as never);
    const msg = await got;
    assert.equal(msg.transactionId, tx);
    assert.ok(sim.shipments.get(tx));
    const failed = nextMessage<Record<string, any>>('failed');
    helper.getNode('fo').receive({ payload: xml } as never);
    assert.match((await failed).error.reason, /msg\.transactionId/);
  });

  it('an unreadable certificate is reported on output 2 with its one-line reason', async function () {
    const f = flow();
    await helper.load(NODES, f.flow, { ...f.creds, c1: { p12: require('fs').readFileSync(certs.client.p12Path).toString('base64'), p12Passphrase: 'wrong' } });
    const failed = nextMessage<Record<string, any>>('failed');
    helper.getNode('fo').receive({ payload: obj() } as never);
    const e = (await failed).error;
    assert.equal(e.class, 'permanent');
    assert.equal(e.reason, 'certificate: Wrong passphrase for the P12 file');
  });

  it('bad input ends on output 2 with done(err), never a crash', async function () {
    await load();
    const failed = nextMessage<Record<string, any>>('failed');
    const caught = nextMessage<Record<string, any>>('caught');
    helper.getNode('fo').receive({ payload: 42 } as never);
    assert.match((await failed).error.reason, /not a FordelingsObject/);
    await caught;
  });
});
