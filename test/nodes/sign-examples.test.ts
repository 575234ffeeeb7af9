// The three "04 - Sign XML" example flows: importable, no credentials in them, and they work once a certificate is added.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import helper from 'node-red-node-test-helper';
import signNode from '../../nodes/sign/sign';
import certificateNode from '../../nodes/certificate/certificate';
import { verifyXmlSignature } from '../../lib/signing/verify';
import { makeTestKey, removeTestKeys, type TestKey } from '../lib/signing/test-keys';

/* eslint-disable @typescript-eslint/no-require-imports */
const injectNode = require('@node-red/nodes/core/common/20-inject.js');
const templateNode = require('@node-red/nodes/core/function/80-template.js');
const commentNode = require('@node-red/nodes/core/common/90-comment.js');

type FlowNode = Record<string, unknown> & { id: string; type: string; wires?: string[][] };

function example(mode: string): FlowNode[] {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', `04 - Sign XML (${mode}).json`), 'utf8'));
}

describe('examples: 04 - Sign XML', function () {
  this.timeout(30000);
  let key: TestKey;
  before(() => {
    key = makeTestKey('OS2 example signer');
  });
  afterEach(() => helper.unload());
  after(() => removeTestKeys());

  /** Loads an example with the test certificate; debug nodes become helper nodes so the test sees what they would show. */
  async function run(flow: FlowNode[], patch: (n: FlowNode) => void = () => {}): Promise<Record<string, Record<string, unknown>>> {
    const cert = flow.find((n) => n.type === 'os2-certificate')!;
    const nodes = flow.map((n) => {
      const copy: FlowNode = { ...n };
      if (copy.type === 'debug') copy.type = 'helper';
      if (copy.type !== 'os2-certificate') copy.z = 'tab';
      patch(copy);
      return copy;
    });
    await helper.load(
      [injectNode, templateNode, commentNode, certificateNode, signNode],
      [{ id: 'tab', type: 'tab' }, ...nodes] as never,
      {
        [cert.id]: { keyPem: key.keyPem, certPem: key.certPem },
      } as never,
    );
    const outputs: Record<string, Record<string, unknown>> = {};
    const helpers = nodes.filter((n) => n.type === 'helper');
    const first = new Promise<void>((resolve) => {
      for (const h of helpers)
        helper.getNode(h.id).on('input', (m: Record<string, unknown>) => {
          outputs[String(h.name)] = m;
          resolve();
        });
    });
    helper.getNode(flow.find((n) => n.type === 'inject')!.id).receive({} as never);
    await first;
    return outputs;
  }

  it('contain no credentials and the certificate node has none', () => {
    for (const mode of ['enveloped', 'WS-Security', 'verify']) {
      const flow = example(mode);
      assert.ok(Array.isArray(flow));
      assert.ok(
        flow.every((n) => !('credentials' in n)),
        mode,
      );
      assert.ok(!JSON.stringify(flow).includes('PRIVATE KEY'), mode);
      assert.equal(flow.filter((n) => n.type === 'os2-sign').length, mode === 'verify' ? 2 : 1);
    }
  });

  it('enveloped: signs the template document', async () => {
    const out = await run(example('enveloped'));
    const r = verifyXmlSignature(String(out['signed XML'].payload), { pins: key.certPem });
    assert.equal(r.valid, true, r.reason);
    assert.match(r.signedElement!, /Din ansøgning er modtaget/);
  });

  it('WS-Security: signs the template envelope', async () => {
    const out = await run(example('WS-Security'));
    const r = verifyXmlSignature(String(out['signed envelope'].payload), { pins: key.certPem, requiredHeaders: ['Framework'] });
    assert.equal(r.valid, true, r.reason);
  });

  it('verify: with the certificate pinned the message leaves the valid output', async () => {
    const fp = new X509Certificate(key.certPem).fingerprint256;
    const out = await run(example('verify'), (n) => {
      if (n.type === 'os2-sign' && n.mode === 'verify') n.pins = `${n.pins}${fp}\n`;
    });
    assert.deepEqual(Object.keys(out), ['valid: signed element']);
    assert.match(String(out['valid: signed element'].signedElement), /Aarhus Kommune/);
  });
});
