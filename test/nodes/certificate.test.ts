import { strict as assert } from 'assert';
import * as fs from 'fs';
import helper from 'node-red-node-test-helper';
import certificateNode from '../../nodes/certificate/certificate';
import type { CertificateConfig } from '../../lib/certificate/types';
import { testCerts, type SimulatorCerts } from '../support/certs';

type CertNode = CertificateConfig;

describe('os2-certificate config node', function () {
  let certs: SimulatorCerts;
  let p12: string;
  before(async function () {
    this.timeout(60000);
    certs = await testCerts();
    p12 = fs.readFileSync(certs.client.p12Path).toString('base64');
  });
  afterEach(() => helper.unload());

  const flow = [{ id: 'c1', type: 'os2-certificate', name: 'system' }];

  it('reads a P12 with its passphrase and exposes info and PEM key material', async function () {
    await helper.load(certificateNode, flow, { c1: { p12, p12Passphrase: certs.client.p12Passphrase } });
    const n = helper.getNode('c1') as unknown as CertNode;
    assert.equal(n.configError, undefined);
    assert.equal(n.info?.cvr, certs.client.cvr);
    const km = n.keyMaterial();
    assert.match(km.keyPem, /BEGIN PRIVATE KEY/);
    assert.match(km.certPem, /BEGIN CERTIFICATE/);
    assert.equal(km.chainPem.length, 1);
  });

  it('reads PEM key + certificate credentials (encrypted key with passphrase)', async function () {
    const keyPem = fs.readFileSync(certs.client.encryptedKeyPath, 'utf8');
    await helper.load(certificateNode, flow, { c1: { keyPem, certPem: certs.client.cert, keyPassphrase: certs.client.p12Passphrase } });
    const n = helper.getNode('c1') as unknown as CertNode;
    assert.equal(n.configError, undefined);
    assert.equal(n.info?.cvr, certs.client.cvr);
  });

  it('reports a wrong passphrase as one clear line at deploy', async function () {
    await helper.load(certificateNode, flow, { c1: { p12, p12Passphrase: 'wrong' } });
    const n = helper.getNode('c1') as unknown as CertNode;
    assert.equal(n.configError, 'certificate: Wrong passphrase for the P12 file');
    assert.throws(() => n.keyMaterial(), /Wrong passphrase/);
    const logged = helper.log().args.filter((a: unknown[]) => (a[0] as { level?: number }).level === 20);
    assert.ok(
      logged.some((a: unknown[]) => /Wrong passphrase/.test(String((a[0] as { msg?: unknown }).msg))),
      'node.error at deploy',
    );
  });

  it('tells how to re-export a legacy P12', async function () {
    const legacy = fs.readFileSync(certs.client.legacyP12Path as string).toString('base64');
    await helper.load(certificateNode, flow, { c1: { p12: legacy, p12Passphrase: certs.client.p12Passphrase } });
    const n = helper.getNode('c1') as unknown as CertNode;
    assert.match(n.configError ?? '', /legacy encryption .*openssl pkcs12 .*-export -out new\.p12/);
  });

  it('uses only the credentials of the chosen format (a P12 left over from a switch to PEM is ignored)', async function () {
    await helper.load(certificateNode, [{ id: 'c1', type: 'os2-certificate', format: 'pem' }] as never, {
      c1: { p12, p12Passphrase: 'stale', keyPem: certs.expiringClient.key, certPem: certs.expiringClient.cert },
    });
    const n = helper.getNode('c1') as unknown as CertNode;
    assert.equal(n.configError, undefined);
    assert.equal(n.info?.fingerprint256, new (require('crypto').X509Certificate)(certs.expiringClient.cert).fingerprint256);
  });

  it('reports missing credentials', async function () {
    await helper.load(certificateNode, flow, {});
    const n = helper.getNode('c1') as unknown as CertNode;
    assert.match(n.configError ?? '', /No certificate given/);
  });

  describe('POST /os2-certificate/info', function () {
    it('shows subject, CVR, issuer, validity and fingerprint of a picked file, never key material', async function () {
      await helper.load(certificateNode, flow, {});
      const res = await helper.request().post('/os2-certificate/info').send({ p12, p12Passphrase: certs.client.p12Passphrase }).expect(200);
      assert.equal(res.body.cvr, certs.client.cvr);
      assert.match(res.body.subject, /CVR:/);
      assert.match(res.body.issuer, /Test CA/);
      assert.ok(res.body.validFrom && res.body.validTo && res.body.fingerprint256);
      assert.equal(res.body.warning, undefined);
      assert.ok(!/PRIVATE KEY|BEGIN/.test(JSON.stringify(res.body)));
    });

    it('uses the stored credentials of a node id (password placeholder), and warns when it expires soon', async function () {
      await helper.load(certificateNode, flow, { c1: { keyPem: certs.expiringClient.key, certPem: certs.expiringClient.cert } });
      const res = await helper.request().post('/os2-certificate/info').send({ id: 'c1', keyPem: '__PWRD__' }).expect(200);
      assert.equal(res.body.cvr, certs.client.cvr);
      assert.match(res.body.warning, /expires in \d+ day/);
    });

    it('answers 400 with one line for a wrong passphrase', async function () {
      await helper.load(certificateNode, flow, {});
      const res = await helper.request().post('/os2-certificate/info').send({ p12, p12Passphrase: 'x' }).expect(400);
      assert.deepEqual(res.body, { error: 'Wrong passphrase for the P12 file' });
    });
  });
});
