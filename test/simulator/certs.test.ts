import * as assert from 'assert';
import { execFileSync } from 'child_process';
import { createPrivateKey, X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tls from 'tls';
import { cvrFromSubject, testCerts, TEST_CLIENT_CVR, type SimulatorCerts } from '../support/certs';

describe('test certificates', function () {
  this.timeout(30_000);
  let c: SimulatorCerts;
  before(async () => {
    c = await testCerts();
  });

  it('are made once per process', async () => {
    assert.strictEqual(await testCerts(), c);
  });

  it('client certificate carries the CVR like an OCES system certificate and is issued by the test CA', () => {
    const cert = new X509Certificate(c.client.cert);
    assert.match(cert.subject, new RegExp(`serialNumber=CVR:${TEST_CLIENT_CVR}-UID:\\d+`));
    assert.match(cert.subject, /O=Testkommune/);
    assert.strictEqual(cvrFromSubject(cert.subject), TEST_CLIENT_CVR);
    assert.ok(cert.checkIssued(new X509Certificate(c.ca.cert)));
    assert.ok(cert.checkPrivateKey(createPrivateKey(c.client.key)));
  });

  it('the other client certificate has the same subject but another issuer', () => {
    const other = new X509Certificate(c.otherClient.cert);
    assert.strictEqual(other.subject, new X509Certificate(c.client.cert).subject);
    assert.ok(!other.checkIssued(new X509Certificate(c.ca.cert)));
    assert.ok(other.checkIssued(new X509Certificate(c.otherCa.cert)));
  });

  it('server certificate is valid for 127.0.0.1 and localhost', () => {
    const s = new X509Certificate(c.server.cert);
    assert.strictEqual(s.checkIP('127.0.0.1'), '127.0.0.1');
    assert.strictEqual(s.checkHost('localhost'), 'localhost');
  });

  it('the AES-256 P12 and the encrypted PEM key open with the passphrase; the expiring one expires within 30 days', () => {
    tls.createSecureContext({ pfx: fs.readFileSync(c.client.p12Path), passphrase: c.client.p12Passphrase });
    assert.throws(() => tls.createSecureContext({ pfx: fs.readFileSync(c.client.p12Path), passphrase: 'wrong' }));
    createPrivateKey({ key: fs.readFileSync(c.client.encryptedKeyPath), passphrase: c.client.p12Passphrase });
    const days = (new Date(new X509Certificate(c.expiringClient.cert).validTo).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 5 && days < 30, `${days}`);
  });

  it('the legacy P12 (when this OpenSSL can make one) is what Node TLS refuses', function () {
    if (!c.client.legacyP12Path) {
      // The CLI may lack the legacy provider; then there is nothing to check (documented in simulator/certs.ts).
      assert.ok(!fs.existsSync(path.join(c.dir, 'client-legacy.p12')));
      return;
    }
    assert.throws(
      () => tls.createSecureContext({ pfx: fs.readFileSync(c.client.legacyP12Path!), passphrase: c.client.p12Passphrase }),
      /Unsupported PKCS12|mac verify|unsupported/i,
    );
  });

  it('no private key is committed to the repository', () => {
    const root = path.resolve(__dirname, '..', '..');
    let hits = '';
    try {
      hits = execFileSync('git', ['grep', '-l', '-I', '-e', 'BEGIN .*PRIVATE KEY-----$', '--', '.'], { cwd: root, encoding: 'utf8' });
    } catch {
      hits = ''; // git grep exits 1 when nothing matches
    }
    assert.strictEqual(hits.trim(), '');
  });
});
