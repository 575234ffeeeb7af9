// Example 07 (token model) works as imported against the simulator's STS and token endpoint, once a certificate and
// the STS certificate pin are given and the environment variables are set.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import helper from 'node-red-node-test-helper';
import { createSimulator, type Simulator } from '../../simulator';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { NODES, until } from './harness';

/* eslint-disable @typescript-eslint/no-require-imports */
const CORE = ['common/20-inject.js', 'function/10-function.js', 'common/90-comment.js'].map((f) => require(`@node-red/nodes/core/${f}`));

type FlowNode = Record<string, unknown> & { id: string; type: string; name?: string };
const FILE = path.join(__dirname, '..', '..', 'examples', '07 - Deliver with the token model.json');

describe('example 07 (token model) against the simulator', function () {
  this.timeout(30000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  const env = ['OS2_SERVICEPLATFORM_URL', 'OS2_STS_URL', 'OS2_SENDER_CVR', 'OS2_SENDER_SYSTEM_UUID'];
  before(async function () {
    this.timeout(60000);
    certs = await testCerts();
    sim = await createSimulator({ certs });
    process.env.OS2_SERVICEPLATFORM_URL = sim.tokenUrl;
    process.env.OS2_STS_URL = sim.stsUrl;
    process.env.OS2_SENDER_CVR = certs.client.cvr;
    process.env.OS2_SENDER_SYSTEM_UUID = 'a0b1c2d3-0000-4000-8000-000000000001';
  });
  after(async () => {
    for (const k of env) delete process.env[k];
    await sim.close();
  });
  afterEach(() => helper.unload());

  it('has no credentials and uses the token model with ${ENV} endpoints', function () {
    const nodes: FlowNode[] = JSON.parse(fs.readFileSync(FILE, 'utf8'));
    assert.ok(nodes.every((n) => !('credentials' in n)));
    assert.ok(!/-----BEGIN|PRIVATE KEY/.test(JSON.stringify(nodes)));
    const sp = nodes.find((n) => n.type === 'os2-serviceplatform')!;
    assert.deepEqual([sp.securityModel, sp.baseUrl, sp.stsUrl], ['token', '${OS2_SERVICEPLATFORM_URL}', '${OS2_STS_URL}']);
  });

  it('delivers twice with one STS call and asks FordelingsmodtagerList with the same token', async function () {
    const flow = (JSON.parse(fs.readFileSync(FILE, 'utf8')) as FlowNode[]).map((n) => {
      const c: FlowNode = { ...n };
      if (c.type === 'debug') c.type = 'helper';
      if (!['os2-serviceplatform', 'os2-certificate'].includes(c.type)) c.z = 'tab';
      return c;
    });
    const cert = flow.find((n) => n.type === 'os2-certificate')!;
    const sp = flow.find((n) => n.type === 'os2-serviceplatform')!;
    await helper.load(
      [...CORE, ...NODES],
      [{ id: 'tab', type: 'tab' }, ...flow] as never,
      {
        [cert.id]: { p12: fs.readFileSync(certs.client.p12Path).toString('base64'), p12Passphrase: certs.client.p12Passphrase },
        [sp.id]: { ca: certs.ca.cert, stsPins: fs.readFileSync(certs.sts.certPath, 'utf8') },
      } as never,
    );
    const seen: Record<string, Array<Record<string, any>>> = {};
    for (const h of flow.filter((n) => n.type === 'helper')) {
      seen[h.name!] = [];
      helper.getNode(h.id).on('input', (m: Record<string, any>) => seen[h.name!].push(m));
    }
    const injects = flow.filter((n) => n.type === 'inject');
    const send = injects.find((n) => /JOURNALPOST/.test(String(n.name)))!.id;
    const issued = sim.token.stats.issued;
    helper.getNode(send).receive({} as never);
    await until(() => seen.accepted.length === 1 || seen.failed.length === 1, 15000, 'delivery');
    assert.equal(seen.failed.length, 0, JSON.stringify(seen.failed[0]?.error));
    helper.getNode(send).receive({ submissionId: '7d9f0e1a-2b3c-4d5e-8f60-000000000007' } as never);
    await until(() => seen.accepted.length === 2 || seen.failed.length === 1, 15000, 'second delivery');
    helper.getNode(injects.find((n) => /who receives/.test(String(n.name)))!.id).receive({} as never);
    await until(() => seen.accepted.length === 3 || seen.failed.length === 1, 15000, 'FordelingsmodtagerList');
    assert.equal(seen.failed.length, 0, JSON.stringify(seen.failed[0]?.error));
    assert.equal(seen.accepted[2].payload[0].systemName, 'KP – Ekstern Test');
    assert.equal(sim.token.stats.issued - issued, 1, 'one STS call');
    assert.ok(sim.token.stats.accepted >= 3);
    assert.ok(sim.shipments.has(seen.accepted[0].transactionId));
  });
});
