import { strict as assert } from 'assert';
import * as net from 'net';
import { listReceivers, prepareAfsend, sendAfsend, type DeliveryContext } from '../../../lib/delivery/deliver';
import type { DeliveryError } from '../../../lib/delivery/errors';
import { SoapTransport } from '../../../lib/delivery/soap-transport';
import { tokenSecurity, tokenSigner } from '../../../lib/delivery/token-security';
import { loadSigningKey, type SigningKey } from '../../../lib/signing/keys';
import { FORDELING_ENTITY_ID, requestToken, TokenCache } from '../../../lib/sts';
import { createSimulator, type Simulator } from '../../../simulator';
import { testCerts, type SimulatorCerts } from '../../support/certs';
import { journalpost, SYSTEM_UUID } from '../sf2900/fixtures';

/** One send as the outbox makes it (prepare, then send). */
async function deliver(obj: Parameters<typeof prepareAfsend>[0], ctx: DeliveryContext) {
  const { request, ids } = await prepareAfsend(obj, ctx);
  return { ...ids, ...(await sendAfsend(request, ctx)) };
}

describe('lib/delivery token model: sendAfsend() with tokenSecurity against the simulator', function () {
  this.timeout(30_000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let key: SigningKey;
  let transport: SoapTransport;
  let n = 0;

  before(async function () {
    this.timeout(60_000);
    certs = await testCerts();
    sim = await createSimulator({ certs });
    key = loadSigningKey({ keyPem: certs.client.key, certPem: certs.client.cert });
    transport = new SoapTransport({ keyPem: certs.client.key, certPem: certs.client.cert, ca: [certs.ca.cert], timeoutMs: 5000 });
  });
  after(async () => {
    transport.close();
    await sim.close();
  });
  afterEach(() => {
    sim.token.revokeBefore = undefined;
    sim.duplicatePolicy = 'accept';
  });

  const context = (stsUrl = sim.stsUrl) => {
    const cache = new TokenCache(() =>
      requestToken({ stsUrl, appliesTo: FORDELING_ENTITY_ID, cvr: certs.client.cvr, key, stsPins: sim.stsCert, ca: [sim.ca], timeoutMs: 2000 }),
    );
    const ctx: DeliveryContext = {
      endpoint: { baseUrl: sim.tokenUrl, senderCvr: certs.client.cvr, senderSystemUuid: SYSTEM_UUID, timeoutMs: 5000 },
      transport,
      security: tokenSecurity({ cache, key: () => key, to: sim.tokenServiceUrl }),
    };
    return { ctx, cache };
  };
  const obj = () => {
    const o = journalpost();
    o.submissionId = `9a1e2f3a-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    return o;
  };

  it('signed on a signing thread (as the serviceplatform node does): accepted, and the assertion is carried as the STS wrote it', async () => {
    const signer = tokenSigner(() => ({ keyPem: certs.client.key, certPem: certs.client.cert }));
    try {
      const { ctx, cache } = context();
      ctx.security = tokenSecurity({ cache, key: () => key, to: sim.tokenServiceUrl, signer });
      const sent: string[] = [];
      const post = transport.post.bind(transport);
      ctx.transport = { post: (url: string, action: string, body: string, ms: number) => (sent.push(body), post(url, action, body, ms)) } as SoapTransport;
      const r = await deliver(obj(), ctx);
      assert.ok(r.distributionTransactionId, 'the simulator accepted the signature and the token');
      assert.ok(sent[0]!.includes((await cache.get()).assertionXml), 'the assertion text is in the envelope unchanged');
      assert.equal(sent[0]!.includes('os2splice'), false, 'no marker left behind');
    } finally {
      await signer.close();
    }
  });

  it('a key the signing thread cannot use is a permanent configuration error, not a crash', async () => {
    const signer = tokenSigner(() => ({ keyPem: 'not a key', certPem: certs.client.cert }));
    const { ctx, cache } = context();
    ctx.security = tokenSecurity({ cache, key: () => key, to: sim.tokenServiceUrl, signer });
    await assert.rejects(deliver(obj(), ctx), (e: DeliveryError) => e.class === 'permanent' && e.code === 'CONFIG' && /cannot be signed/.test(e.reason));
    await signer.close();
    // no certificate at all (the configuration's material() throws): permanent too, not retried
    const none = tokenSigner(() => {
      throw new Error('serviceplatform: no certificate configured');
    });
    ctx.security = tokenSecurity({ cache, key: () => key, to: sim.tokenServiceUrl, signer: none });
    await assert.rejects(deliver(obj(), ctx), (e: DeliveryError) => e.class === 'permanent' && /no certificate configured/.test(e.reason));
  });

  it('a revoked token is renewed within the same send: one call succeeds, with a second token', async () => {
    const { ctx, cache } = context();
    await deliver(obj(), ctx);
    sim.token.revokeBefore = new Date(Date.now() + 1);
    await new Promise((r) => setTimeout(r, 5));
    const accepted = sim.stats.accepted;
    const r = await deliver(obj(), ctx);
    assert.ok(r.distributionTransactionId);
    assert.equal(sim.stats.accepted - accepted, 1);
    assert.equal(cache.fetches, 2);
    // listReceivers goes through the same seam
    const systems = await listReceivers({ routingCvr: '14814833', kle: '32.03.12' }, ctx);
    assert.equal(systems[0].systemName, 'KP – Ekstern Test');
    assert.equal(cache.fetches, 2);
  });

  it('a refusal that is not about the token (duplicate) is not retried and fetches no new token', async () => {
    const { ctx, cache } = context();
    const o = obj();
    await deliver(o, ctx);
    sim.duplicatePolicy = 'reject';
    const requests = sim.stats.requests;
    await assert.rejects(deliver(o, ctx), (e: DeliveryError) => e.code === 'FEJL' && /already been received/.test(e.reason));
    assert.equal(sim.stats.requests - requests, 1);
    assert.equal(cache.fetches, 1);
  });

  it('an STS that cannot be reached is a transient failure with the reason, and nothing is sent', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const { ctx } = context(`https://127.0.0.1:${closed}/sts`);
    const o = obj();
    const requests = sim.stats.requests;
    await assert.rejects(
      deliver(o, ctx),
      (e: DeliveryError) => e.class === 'transient' && e.code === 'STS' && /No security token from the STS: the STS could not be reached/.test(e.reason),
    );
    assert.equal(sim.stats.requests, requests);
  });
});
