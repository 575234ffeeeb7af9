// The routing check (lib/delivery/deliver.ts checkRouting, validateReceivers) against the simulator, whose
// FordelingsmodtagerValider answer is itself checked against the official contract XSD.
import { strict as assert } from 'node:assert';
import { XMLSerializer } from '@xmldom/xmldom';
import { checkRouting, serviceUrl, validateReceivers } from '../../../lib/delivery/deliver';
import { SoapTransport } from '../../../lib/delivery/soap-transport';
import { buildModtagerValiderRequest } from '../../../lib/sf2900/modtager-list';
import { SOAP_ACTIONS } from '../../../lib/sf2900/namespaces';
import { parseSoapBody, soapEnvelope } from '../../../lib/sf2900/soap';
import { DEFAULT_RECEIVERS, type Simulator } from '../../../simulator';
import type { SimulatorCerts } from '../../support/certs';
import { useSimulator } from '../../support/platform';
import { msgXsd } from '../sf2900/fixtures';

describe('routing check against the simulator', function () {
  this.timeout(20_000);
  let sim: Simulator;
  let certs: SimulatorCerts;
  useSimulator((p) => ({ sim, certs } = p));
  let transport: SoapTransport;
  const ctx = () => ({
    endpoint: { baseUrl: sim.url, senderCvr: certs.client.cvr, senderSystemUuid: 'a0b1c2d3-0000-4000-8000-000000000001', timeoutMs: 5000 },
    transport,
  });
  beforeEach(() => {
    transport = new SoapTransport({ keyPem: certs.client.key, certPem: certs.client.cert, ca: [certs.ca.cert], timeoutMs: 5000 });
  });
  afterEach(() => transport.close());
  const [kp, esdh] = DEFAULT_RECEIVERS;

  it("the simulator's FordelingsmodtagerValider request and answer conform to the contract (DistributionServiceMsg.xsd)", async () => {
    const schema = await msgXsd();
    const request = buildModtagerValiderRequest({
      senderCvr: certs.client.cvr,
      routings: [
        { routingCvr: kp.authorityCvr, receivingSystemUuid: kp.systemUuid },
        { routingCvr: '29189846', receivingSystemUuid: esdh.systemUuid },
      ],
    });
    assert.deepEqual(schema.validate(request).errors, []);
    const res = await transport.post(serviceUrl(sim.url), SOAP_ACTIONS.modtagerValider, soapEnvelope(request), 5000);
    assert.equal(res.status, 200, res.body);
    const answer = new XMLSerializer().serializeToString(parseSoapBody(res.body) as never);
    assert.match(answer, /FordelingsmodtagerValiderResponse/);
    assert.deepEqual(schema.validate(answer).errors, []);
    assert.deepEqual(
      (await validateReceivers({ routings: [{ routingCvr: kp.authorityCvr, receivingSystemUuid: kp.systemUuid }] }, ctx())).map((r) => r.canReceive),
      [true],
    );
  });

  it('KLE routing with a facet no receiver has: not deliverable, and the reason names KLE, facet and authority', async () => {
    const r = await checkRouting({ routingCvr: kp.authorityCvr, kle: kp.kle, handlingFacet: 'G02' }, ctx());
    assert.deepEqual(r, {
      deliverable: false,
      receivers: [],
      reason: `No system receives KLE ${kp.kle} with handling facet G02 for authority ${kp.authorityCvr}`,
    });
    const any = await checkRouting({ routingCvr: esdh.authorityCvr, kle: '01.02.03' }, ctx());
    assert.equal(any.deliverable, true, 'a receiver for every KLE subject');
    assert.equal(any.reason, `Would be delivered to ${esdh.systemName} (${esdh.systemUuid})`);
  });
});
