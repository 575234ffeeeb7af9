import { strict as assert } from 'assert';
import * as fs from 'fs';
import { createSecureContext } from 'tls';
import { X509Certificate } from 'crypto';
import { CertificateError, cvrFromSubject, loadCertificate, validityWarning } from '../../../lib/certificate/certificate';
import { testCerts, type SimulatorCerts } from '../../support/certs';

function b64(p: string): string {
  return fs.readFileSync(p).toString('base64');
}

function expectCertError(fn: () => unknown, reason: CertificateError['reason'], pattern: RegExp): CertificateError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CertificateError, `expected CertificateError, got ${(err as Error).message}`);
    assert.equal(err.reason, reason);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err;
  }
  assert.fail('expected an error');
}

describe('lib/certificate', function () {
  let certs: SimulatorCerts;
  before(async function () {
    this.timeout(60000);
    certs = await testCerts();
  });

  it('reads an AES-256 P12 into PEM key, leaf certificate and chain, with CVR and validity', function () {
    const r = loadCertificate({ p12Base64: b64(certs.client.p12Path), p12Passphrase: certs.client.p12Passphrase });
    assert.equal(r.info.cvr, certs.client.cvr);
    assert.match(r.info.subject, /CVR:\d{8}-UID/);
    assert.match(r.info.issuer, /Serviceplatform Simulator Test CA/);
    assert.equal(r.material.chainPem.length, 1, 'the CA from -certfile is the chain');
    const leaf = new X509Certificate(r.material.certPem);
    assert.equal(leaf.fingerprint256, new X509Certificate(certs.client.cert).fingerprint256);
    assert.equal(r.info.fingerprint256, leaf.fingerprint256);
    assert.ok(Date.parse(r.info.validTo) > Date.now());
    assert.match(r.material.keyPem, /BEGIN PRIVATE KEY/);
    // usable by TLS as is
    createSecureContext({ key: r.material.keyPem, cert: r.material.certPem });
  });

  it('accepts the P12 as base64 with line breaks or a data: URL prefix', function () {
    const text = 'data:application/x-pkcs12;base64,' + b64(certs.client.p12Path).replace(/(.{64})/g, '$1\n');
    const r = loadCertificate({ p12Base64: text, p12Passphrase: certs.client.p12Passphrase });
    assert.equal(r.info.cvr, certs.client.cvr);
  });

  it('says "wrong passphrase" in one line for a wrong P12 passphrase', function () {
    expectCertError(
      () => loadCertificate({ p12Base64: b64(certs.client.p12Path), p12Passphrase: 'nope' }),
      'passphrase',
      /^Wrong passphrase for the P12 file$/,
    );
  });

  it('explains how to re-export a legacy (RC2/3DES) P12', function () {
    assert.ok(certs.client.legacyP12Path, 'the test OpenSSL must be able to make a legacy P12');
    const e = expectCertError(
      () => loadCertificate({ p12Base64: b64(certs.client.legacyP12Path as string), p12Passphrase: certs.client.p12Passphrase }),
      'legacy',
      /legacy encryption/,
    );
    assert.match(e.message, /openssl pkcs12 .* \| openssl pkcs12 -export -out new\.p12/);
    assert.match(e.message, /AES-256/);
  });

  it('refuses a file that is not PKCS#12', function () {
    expectCertError(() => loadCertificate({ p12Base64: Buffer.from('hello world, not a p12').toString('base64') }), 'format', /not a PKCS#12/);
    expectCertError(() => loadCertificate({ p12Base64: '***' }), 'format', /base64/);
  });

  it('reads PEM key + certificate, also an encrypted key with its passphrase', function () {
    const plain = loadCertificate({ keyPem: certs.client.key, certPem: certs.client.cert + certs.ca.cert });
    assert.equal(plain.info.cvr, certs.client.cvr);
    assert.equal(plain.material.chainPem.length, 1);
    const enc = fs.readFileSync(certs.client.encryptedKeyPath, 'utf8');
    const r = loadCertificate({ keyPem: enc, certPem: certs.client.cert, keyPassphrase: certs.client.p12Passphrase });
    assert.equal(r.info.fingerprint256, plain.info.fingerprint256);
    expectCertError(() => loadCertificate({ keyPem: enc, certPem: certs.client.cert, keyPassphrase: 'wrong' }), 'passphrase', /passphrase/);
  });

  it('refuses a key that does not belong to the certificate', function () {
    expectCertError(() => loadCertificate({ keyPem: certs.client.key, certPem: certs.otherCa.cert }), 'mismatch', /does not belong/);
  });

  it('warns when the certificate expires within 30 days', function () {
    const soon = loadCertificate({ keyPem: certs.expiringClient.key, certPem: certs.expiringClient.cert });
    assert.match(validityWarning(soon.info) ?? '', /expires in \d+ day/);
    const ok = loadCertificate({ keyPem: certs.client.key, certPem: certs.client.cert });
    assert.equal(validityWarning(ok.info), undefined);
    assert.match(validityWarning(ok.info, new Date(Date.parse(ok.info.validTo) + 1000)) ?? '', /expired/);
  });

  it('finds the CVR in OCES/FOCES subjects', function () {
    assert.equal(cvrFromSubject('C=DK\nserialNumber=CVR:29189846-UID:1234\nO=Kommune'), '29189846');
    assert.equal(cvrFromSubject('O=Kommune // CVR:29189846'), '29189846');
    assert.equal(cvrFromSubject('CN=no cvr here 123456789'), undefined);
  });
});
