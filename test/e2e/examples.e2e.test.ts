// Examples 05 and 06 work as imported, once a certificate is chosen and the environment variables are set.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import helper from 'node-red-node-test-helper';
import { createSimulator, type Simulator } from '../../simulator';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { NODES, serveHttpNode, until } from './harness';

/* eslint-disable @typescript-eslint/no-require-imports */
const CORE = ['common/20-inject.js', 'function/10-function.js', 'common/90-comment.js'].map((f) => require(`@node-red/nodes/core/${f}`));

type FlowNode = Record<string, unknown> & { id: string; type: string; name?: string };
const example = (name: string): FlowNode[] => JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', `${name}.json`), 'utf8'));

describe('examples 05 and 06 against the simulator', function () {
  this.timeout(30000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  const env = ['OS2_SERVICEPLATFORM_URL', 'OS2_SENDER_CVR', 'OS2_SENDER_SYSTEM_UUID'];
  before(async function () {
    this.timeout(60000);
    certs = await testCerts();
    sim = await createSimulator({ certs, technicalReceiptDelayMs: 5, businessReceiptDelayMs: 20 });
    process.env.OS2_SERVICEPLATFORM_URL = sim.url;
    process.env.OS2_SENDER_CVR = certs.client.cvr;
    process.env.OS2_SENDER_SYSTEM_UUID = 'a0b1c2d3-0000-4000-8000-000000000001';
  });
  after(async () => {
    for (const k of env) delete process.env[k];
    await sim.close();
  });
  afterEach(() => helper.unload());

  it('contain no credentials', function () {
    for (const f of ['05 - Deliver to the Fordelingskomponent', '06 - Receive receipts']) {
      const nodes = example(f);
      assert.ok(
        nodes.every((n) => !('credentials' in n)),
        `${f}: credentials`,
      );
      assert.ok(!/-----BEGIN|PRIVATE KEY/.test(JSON.stringify(nodes)), `${f}: key material`);
      const sp = nodes.find((n) => n.type === 'os2-serviceplatform');
      if (sp)
        assert.deepEqual([sp.baseUrl, sp.senderCvr, sp.senderSystemUuid], ['${OS2_SERVICEPLATFORM_URL}', '${OS2_SENDER_CVR}', '${OS2_SENDER_SYSTEM_UUID}']);
    }
  });

  it('deliver a JOURNALPOST, ask FordelingsmodtagerList, and show its receipts', async function () {
    const flow = [...example('05 - Deliver to the Fordelingskomponent'), ...example('06 - Receive receipts')].map((n) => {
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
        // the example uses a custom URL: trust the simulator's CA
        [sp.id]: { ca: certs.ca.cert },
      } as never,
    );
    const srv = await serveHttpNode();
    try {
      sim.receipt = { url: `${srv.url}/os2/fordeling/kvittering` };
      // by node id: both examples have a debug node named "accepted"
      const seen: Record<string, Array<Record<string, any>>> = {};
      for (const h of flow.filter((n) => n.type === 'helper')) {
        seen[h.id] = [];
        helper.getNode(h.id).on('input', (m: Record<string, any>) => seen[h.id].push(m));
      }
      const debugOf = (file: string, name: string) => flow.find((n) => n.type === 'helper' && n.name === name && n.id.startsWith(file))!.id;
      const [delivered, failed, receipts] = [debugOf('e05', 'accepted'), debugOf('e05', 'failed'), debugOf('e06', 'accepted')];
      const injects = flow.filter((n) => n.type === 'inject');
      helper.getNode(injects.find((n) => /JOURNALPOST/.test(String(n.name)))!.id).receive({} as never);
      await until(() => seen[delivered].length === 1 || seen[failed].length === 1, 15000, 'delivery');
      assert.equal(seen[failed].length, 0, JSON.stringify(seen[failed][0]?.error));
      const tx = seen[delivered][0].transactionId;
      assert.match(tx, /^[0-9a-f-]{36}$/);
      await until(() => seen[receipts].filter((m) => m.transactionId === tx).length === 2, 15000, 'two receipts');
      assert.deepEqual(seen[receipts].map((m) => m.payload.receipt.code).sort(), ['ACCEPTERET', 'MODTAGET']);
      helper.getNode(injects.find((n) => /who receives/.test(String(n.name)))!.id).receive({} as never);
      await until(() => seen[delivered].length === 2, 15000, 'FordelingsmodtagerList answer');
      assert.equal(seen[delivered][1].payload[0].systemName, 'KP – Ekstern Test');
    } finally {
      await srv.close();
    }
  });
});
