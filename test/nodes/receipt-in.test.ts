import { strict as assert } from 'assert';
import * as https from 'https';
import { X509Certificate } from 'crypto';
import helper from 'node-red-node-test-helper';
import request from 'supertest';
import { buildReceiptRequest } from '../../lib/sf2900/receipts';
import { soapEnvelope } from '../../lib/sf2900/soap';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { NODES, collect, httpNode, serveHttpNode, sleep, until } from '../e2e/harness';

const PATH = '/os2/fordeling/kvittering';
let seq = 0;
const newTx = () => `0d000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;

function receiptXml(tx: string, code = 'ACCEPTERET', type = 'Forretning', reason?: string): string {
  return soapEnvelope(
    buildReceiptRequest({
      transactionId: tx,
      distributionTransactionId: 'dd' + tx.slice(2),
      senderCvr: '12345678',
      routingCvr: '14814833',
      routing: { kle: '32.03.12', handlingFacet: 'G01' },
      receipt: { code, type, reason, errors: reason ? [{ code: 'E1', text: reason }] : [] },
    }),
  );
}

describe('os2-receipt-in', function () {
  let certs: SimulatorCerts;
  before(async function () {
    this.timeout(60000);
    certs = await testCerts();
  });
  afterEach(() => helper.unload());

  const flow = (over: Record<string, unknown> = {}) => [
    { id: 't', type: 'tab' },
    { id: 'ri', z: 't', type: 'os2-receipt-in', path: PATH, allow: '127.0.0.1, ::1', wires: [['ok'], ['rejected'], ['unknown']], ...over },
    { id: 'ok', z: 't', type: 'helper' },
    { id: 'rejected', z: 't', type: 'helper' },
    { id: 'unknown', z: 't', type: 'helper' },
  ];
  const basic = { ri: { user: 'sp', password: 'kvittering-æøå' } };
  const post = (xml: string) => request(httpNode()).post(PATH).set('Content-Type', 'text/xml; charset=utf-8').send(xml);

  it('answers the empty FordelingskvitteringModtagAnvenderResponse, correlates and emits on output 1/2', async function () {
    await helper.load(NODES, flow());
    const out = collect(['ok', 'rejected', 'unknown']);
    const tx = newTx();
    await defaultLedger().createShipment({ transactionId: tx, submissionId: 'sub-42', webformId: 'w', state: 'sent' });
    const res = await post(receiptXml(tx, 'MODTAGET', 'Teknisk')).expect(200);
    assert.match(res.headers['content-type'], /^text\/xml/);
    assert.match(res.text, /<v2:FordelingskvitteringModtagAnvenderResponse [^>]*\/>/);
    await until(() => out.ok.length === 1);
    const m = out.ok[0] as Record<string, any>;
    assert.deepEqual(m.payload.receipt, { type: 'Teknisk', code: 'MODTAGET', reason: undefined, errors: [] });
    assert.equal(m.payload.submissionId, 'sub-42');
    assert.equal(m.payload.shipment.state, 'technically-received');
    assert.equal(m.transactionId, tx);
    await post(receiptXml(tx, 'AFVIST', 'Forretning', 'Ingen modtager')).expect(200);
    await until(() => out.rejected.length === 1);
    assert.equal((out.rejected[0] as any).payload.receipt.reason, 'Ingen modtager');
    assert.equal((await defaultLedger().getShipment(tx))?.state, 'rejected');
  });

  it('sends a receipt for an unknown shipment to output 3, and an exact duplicate is not emitted twice', async function () {
    await helper.load(NODES, flow());
    const out = collect(['ok', 'rejected', 'unknown']);
    const tx = newTx();
    await post(receiptXml(tx)).expect(200);
    await post(receiptXml(tx)).expect(200);
    await until(() => out.unknown.length === 1);
    await sleep(50);
    assert.equal(out.unknown.length, 1);
    assert.equal(out.ok.length + out.rejected.length, 0);
    assert.equal((await defaultLedger().listReceipts(tx)).length, 1);
  });

  it('answers a SOAP fault for malformed XML and refuses DTDs/entities, emitting nothing', async function () {
    await helper.load(NODES, flow());
    const out = collect(['ok', 'rejected', 'unknown']);
    const bad = await post('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><oops').expect(500);
    assert.match(bad.headers['content-type'], /^text\/xml/);
    assert.match(bad.text, /<faultcode>soapenv:Client<\/faultcode>/);
    const dtd = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + receiptXml(newTx()).replace(/^<\?xml[^>]*\?>/, '');
    const r = await post(dtd).expect(500);
    assert.match(r.text, /DTD or entity/);
    assert.ok(!r.text.includes('root:'), 'no entity expansion');
    const notReceipt = await post(soapEnvelope('<x:Other xmlns:x="urn:x"/>')).expect(500);
    assert.match(notReceipt.text, /Expected FordelingskvitteringModtagAnvenderRequest/);
    await sleep(30);
    assert.equal(out.ok.length + out.rejected.length + out.unknown.length, 0);
  });

  it('basic auth: 401 without or with wrong credentials, 200 with them', async function () {
    await helper.load(NODES, flow({ allow: '' }), basic);
    const tx = newTx();
    const none = await post(receiptXml(tx)).expect(401);
    assert.match(none.headers['www-authenticate'], /^Basic/);
    await post(receiptXml(tx)).auth('sp', 'wrong').expect(401);
    await post(receiptXml(tx)).auth('sp', 'kvittering-æøå').expect(200);
  });

  it('IP allow-list: 403 for an address outside it', async function () {
    await helper.load(NODES, flow({ allow: '10.0.0.0/8' }));
    await post(receiptXml(newTx())).expect(403);
  });

  it('pinned client-certificate fingerprint: 403 without or with another certificate, 200 with the pinned one', async function () {
    const fp = new X509Certificate(certs.client.cert).fingerprint256;
    await helper.load(NODES, flow({ allow: '', fingerprints: fp }));
    const srv = await serveHttpNode({
      key: certs.server.key,
      cert: certs.server.cert,
      ca: [certs.ca.cert, certs.otherCa.cert],
      requestCert: true,
      rejectUnauthorized: false,
    });
    try {
      const send = (client?: { key: string; cert: string }) =>
        new Promise<number>((resolve, reject) => {
          const req = https.request(
            srv.url + PATH,
            { method: 'POST', ca: certs.ca.cert, key: client?.key, cert: client?.cert, headers: { 'Content-Type': 'text/xml' } },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.end(receiptXml(newTx()));
        });
      assert.equal(await send(), 403);
      assert.equal(await send(certs.otherClient), 403);
      assert.equal(await send(certs.client), 200);
    } finally {
      await srv.close();
    }
  });

  it('does not start without any authentication method', async function () {
    await helper.load(NODES, flow({ allow: '' }));
    await request(httpNode()).post(PATH).send(receiptXml(newTx())).expect(404);
  });

  it('removes its route on close; a redeploy leaves exactly one route', async function () {
    const routes = () => ((httpNode() as any)._router.stack as Array<{ route?: { path: string } }>).filter((l) => l.route?.path === PATH).length;
    await helper.load(NODES, flow());
    assert.equal(routes(), 1);
    await helper.unload();
    await helper.load(NODES, flow());
    assert.equal(routes(), 1);
    await post(receiptXml(newTx())).expect(200);
    await helper.unload();
    assert.equal(routes(), 0);
  });
});
