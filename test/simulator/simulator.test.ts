import * as assert from 'assert';
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import { buildAfsendRequest, parseAfsendResponse } from '../../lib/sf2900/afsend';
import { buildModtagerListRequest, parseModtagerListResponse } from '../../lib/sf2900/modtager-list';
import { buildModtagerValiderRequest, parseModtagerValiderResponse } from '../../lib/sf2900/modtager-valider';
import { SERVICE_PATH, SOAP_ACTIONS } from '../../lib/sf2900/namespaces';
import { buildReceiptResponse, parseReceiptRequest, type ParsedReceipt } from '../../lib/sf2900/receipts';
import { parseSoapBody, SoapFaultError, soapEnvelope } from '../../lib/sf2900/soap';
import type { XsdSchema } from '../../lib/xml/xsd';
import { createSimulator, DEFAULT_RECEIVERS, type Simulator } from '../../simulator';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { AFSEND_OPTS, formular, journalpost, msgV2Xsd } from '../lib/sf2900/fixtures';
import { transactionIdFor } from '../../lib/sf2900/transaction-id';

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

interface PostOptions {
  action?: string | null;
  contentType?: string;
  client?: { key: string; cert: string } | null;
}

describe('simulator', function () {
  this.timeout(30_000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let v2: XsdSchema;
  let receiptServer: http.Server;
  let receiptUrl: string;
  let received: Array<{ parsed: ParsedReceipt; raw: string; headers: http.IncomingHttpHeaders; at: number }>;
  let receiptStatus = 200;

  function post(envelope: string, o: PostOptions = {}): Promise<Reply> {
    const client = o.client === undefined ? { key: certs.client.key, cert: certs.client.cert } : o.client;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {
        'Content-Type': o.contentType ?? 'text/xml; charset=utf-8',
        'Content-Length': Buffer.byteLength(envelope),
      };
      if (o.action !== null) headers.SOAPAction = `"${o.action ?? SOAP_ACTIONS.afsend}"`;
      const req = https.request(sim.serviceUrl, { method: 'POST', headers, ca: sim.ca, agent: false, ...(client ?? {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(envelope);
    });
  }

  const afsend = (obj = journalpost(), opts = AFSEND_OPTS) => soapEnvelope(buildAfsendRequest(obj, opts));

  function fault(reply: Reply): SoapFaultError {
    assert.strictEqual(reply.status, 500, reply.body);
    assert.match(String(reply.headers['content-type']), /^text\/xml/);
    try {
      parseSoapBody(reply.body);
    } catch (err) {
      if (err instanceof SoapFaultError) return err;
      throw err;
    }
    throw new Error('expected a SOAP fault');
  }

  async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  before(async () => {
    certs = await testCerts();
    v2 = await msgV2Xsd();
    receiptServer = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (receiptStatus !== 200) {
          res.writeHead(receiptStatus).end();
          return;
        }
        received.push({ parsed: parseReceiptRequest(raw), raw, headers: req.headers, at: Date.now() });
        const body = buildReceiptResponse();
        res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' }).end(body);
      });
    });
    await new Promise<void>((r) => receiptServer.listen(0, '127.0.0.1', r));
    receiptUrl = `http://127.0.0.1:${(receiptServer.address() as AddressInfo).port}/receipts`;
    sim = await createSimulator({ certs, receiptUrl, technicalReceiptDelayMs: 5, businessReceiptDelayMs: 30 });
  });

  beforeEach(async () => {
    await sim.idle(); // receipts of the previous test must not leak into this one
    received = [];
    receiptStatus = 200;
    sim.faults = {};
    sim.duplicatePolicy = 'accept';
    sim.receipt = { url: receiptUrl };
    sim.reset();
  });

  after(async () => {
    await sim?.close();
    await new Promise((r) => receiptServer?.close(r));
  });

  describe('FordelingsobjektAfsend', () => {
    it('accepts a valid request, answers with a DistributionTransktionsID, then posts Teknisk and Forretning receipts in order', async () => {
      const reply = await post(afsend());
      assert.strictEqual(reply.status, 200, reply.body);
      assert.match(String(reply.headers['content-type']), /^text\/xml/);
      const r = parseAfsendResponse(reply.body);
      assert.match(r.distributionTransactionId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4/);
      assert.strictEqual(r.distributionContext.transactionId, AFSEND_OPTS.transactionId);
      await waitFor(() => received.length >= 2);
      await sim.idle();
      assert.deepStrictEqual(
        received.map((x) => [x.parsed.receipt.type, x.parsed.receipt.code]),
        [
          ['Teknisk', 'MODTAGET'],
          ['Forretning', 'ACCEPTERET'],
        ],
      );
      for (const x of received) {
        assert.strictEqual(x.parsed.transactionId, AFSEND_OPTS.transactionId);
        assert.strictEqual(x.parsed.distributionTransactionId, r.distributionTransactionId);
        assert.match(String(x.headers['content-type']), /^text\/xml/);
        assert.strictEqual(x.headers.soapaction, '""');
      }
      assert.deepStrictEqual(
        { ...sim.stats },
        { requests: 1, accepted: 1, distinctTransactions: 1, duplicates: 0, faults: 0, receiptsSent: 2, receiptsFailed: 0 },
      );
    });

    it('every receipt it sends validates against DistributionServiceMsgV2.xsd', async () => {
      sim.receivers = [
        ...DEFAULT_RECEIVERS,
        { authorityCvr: '11112222', kle: '*', systemUuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', systemName: 'Refuser', outcome: 'FEJLET' },
      ];
      const fejlet = journalpost();
      fejlet.context.routing.receivingAuthorityCvr = '11112222';
      const orphan = journalpost();
      orphan.context.routing.kle = '99.99.99';
      await post(afsend());
      await post(afsend(fejlet, { ...AFSEND_OPTS, transactionId: transactionIdFor('x1') }));
      await post(afsend(orphan, { ...AFSEND_OPTS, transactionId: transactionIdFor('x2') }));
      await waitFor(() => sim.receiptsLog.length >= 6);
      sim.receivers = DEFAULT_RECEIVERS;
      assert.deepStrictEqual(sim.receiptsLog.map((x) => x.code).sort(), ['ACCEPTERET', 'AFVIST', 'FEJLET', 'MODTAGET', 'MODTAGET', 'MODTAGET']);
      for (const x of sim.receiptsLog) {
        const v = v2.validate(x.xml);
        assert.ok(v.valid, `${x.code}: ${JSON.stringify(v.errors)}`);
      }
    });

    it('accepts a FORMULAR with the SP241 form XML', async () => {
      const reply = await post(afsend(formular()));
      assert.strictEqual(reply.status, 200, reply.body);
      assert.strictEqual([...sim.shipments.values()][0].formularType, 'HelbredstillægAnsøgningFormular_1');
    });

    it('answers Forretning AFVIST with a reason when no receiver is set up for the KLE subject', async () => {
      const obj = journalpost();
      obj.context.routing.kle = '00.01.02';
      const reply = await post(afsend(obj));
      assert.strictEqual(reply.status, 200);
      await waitFor(() => received.length >= 2);
      const business = received[1].parsed.receipt;
      assert.strictEqual(business.type, 'Forretning');
      assert.strictEqual(business.code, 'AFVIST');
      assert.match(business.reason ?? '', /00\.01\.02/);
      assert.strictEqual(business.errors[0].code, 'INGEN_MODTAGER');
    });

    it('refuses a request that does not conform to the contract with TransportKvittering FEJL', async () => {
      const xml = afsend().replace(/<v2:Notat>[^<]*<\/v2:Notat>/, '');
      const f = fault(await post(xml));
      assert.strictEqual(f.transportKvittering?.code, 'FEJL');
      assert.strictEqual(f.transportKvittering?.errors[0].code, 'SKEMA_VALIDERING');
      assert.match(f.transportKvittering?.errors[0].text ?? '', /JournalnotatAttributter|Notat/);
      assert.strictEqual(sim.stats.accepted, 0);
      assert.strictEqual(sim.stats.faults, 1);
    });

    it('refuses text that is not well-formed XML, a DTD, and SOAP 1.2', async () => {
      assert.strictEqual(fault(await post('<soapenv:Envelope')).transportKvittering?.errors[0].code, 'XML_FEJL');
      assert.strictEqual(fault(await post('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')).transportKvittering?.errors[0].code, 'XML_FEJL');
      const soap12 = await post(afsend(), { contentType: 'application/soap+xml; charset=utf-8' });
      assert.strictEqual(soap12.status, 415);
      assert.throws(() => parseSoapBody(soap12.body), SoapFaultError);
    });

    it('requires the SOAPAction of the operation in the body', async () => {
      assert.match(fault(await post(afsend(), { action: null })).faultString, /SOAPAction header is missing/);
      assert.match(fault(await post(afsend(), { action: SOAP_ACTIONS.modtagerList })).faultString, /does not match FordelingsobjektAfsend/);
    });

    it('refuses an AuthorityContext CVR that differs from the client certificate CVR', async () => {
      const f = fault(await post(afsend(journalpost(), { ...AFSEND_OPTS, senderCvr: '87654321' })));
      assert.strictEqual(f.platformErrors?.[0].code, 'AUTORISATION');
      assert.match(f.faultString, /87654321.*12345678/);
      assert.strictEqual(sim.stats.accepted, 0);
    });

    it('authenticates before it validates: a wrong CVR in an invalid request is an authorisation fault', async () => {
      const xml = afsend(journalpost(), { ...AFSEND_OPTS, senderCvr: '87654321' }).replace(/<v2:Notat>[^<]*<\/v2:Notat>/, '');
      assert.strictEqual(fault(await post(xml)).platformErrors?.[0].code, 'AUTORISATION');
    });

    it('refuses an unknown operation and a body with two elements', async () => {
      assert.strictEqual(fault(await post(soapEnvelope('<x:Hello xmlns:x="urn:x"/>'))).transportKvittering?.errors[0].code, 'UKENDT_OPERATION');
      const two = afsend().replace('</soapenv:Body>', '<x:Extra xmlns:x="urn:x"/></soapenv:Body>');
      assert.match(fault(await post(two)).faultString, /exactly one element/);
    });

    it('refuses a request without AuthorityContext (no security model)', async () => {
      const xml = afsend().replace(/<ac:AuthorityContext>.*<\/ac:AuthorityContext>/, '');
      assert.match(fault(await post(xml)).faultString, /Security model not provided/);
    });

    it('counts a repeated AnvenderTransaktionsID as duplicate and answers with the same DistributionTransktionsID', async () => {
      const a = parseAfsendResponse((await post(afsend())).body);
      const b = parseAfsendResponse((await post(afsend())).body);
      assert.strictEqual(a.distributionTransactionId, b.distributionTransactionId);
      assert.strictEqual(sim.stats.distinctTransactions, 1);
      assert.strictEqual(sim.stats.duplicates, 1);
      await sim.idle();
    });

    it('with duplicatePolicy reject, refuses the repeat with FEJL DUPLIKAT', async () => {
      sim.duplicatePolicy = 'reject';
      assert.strictEqual((await post(afsend())).status, 200);
      assert.strictEqual(fault(await post(afsend())).transportKvittering?.errors[0].code, 'DUPLIKAT');
      assert.strictEqual(sim.stats.duplicates, 0);
      await sim.idle();
    });
  });

  describe('TLS client certificates', () => {
    it('refuses a client certificate from another CA', async () => {
      await assert.rejects(post(afsend(), { client: { key: certs.otherClient.key, cert: certs.otherClient.cert } }));
      assert.strictEqual(sim.stats.requests, 0);
    });

    it('refuses a client without certificate', async () => {
      await assert.rejects(post(afsend(), { client: null }));
      assert.strictEqual(sim.stats.requests, 0);
    });
  });

  describe('FordelingsmodtagerList / FordelingsmodtagerValider', () => {
    it('lists the receivers set up for an authority and KLE subject', async () => {
      const env = soapEnvelope(buildModtagerListRequest({ senderCvr: '12345678', routingCvr: '14814833', kle: '32.03.12' }));
      const reply = await post(env, { action: SOAP_ACTIONS.modtagerList });
      assert.strictEqual(reply.status, 200, reply.body);
      assert.deepStrictEqual(parseModtagerListResponse(reply.body), [
        { authorityCvr: '14814833', systemUuid: DEFAULT_RECEIVERS[0].systemUuid, systemName: 'KP – Ekstern Test', kle: '32.03.12', handlingFacet: 'G01' },
      ]);
      const none = soapEnvelope(buildModtagerListRequest({ senderCvr: '12345678', routingCvr: '14814833', kle: '01.02.03' }));
      assert.deepStrictEqual(parseModtagerListResponse((await post(none, { action: SOAP_ACTIONS.modtagerList })).body), []);
    });

    it('validates receivers', async () => {
      const env = soapEnvelope(
        buildModtagerValiderRequest({
          senderCvr: '12345678',
          routings: [
            { routingCvr: '14814833', receivingSystemUuid: DEFAULT_RECEIVERS[0].systemUuid },
            { routingCvr: '14814833', receivingSystemUuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' },
          ],
        }),
      );
      const reply = await post(env, { action: SOAP_ACTIONS.modtagerValider });
      assert.deepStrictEqual(
        parseModtagerValiderResponse(reply.body).map((r) => r.canReceive),
        [true, false],
      );
    });
  });

  describe('fault switches', () => {
    it('answers HTTP 503 (plain text, not SOAP) and does not accept', async () => {
      sim.faults = { httpStatus: 503 };
      const reply = await post(afsend());
      assert.strictEqual(reply.status, 503);
      assert.match(String(reply.headers['content-type']), /^text\/plain/);
      assert.strictEqual(sim.stats.accepted, 0);
      sim.faults = { httpStatus: 500, httpStatusProbability: 0 };
      assert.strictEqual((await post(afsend())).status, 200);
      await sim.idle();
    });

    it('drops the connection without an answer', async () => {
      sim.faults = { dropConnection: 1 };
      await assert.rejects(post(afsend()), /socket hang up|ECONNRESET/);
      assert.strictEqual(sim.stats.accepted, 0);
    });

    it('accepts and then drops the connection; the retry is counted as duplicate', async () => {
      sim.faults = { dropAfterAccept: 1 };
      await assert.rejects(post(afsend()), /socket hang up|ECONNRESET/);
      sim.faults = {};
      assert.strictEqual((await post(afsend())).status, 200);
      assert.strictEqual(sim.stats.duplicates, 1);
      await sim.idle();
    });

    it('adds latency', async () => {
      sim.faults = { latencyMs: 250 };
      const t = Date.now();
      await post(afsend());
      assert.ok(Date.now() - t >= 240, `took ${Date.now() - t} ms`);
      await sim.idle();
    });

    it('posts each receipt twice', async () => {
      sim.faults = { duplicateReceipt: true };
      await post(afsend());
      await waitFor(() => received.length >= 4);
      await sim.idle();
      assert.deepStrictEqual(
        received.map((x) => x.parsed.receipt.code),
        ['MODTAGET', 'MODTAGET', 'ACCEPTERET', 'ACCEPTERET'],
      );
      assert.strictEqual(sim.stats.receiptsSent, 4);
    });

    it('delivers the Teknisk receipt before the response', async () => {
      sim.faults = { receiptBeforeResponse: true };
      const reply = await post(afsend());
      const answeredAt = Date.now();
      assert.strictEqual(reply.status, 200);
      assert.strictEqual(received.length, 1);
      assert.ok(received[0].at <= answeredAt);
      assert.strictEqual(received[0].parsed.receipt.type, 'Teknisk');
      await waitFor(() => received.length >= 2);
      assert.strictEqual(received[1].parsed.receipt.type, 'Forretning');
    });
  });

  describe('receipt delivery', () => {
    it('sends basic auth when configured', async () => {
      sim.receipt = { url: receiptUrl, basicAuth: { username: 'sp', password: 'hemmelig' } };
      await post(afsend());
      await waitFor(() => received.length >= 2);
      assert.strictEqual(received[0].headers.authorization, `Basic ${Buffer.from('sp:hemmelig').toString('base64')}`);
    });

    it('retries a receipt the endpoint refuses and counts it as failed in the end', async () => {
      receiptStatus = 503;
      await post(afsend());
      await waitFor(() => sim.receiptsLog.length >= 2);
      assert.deepStrictEqual(
        sim.receiptsLog.map((x) => [x.ok, x.status]),
        [
          [false, 503],
          [false, 503],
        ],
      );
      assert.strictEqual(sim.stats.receiptsFailed, 2);
      assert.strictEqual(sim.stats.receiptsSent, 0);
    });

    it('posts receipts to an https endpoint with a client certificate', async () => {
      const tlsServer = https.createServer(
        { key: certs.server.key, cert: certs.server.cert, ca: [certs.ca.cert], requestCert: true, rejectUnauthorized: true },
        (req, res) => {
          const peer = (req.socket as import('tls').TLSSocket).getPeerCertificate();
          req.resume();
          req.on('end', () => {
            received.push({
              parsed: { transactionId: String(peer.subject?.CN), receipt: { code: '', type: '', errors: [] }, context: {} },
              raw: '',
              headers: req.headers,
              at: Date.now(),
            });
            res.writeHead(200, { 'Content-Type': 'text/xml' }).end(buildReceiptResponse());
          });
        },
      );
      await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
      try {
        sim.receipt = {
          url: `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}${SERVICE_PATH}`,
          ca: certs.ca.cert,
          clientCert: { key: certs.client.key, cert: certs.client.cert },
        };
        await post(afsend());
        await waitFor(() => sim.receiptsLog.length >= 2);
        assert.deepStrictEqual(
          sim.receiptsLog.map((x) => x.ok),
          [true, true],
        );
        assert.match(received[0].parsed.transactionId, /OS2forms Fordeling/);
      } finally {
        await new Promise((r) => tlsServer.close(r));
      }
    });
  });
});
