/**
 * receipt in (SOAP) against hostile requests: each class is answered with the right HTTP status and a SOAP 1.1 fault
 * (checked with libxml2, a parser independent of the endpoint's xmldom), and leaves the ledger as it was — no receipt
 * stored, the shipment's state and update time unchanged, nothing emitted.
 *
 * Covered elsewhere as well (test/nodes/receipt-in.test.ts, without the ledger checks): a DTD with an external entity,
 * a body element of another name, basic auth / IP allow-list / pinned certificate refusals.
 */
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import request from 'supertest';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import { CLOSE_LINGER_MS, MAX_RECEIPT_BYTES } from '../../lib/node-red/receipt-in';
import { NS } from '../../lib/sf2900/namespaces';
import { buildReceiptRequest } from '../../lib/sf2900/receipts';
import { soapEnvelope } from '../../lib/sf2900/soap';
import receiptInNode from '../../nodes/receipt-in/receipt-in';
import { NODES, collect, httpNode, sleep } from '../e2e/harness';
import { msgV2Xsd } from '../lib/sf2900/fixtures';

const PATH = '/os2/fordeling/kvittering-hostile';
let seq = 0;
const newTx = () => `0e000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;

/** The v2 request element of a real receipt for `tx` (MODTAGET/Teknisk would move a `sent` shipment on). */
function requestXml(tx: string): string {
  return buildReceiptRequest({
    transactionId: tx,
    distributionTransactionId: `dd${tx.slice(2)}`,
    senderCvr: '12345678',
    routingCvr: '14814833',
    routing: { kle: '32.03.12', handlingFacet: 'G01' },
    receipt: { code: 'MODTAGET', type: 'Teknisk', errors: [] },
  });
}
const receiptXml = (tx: string) => soapEnvelope(requestXml(tx));
/** The same request with its v2 namespace declaration bound to another namespace: same prefixes, same local names. */
const inNamespace = (xml: string, ns: string) => xml.replace(`xmlns:v2="${NS.v2}"`, `xmlns:v2="${ns}"`);

interface Fault {
  code: string;
  string: string;
  detail: string;
}

/** Reads a SOAP 1.1 fault with libxml2 (not the endpoint's parser); the fault code as {namespace}local. */
async function faultOf(text: string): Promise<Fault> {
  const { XmlDocument } = await import('libxml2-wasm');
  const doc = XmlDocument.fromString(text);
  try {
    const ns = { s: NS.soap11 };
    assert.equal(doc.find('/s:Envelope/s:Body/*', ns).length, 1, 'the Body holds the Fault alone');
    const code = doc.get('/s:Envelope/s:Body/s:Fault/faultcode', ns) as unknown as {
      content: string;
      namespaceForPrefix(p: string): string | null;
    } | null;
    assert.ok(code, `a SOAP 1.1 Fault with a faultcode: ${text}`);
    const [prefix, local] = code.content.trim().split(':');
    const detail = doc.get('/s:Envelope/s:Body/s:Fault/detail/*', ns);
    return {
      code: `{${code.namespaceForPrefix(prefix) ?? ''}}${local}`,
      string: doc.get('/s:Envelope/s:Body/s:Fault/faultstring', ns)?.content ?? '',
      detail: detail ? detail.toString() : '',
    };
  } finally {
    doc.dispose();
  }
}

/** Asserts a SOAP 1.1 fault of `code` whose detail is the WSDL's TransportKvittering FEJL (valid against the contract). */
async function assertFault(res: { status: number; text: string; headers: Record<string, unknown> }, status: number, code: string, why?: RegExp) {
  assert.equal(res.status, status, res.text);
  assert.match(String(res.headers['content-type']), /^text\/xml/);
  const f = await faultOf(res.text);
  assert.equal(f.code, `{${NS.soap11}}${code}`);
  if (why) assert.match(f.string, why);
  const v = (await msgV2Xsd()).validate(f.detail);
  assert.ok(v.valid, `TransportKvittering detail: ${JSON.stringify(v.errors)} ${f.detail}`);
  assert.match(f.detail, /TransportValideringsKode>FEJL</);
  return f;
}

describe('os2-receipt-in: hostile requests', function () {
  afterEach(() => helper.unload());

  const flow = (over: Record<string, unknown> = {}) => [
    { id: 't', type: 'tab' },
    { id: 'ri', z: 't', type: 'os2-receipt-in', path: PATH, allow: '127.0.0.1, ::1', wires: [['ok'], ['rejected'], ['unknown']], ...over },
    { id: 'ok', z: 't', type: 'helper' },
    { id: 'rejected', z: 't', type: 'helper' },
    { id: 'unknown', z: 't', type: 'helper' },
  ];
  const post = (xml: string) => request(httpNode()).post(PATH).set('Content-Type', 'text/xml; charset=utf-8').send(xml);

  /** A shipment waiting for receipts, and a check that nothing touched it. */
  async function sentShipment(): Promise<{ tx: string; unchanged(out?: Record<string, unknown[]>): Promise<void> }> {
    const tx = newTx();
    const { shipment } = await defaultLedger().createShipment({ transactionId: tx, submissionId: 'sub-hostile', webformId: 'w', state: 'sent' });
    return {
      tx,
      async unchanged(out) {
        await sleep(50);
        assert.deepEqual(await defaultLedger().listReceipts(tx), [], 'no receipt stored');
        const now = await defaultLedger().getShipment(tx, { bodies: false });
        assert.equal(now?.state, 'sent', 'shipment state unchanged');
        assert.equal(now?.updatedAt, shipment.updatedAt, 'shipment not updated');
        assert.equal(now?.distributionTransactionId, undefined, 'no distribution id taken from the request');
        if (out) assert.equal(Object.values(out).flat().length, 0, 'nothing emitted');
      },
    };
  }

  it('XXE: an external entity, an external DTD and a parameter entity are refused unread and nothing is fetched', async function () {
    let fetched = 0;
    const bait = http.createServer((_req, res) => {
      fetched++;
      res.end('<!ENTITY leak "x">');
    });
    await new Promise<void>((r) => bait.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(bait.address() as AddressInfo).port}/evil.dtd`;
    try {
      await helper.load(NODES, flow());
      const out = collect(['ok', 'rejected', 'unknown']);
      const s = await sentShipment();
      const body = receiptXml(s.tx).replace(/^<\?xml[^>]*\?>/, '');
      const attacks = [
        `<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>${body.replace('MODTAGET', '&x;')}`,
        `<?xml version="1.0"?><!DOCTYPE soapenv:Envelope SYSTEM "${url}">${body}`,
        `<?xml version="1.0"?><!DOCTYPE e [<!ENTITY % p SYSTEM "${url}"> %p;]>${body}`,
      ];
      for (const xml of attacks) {
        const res = await post(xml);
        const f = await assertFault(res, 500, 'Client', /DTD or entity/);
        assert.ok(!f.string.includes('root:'), 'no file content in the answer');
      }
      assert.equal(fetched, 0, 'no external DTD or entity was fetched');
      await s.unchanged(out);
    } finally {
      await new Promise<void>((r) => bait.close(() => r()));
    }
  });

  it('billion laughs: nested entity definitions are refused at once, without expansion', async function () {
    await helper.load(NODES, flow());
    const out = collect(['ok', 'rejected', 'unknown']);
    const s = await sentShipment();
    const defs = ['<!ENTITY lol0 "lol">'];
    for (let i = 1; i <= 9; i++) defs.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
    const xml = `<?xml version="1.0"?><!DOCTYPE lolz [${defs.join('')}]>${receiptXml(s.tx)
      .replace(/^<\?xml[^>]*\?>/, '')
      .replace('MODTAGET', '&lol9;')}`;
    const started = Date.now();
    const res = await post(xml);
    assert.ok(Date.now() - started < 2000, 'answered without expanding 10^9 entities');
    await assertFault(res, 500, 'Client', /DTD or entity/);
    assert.ok(res.text.length < 2000, 'nothing expanded into the answer');
    await s.unchanged(out);
  });

  it('foreign namespace: the body element, a child or a grandchild outside the v2 namespace is refused and not correlated', async function () {
    await helper.load(NODES, flow());
    const out = collect(['ok', 'rejected', 'unknown']);
    const s = await sentShipment();
    const v2 = requestXml(s.tx);
    const foreignChild = v2
      .replace('<v2:DistributionContext>', '<x:DistributionContext xmlns:x="urn:evil">')
      .replace('</v2:DistributionContext>', '</x:DistributionContext>');
    const foreignLeaf = v2.replace(
      /<v2:AnvenderTransaktionsID>([^<]*)<\/v2:AnvenderTransaktionsID>/,
      '<x:AnvenderTransaktionsID xmlns:x="urn:evil">$1</x:AnvenderTransaktionsID>',
    );
    const bodies = [
      inNamespace(v2, 'urn:evil'), // same prefix and local names, another namespace
      inNamespace(v2, NS.v3), // the Serviceplatform's v3 namespace is not the anvender WSDL's
      v2.replace(` xmlns:v2="${NS.v2}"`, '').replace(/v2:/g, ''), // no namespace at all
      foreignChild,
      foreignLeaf,
    ];
    for (const body of bodies) {
      const res = await post(soapEnvelope(body));
      await assertFault(res, 500, 'Client', /Malformed FordelingskvitteringModtagAnvenderRequest/);
    }
    await s.unchanged(out);
    // The same receipt in the right namespace is taken (so the refusals above were for the namespace alone).
    const ok = await post(receiptXml(s.tx));
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await defaultLedger().getShipment(s.tx))?.state, 'technically-received');
  });

  it('SOAP 1.2 or an unknown envelope namespace: a SOAP 1.1 VersionMismatch fault, nothing stored', async function () {
    await helper.load(NODES, flow());
    const out = collect(['ok', 'rejected', 'unknown']);
    const s = await sentShipment();
    const soap12 = `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="${NS.soap12}"><env:Body>${requestXml(s.tx)}</env:Body></env:Envelope>`;
    const r12 = await request(httpNode()).post(PATH).set('Content-Type', 'application/soap+xml; charset=utf-8').send(soap12);
    const f = await assertFault(r12, 500, 'VersionMismatch', /SOAP 1\.2/);
    assert.ok(!f.string.includes(s.tx));
    // The answer is itself a SOAP 1.1 envelope, whatever the request's version.
    assert.match(r12.text, new RegExp(`<soapenv:Envelope xmlns:soapenv="${NS.soap11}">`));
    for (const ns of ['urn:not-soap', 'http://schemas.xmlsoap.org/soap/envelope']) {
      const res = await post(receiptXml(s.tx).replace(`xmlns:soapenv="${NS.soap11}"`, `xmlns:soapenv="${ns}"`));
      await assertFault(res, 500, 'VersionMismatch', /SOAP version mismatch/);
    }
    await s.unchanged(out);
  });

  describe('oversize body', function () {
    let server: http.Server;
    let url: string;
    /** Node-RED as it serves: the admin app (parsing JSON and forms, 5 MB) mounted first, then the node app. */
    const mounted = (r: NodeAPI) => {
      const express = require('express') as typeof import('express');
      const bodyParser = require('body-parser') as typeof import('body-parser');
      const root = express();
      const admin = express();
      admin.use(bodyParser.json({ limit: '5mb' }));
      admin.use(bodyParser.urlencoded({ limit: '5mb', extended: true }));
      root.use('/', admin);
      root.use('/', r.httpNode as never);
      server = http.createServer(root);
      return receiptInNode(r);
    };
    beforeEach(async function () {
      await helper.load(mounted, flow());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`;
    });
    afterEach(async function () {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    /**
     * Streams `total` bytes (a receipt for `tx` whose Begrundelse never ends) in 64 KB chunks, waiting for the socket
     * between them, until the whole body is sent or an answer arrives; resolves with the answer and what was sent by then.
     */
    function stream(tx: string, total: number, headers: Record<string, string | number> = {}) {
      return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; sentBeforeAnswer: number }>((resolve, reject) => {
        const head = Buffer.from(receiptXml(tx).replace(/<v2:Kvitteringstype>/, '<v2:Begrundelse>'));
        const chunk = Buffer.alloc(64 * 1024, 'A');
        let sent = 0;
        let answered = false;
        const req = http.request(url, {
          method: 'POST',
          agent: false,
          headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '""', ...headers },
        });
        req.on('response', (res) => {
          answered = true;
          const sentBeforeAnswer = sent;
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString('utf8'), sentBeforeAnswer }));
          res.on('error', reject);
        });
        // Writing on after the answer, the client meets the closed connection (EPIPE/ECONNRESET): expected then.
        req.on('error', (err) => {
          if (!answered) reject(new Error(`no answer after ${sent} bytes: ${err.message}`));
        });
        const pump = () => {
          while (!answered && !req.destroyed && sent < total) {
            const buf = sent === 0 ? head : chunk;
            sent += buf.length;
            if (!req.write(buf)) return void req.once('drain', pump);
          }
          if (!answered && !req.destroyed) req.end();
        };
        pump();
      });
    }

    it(`a 50 MB body streamed in chunks is answered 413 with a fault while the client is still sending, then closed`, async function () {
      this.timeout(30000);
      const out = collect(['ok', 'rejected', 'unknown']);
      const s = await sentShipment();
      const total = 50 * 1024 * 1024;
      const res = await stream(s.tx, total); // chunked: no Content-Length to go by
      await assertFault(res, 413, 'Client', new RegExp(`larger than ${MAX_RECEIPT_BYTES} bytes`));
      assert.equal(res.headers.connection, 'close');
      assert.ok(res.sentBeforeAnswer < total / 4, `answered after ${res.sentBeforeAnswer} of ${total} bytes`);
      await s.unchanged(out);
      // The connection is gone after the linger time; the endpoint still serves the next caller.
      await sleep(CLOSE_LINGER_MS + 200);
      assert.equal(await new Promise<number>((r) => server.getConnections((_e, n) => r(n))), 0, 'no connection left open');
      const ok = await request(server).post(PATH).set('Content-Type', 'text/xml; charset=utf-8').send(receiptXml(s.tx));
      assert.equal(ok.status, 200, ok.text);
    });

    it('a declared Content-Length over the limit is answered 413 before the body is read', async function () {
      const out = collect(['ok', 'rejected', 'unknown']);
      const s = await sentShipment();
      const res = await stream(s.tx, 200 * 1024 * 1024, { 'Content-Length': 200 * 1024 * 1024 });
      await assertFault(res, 413, 'Client', /larger than/);
      assert.equal(res.headers.connection, 'close');
      assert.ok(res.sentBeforeAnswer < 16 * 1024 * 1024, `answered after ${res.sentBeforeAnswer} bytes`);
      await s.unchanged(out);
    });

    it('a JSON body is read by the endpoint, not by the admin app in front, and refused as a malformed request', async function () {
      const out = collect(['ok', 'rejected', 'unknown']);
      const s = await sentShipment();
      const res = await request(server)
        .post(PATH)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ transactionId: s.tx }));
      await assertFault(res, 500, 'Client', /Malformed/);
      await s.unchanged(out);
    });
  });

  it('unexpected SOAPAction: a Client fault and nothing stored; absent, empty and "" are the contract\'s and pass', async function () {
    await helper.load(NODES, flow());
    const out = collect(['ok', 'rejected', 'unknown']);
    const s = await sentShipment();
    const wrong = [
      '"http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/port/FordelingsobjektAfsend"',
      'http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/port/FordelingskvitteringModtag',
      '"FordelingskvitteringModtag"',
      '"\\"\\""',
    ];
    for (const action of wrong) {
      const res = await post(receiptXml(s.tx)).set('SOAPAction', action);
      await assertFault(res, 500, 'Client', /Unexpected SOAPAction/);
    }
    await s.unchanged(out);
    // The contract's soapAction "" in each form SOAP 1.1 allows, and no header at all.
    for (const action of ['""', '', ' "" ', undefined]) {
      const tx = (await sentShipment()).tx;
      const req = post(receiptXml(tx));
      const res = await (action === undefined ? req : req.set('SOAPAction', action));
      assert.equal(res.status, 200, `SOAPAction ${JSON.stringify(action)}: ${res.text}`);
      assert.equal((await defaultLedger().getShipment(tx))?.state, 'technically-received');
    }
  });

  it('bad auth: 401 with wrong or no credentials, also while a large body is still coming, and nothing stored', async function () {
    await helper.load(NODES, flow({ allow: '' }), { ri: { user: 'sp', password: 'kvittering' } });
    const out = collect(['ok', 'rejected', 'unknown']);
    const s = await sentShipment();
    const none = await post(receiptXml(s.tx));
    await assertFault(none, 401, 'Client', /Authentication required/);
    assert.match(String(none.headers['www-authenticate']), /^Basic/);
    await assertFault(await post(receiptXml(s.tx)).auth('sp', 'wrong'), 401, 'Client');
    // 10 MB announced and only the head sent: the refusal comes at once, without waiting for (or reading) the body.
    const server = http.createServer(httpNode());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(`http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`, {
          method: 'POST',
          agent: false,
          headers: { 'Content-Type': 'text/xml', 'Content-Length': 10 * 1024 * 1024 },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        req.on('error', reject);
        req.write(receiptXml(s.tx).slice(0, 200));
      });
      assert.equal(status, 401);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    await s.unchanged(out);
  });
});
