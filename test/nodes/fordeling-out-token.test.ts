import { shipmentIdOf } from '../../lib/delivery/plan';
import { strict as assert } from 'assert';
import * as http from 'http';
import type { AddressInfo } from 'net';
import helper from 'node-red-node-test-helper';
import { createSimulator, type Simulator } from '../../simulator';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { journalpost } from '../lib/sf2900/fixtures';
import { buildReceiptResponse } from '../../lib/sf2900/receipts';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import { FORDELING_ENTITY_ID, STS_URLS } from '../../lib/sts/constants';
import { buildTokenEnvelope } from '../../lib/sts/token-envelope';
import { loadSigningKey } from '../../lib/signing/keys';
import type { SecurityModel } from '../../lib/delivery/deliver';
import type { ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import { NODES, collect, nextMessage, sleep, until } from '../e2e/harness';
import { serviceplatformNode } from '../support/platform';

type Any = Record<string, any>;

describe('os2-fordeling-out in the token model (simulator STS + token endpoint)', function () {
  this.timeout(30000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let receiptServer: http.Server;
  let n = 0;
  before(async function () {
    this.timeout(60000);
    certs = await testCerts();
    receiptServer = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/xml' }).end(buildReceiptResponse()));
    });
    await new Promise<void>((r) => receiptServer.listen(0, '127.0.0.1', r));
    sim = await createSimulator({
      certs,
      receiptUrl: `http://127.0.0.1:${(receiptServer.address() as AddressInfo).port}/kvittering`,
      technicalReceiptDelayMs: 5,
      businessReceiptDelayMs: 20,
    });
  });
  after(async () => {
    await sim.close();
    await new Promise((r) => receiptServer.close(r));
  });
  beforeEach(() => {
    sim.token.tokenLifetimeMs = 8 * 3600_000;
    sim.token.clockOffsetMs = 0;
    sim.token.revokeBefore = undefined;
  });
  afterEach(() => helper.unload());

  const obj = () => {
    const o = journalpost();
    o.submissionId = `7d1e2f3a-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    o.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.12' };
    return o;
  };
  const load = async (over: Any = {}, key: { key: string; cert: string } = certs.client, spCreds: Any = {}) => {
    const flow = [
      { id: 't', type: 'tab' },
      { id: 'c1', type: 'os2-certificate' },
      serviceplatformNode(sim, certs, { baseUrl: sim.tokenUrl, securityModel: 'token', stsUrl: sim.stsUrl, ...over }),
      { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', wires: [['ok'], ['failed']] },
      { id: 'ok', z: 't', type: 'helper' },
      { id: 'failed', z: 't', type: 'helper' },
    ];
    await helper.load(NODES, flow, { c1: { keyPem: key.key, certPem: key.cert }, sp: { ca: certs.ca.cert, stsPins: sim.stsCert, ...spCreds } });
    return helper.getNode('sp') as unknown as ServiceplatformConfig & Any;
  };
  /** Sends one message to fordeling out and resolves with the output it came out of. */
  const outcome = (payload: unknown): Promise<{ port: 'ok' | 'failed'; msg: Any }> =>
    new Promise((resolve, reject) => {
      const okNode = helper.getNode('ok');
      const failedNode = helper.getNode('failed');
      const onOk = (msg: Any) => finish({ port: 'ok', msg });
      const onFailed = (msg: Any) => finish({ port: 'failed', msg });
      const timer = setTimeout(() => finish(undefined), 10000);
      function finish(r: { port: 'ok' | 'failed'; msg: Any } | undefined) {
        clearTimeout(timer);
        okNode.off('input', onOk);
        failedNode.off('input', onFailed);
        if (r) resolve(r);
        else reject(new Error('fordeling out sent nothing within 10 s'));
      }
      okNode.on('input', onOk);
      failedNode.on('input', onFailed);
      helper.getNode('fo').receive({ payload } as never);
    });
  const deliverOk = async (o: unknown = obj()): Promise<Any> => {
    const r = await outcome(o);
    assert.equal(r.port, 'ok', `failed: ${r.msg.error?.reason}`);
    return r.msg;
  };
  const deliverFailed = async (o: unknown = obj()): Promise<Any> => {
    const r = await outcome(o);
    assert.equal(r.port, 'failed', 'delivered although it should fail');
    return r.msg;
  };
  /** Wraps the config node's security model so a test can change what goes on the wire. */
  const wrapSecurity = (sp: Any, change: (envelope: string, real: SecurityModel) => Promise<string> | string) => {
    const realSecurity = sp.security.bind(sp) as () => SecurityModel;
    sp.security = (): SecurityModel => {
      const real = realSecurity();
      return { ...real, envelope: async (b: string, op: string) => change(await real.envelope(b, op), real) };
    };
  };

  it('delivers with an STS-issued SAML token: accepted, both transaction IDs, receipts as usual', async function () {
    const before = { ...sim.token.stats };
    const sp = await load();
    assert.equal(sp.configError, undefined);
    assert.equal(sp.securityModel, 'token');
    const o = obj();
    const msg = await deliverOk(o);
    assert.equal(msg.transactionId, shipmentIdOf(o));
    assert.match(msg.distributionTransactionId, /^[0-9a-f-]{36}$/);
    assert.equal(msg.receipt.code, 'MODTAGET');
    assert.equal(sim.token.stats.issued - before.issued, 1, 'one token from the STS');
    assert.equal(sim.token.stats.accepted - before.accepted, 1, 'the token endpoint checked the request');
    assert.equal(sim.shipments.get(msg.transactionId)?.context.senderCvr, certs.client.cvr);
    await sim.idle();
    const receipts = sim.receiptsLog.filter((r) => r.transactionId === msg.transactionId);
    assert.deepEqual(
      receipts.map((r) => `${r.type}/${r.code}/${r.ok}`),
      ['Teknisk/MODTAGET/true', 'Forretning/ACCEPTERET/true'],
    );
    const s = await defaultLedger().getShipment(msg.transactionId);
    assert.equal(s?.distributionTransactionId, msg.distributionTransactionId);
  });

  it('reuses the cached token (two deliveries, one STS call) and FordelingsmodtagerList uses it too', async function () {
    const sp = await load();
    const issued = sim.token.stats.issued;
    await deliverOk();
    await deliverOk();
    const list = nextMessage<Any>('ok');
    helper.getNode('fo').receive({ topic: 'FordelingsmodtagerList', payload: { routingCvr: '14814833', kle: '32.03.12' } } as never);
    assert.equal((await list).payload[0].systemName, 'KP – Ekstern Test');
    assert.equal(sim.token.stats.issued - issued, 1);
    assert.equal(sp.tokenCache!()!.fetches, 1);
  });

  it('fetches a new token shortly before NotOnOrAfter (short-lived assertions → second STS call)', async function () {
    sim.token.tokenLifetimeMs = 1200; // refreshed at half its life
    const sp = await load();
    const issued = sim.token.stats.issued;
    await deliverOk();
    await deliverOk();
    assert.equal(sim.token.stats.issued - issued, 1, 'still fresh: reused');
    await sleep(700);
    await deliverOk();
    assert.equal(sim.token.stats.issued - issued, 2, 'refreshed');
    assert.equal(sp.tokenCache!()!.fetches, 2);
  });

  it('a token the platform refuses is renewed once and the request sent again', async function () {
    await load();
    const issued = sim.token.stats.issued;
    const refused = sim.token.stats.refused;
    await deliverOk();
    sim.token.revokeBefore = new Date(Date.now() + 1);
    await sleep(5);
    await deliverOk();
    assert.equal(sim.token.stats.issued - issued, 2);
    assert.equal(sim.token.stats.refused - refused, 1);
  });

  const refusals: Array<[string, (sp: Any) => void | Promise<void>, RegExp]> = [
    [
      "an expired timestamp (the platform's clock is 10 minutes ahead)",
      () => {
        sim.token.clockOffsetMs = 10 * 60_000;
      },
      /SOAP Client fault: The security token or message signature was refused: .*(expired|Timestamp)/i,
    ],
    ['a tampered Body', (sp) => wrapSecurity(sp, (env) => env.replace(/>32\.03\.12</g, '>32.03.13<')), /refused: .*digest/i],
    [
      'an assertion used with another key',
      (sp) => {
        const thief = loadSigningKey({ keyPem: certs.expiringClient.key, certPem: certs.expiringClient.cert });
        wrapSecurity(sp, async (env) => {
          const token = await sp.tokenCache().get();
          const body = /<soap:Body[^>]*>([\s\S]*)<\/soap:Body>/.exec(env)![1];
          return buildTokenEnvelope(thief, {
            bodyXml: body,
            action: 'http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/port/FordelingsobjektAfsend',
            to: sim.tokenServiceUrl,
            token,
          });
        });
      },
      /refused: .*signature value is incorrect/i,
    ],
  ];
  for (const [name, arrange, reason] of refusals) {
    it(`refuses ${name} with the platform's fault → output 2 with the reason (after one renewal)`, async function () {
      const sp = await load();
      await arrange(sp);
      const accepted = sim.stats.accepted;
      const msg = await deliverFailed();
      assert.equal(msg.error.class, 'permanent');
      assert.match(msg.error.reason, reason);
      assert.equal(msg.error.code, 'SOAP_CLIENT');
      assert.equal(sim.stats.accepted, accepted, 'nothing was handled');
      const s = await defaultLedger().getShipment(msg.transactionId);
      assert.ok(s && ['failed', 'dead-letter'].includes(s.state), s?.state);
    });
  }

  it('refuses a replayed request (same wsa:MessageID) → output 2 with the reason', async function () {
    const sp = await load();
    let first: string | undefined;
    wrapSecurity(sp, (env) => (first ??= env));
    await deliverOk();
    const replays = sim.token.stats.replays;
    const msg = await deliverFailed();
    assert.match(msg.error.reason, /Replayed request: wsa:MessageID urn:uuid:[0-9a-f-]+ has been received before/);
    assert.equal(sim.token.stats.replays - replays, 2, 'the renewed request was a replay too');
  });

  it('an unknown certificate gets no token: output 2 says the STS refused it, nothing is sent', async function () {
    await load({}, certs.otherClient);
    const requests = sim.stats.requests;
    const msg = await deliverFailed();
    assert.equal(msg.error.code, 'STS');
    assert.equal(msg.error.class, 'permanent');
    assert.match(msg.error.reason, /No security token from the STS: the STS refused the token request: The certificate is not registered/);
    assert.equal(sim.stats.requests, requests);
  });

  it('pins the STS: a token signed by another key is refused before anything is sent', async function () {
    await load({}, certs.client, { stsPins: certs.ca.cert });
    const msg = await deliverFailed();
    assert.match(msg.error.reason, /No security token from the STS: the SAML assertion's signature is not valid: .*not one of the pinned/);
  });

  it('configuration: STS URL defaults per environment, entityID default, the STS pin is required and checked', async function () {
    let sp = await load({ environment: 'test', stsUrl: '' });
    assert.equal(sp.configError, undefined);
    await helper.unload();
    sp = await load({ environment: 'production', stsUrl: '' }, certs.client, { stsPins: 'AB:CD' });
    assert.match(sp.configError!, /STS certificate: "AB:CD" is neither a PEM certificate nor a SHA-256 fingerprint/);
    await helper.unload();
    sp = await load({ stsUrl: '' }, certs.client, { stsPins: '' });
    assert.match(sp.configError!, /STS URL missing or invalid; the token model needs the STS certificate to pin/);
    assert.throws(() => sp.security!(), /STS URL/);
    await helper.unload();
    sp = await load({ certificate: '' });
    assert.match(sp.configError!, /the token model needs a certificate/);
    assert.equal(STS_URLS.test, 'https://n2adgangsstyring.eksterntest-stoettesystemerne.dk/runtime/services/kombittrust/14/certificatemixed');
    assert.equal(FORDELING_ENTITY_ID, 'http://sp.serviceplatformen.dk/service/fordeling/3');
  });

  it('a fingerprint pin works like the certificate; close drops the cached token', async function () {
    const { X509Certificate } = await import('crypto');
    const fp = new X509Certificate(sim.stsCert).fingerprint256;
    const sp = await load({}, certs.client, { stsPins: `sha256:${fp}` });
    await deliverOk();
    const cache = sp.tokenCache!()!;
    assert.ok(cache.refreshAt());
    await helper.unload();
    assert.equal(cache.refreshAt(), undefined);
  });

  it('"test connection" (FordelingsmodtagerList from the editor) uses the token too', async function () {
    await load();
    const res = await helper.request().post('/os2-serviceplatform/sp/test').send({ routingCvr: '14814833', kle: '32.03.12' }).expect(200);
    assert.equal(res.body.ok, true, res.body.error);
    assert.equal(res.body.systems[0].systemName, 'KP – Ekstern Test');
  });

  it('certificate model is unchanged: the certificate security model, no STS', async function () {
    const sp = await load({ securityModel: 'certificate', baseUrl: sim.url });
    assert.equal(sp.security!().name, 'certificate');
    assert.equal(sp.tokenCache!(), undefined);
    const out = collect(['ok']);
    helper.getNode('fo').receive({ payload: obj() } as never);
    await until(() => out.ok.length === 1);
  });
});
