import { strict as assert } from 'assert';
import helper from 'node-red-node-test-helper';
import certificateNode from '../../nodes/certificate/certificate';
import serviceplatformNode from '../../nodes/serviceplatform/serviceplatform';
import type { ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import { createSimulator, type Simulator } from '../../simulator';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { serviceplatformNode as spNode } from '../support/platform';

describe('os2-serviceplatform config node', function () {
  let certs: SimulatorCerts;
  let sim: Simulator;
  before(async function () {
    this.timeout(60000);
    certs = await testCerts();
    sim = await createSimulator({ certs });
  });
  after(() => sim.close());
  afterEach(() => helper.unload());

  const nodes = [certificateNode, serviceplatformNode];
  const flow = (over: Record<string, unknown> = {}) => [
    { id: 'c1', type: 'os2-certificate' },
    // upper case on purpose: the node normalises the sender system's UUID
    spNode(sim, certs, { senderSystemUuid: 'A0B1C2D3-0000-4000-8000-000000000001', ...over }),
  ];
  const creds = () => ({ c1: { keyPem: certs.client.key, certPem: certs.client.cert }, sp: { ca: certs.ca.cert } });

  it('exposes base URL, sender, timeout and the certificate; environments map to the official URLs', async function () {
    await helper.load(nodes, flow(), creds());
    const sp = helper.getNode('sp') as unknown as ServiceplatformConfig;
    assert.equal(sp.configError, undefined);
    assert.equal(sp.baseUrl, sim.url);
    assert.equal(sp.senderSystemUuid, 'a0b1c2d3-0000-4000-8000-000000000001');
    assert.equal(sp.timeoutMs, 5000);
    assert.equal(sp.ca()?.length, 1);
    assert.equal(sp.certificate()?.info?.cvr, certs.client.cvr);
    await helper.unload();
    await helper.load(nodes, flow({ environment: 'production' }), creds());
    assert.equal((helper.getNode('sp') as unknown as ServiceplatformConfig).baseUrl, 'https://prod.serviceplatformen.dk');
    assert.equal((helper.getNode('sp') as unknown as ServiceplatformConfig).ca(), undefined, 'CA bundle only for custom');
    await helper.unload();
    await helper.load(nodes, flow({ environment: 'test', timeout: '' }), creds());
    assert.equal((helper.getNode('sp') as unknown as ServiceplatformConfig).baseUrl, 'https://exttest.serviceplatformen.dk');
    assert.equal((helper.getNode('sp') as unknown as ServiceplatformConfig).timeoutMs, 30000);
  });

  it('takes URL, CVR and IT-system from ${ENV} references (as the examples do)', async function () {
    process.env.OS2_TEST_SP_URL = sim.url;
    process.env.OS2_TEST_SENDER_CVR = certs.client.cvr;
    try {
      await helper.load(nodes, flow({ baseUrl: '${OS2_TEST_SP_URL}', senderCvr: '${OS2_TEST_SENDER_CVR}' }), creds());
      const sp = helper.getNode('sp') as unknown as ServiceplatformConfig;
      assert.equal(sp.configError, undefined);
      assert.equal(sp.baseUrl, sim.url);
      assert.equal(sp.senderCvr, certs.client.cvr);
    } finally {
      delete process.env.OS2_TEST_SP_URL;
      delete process.env.OS2_TEST_SENDER_CVR;
    }
  });

  it('reports an invalid CVR/UUID in one line', async function () {
    await helper.load(nodes, flow({ senderCvr: '123', senderSystemUuid: 'x' }), creds());
    const sp = helper.getNode('sp') as unknown as ServiceplatformConfig;
    assert.equal(sp.configError, 'serviceplatform: sender CVR must be 8 digits; sender IT-system must be a UUID');
    assert.throws(() => sp.transport(), /sender CVR/);
  });

  it('"test connection" asks FordelingsmodtagerList with the deployed configuration', async function () {
    await helper.load(nodes, flow(), creds());
    const res = await helper.request().post('/os2-serviceplatform/sp/test').send({ routingCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' }).expect(200);
    assert.equal(res.body.ok, true);
    assert.equal(res.body.systems[0].systemName, 'KP – Ekstern Test');
    assert.ok(!/PRIVATE|BEGIN/.test(JSON.stringify(res.body)));
    const bad = await helper.request().post('/os2-serviceplatform/sp/test').send({ kle: 'x' }).expect(400);
    assert.match(bad.body.error, /KLE/);
    await helper.request().post('/os2-serviceplatform/nope/test').send({}).expect(404);
  });

  it('"test connection" shows the reason when the platform refuses the certificate', async function () {
    await helper.load(nodes, flow(), { ...creds(), c1: { keyPem: certs.otherClient.key, certPem: certs.otherClient.cert } });
    const res = await helper.request().post('/os2-serviceplatform/sp/test').send({ routingCvr: '14814833', kle: '32.03.12' }).expect(200);
    assert.equal(res.body.ok, false);
    assert.match(res.body.error, /TLS|Network error/);
  });
});
