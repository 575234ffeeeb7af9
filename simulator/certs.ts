/**
 * Test certificates for the simulator and the tests, made with the `openssl` CLI at run time
 * (no private key is ever committed):
 * - a test CA, a server certificate for 127.0.0.1/localhost,
 * - a client ("system"/FOCES-like) certificate whose subject carries the CVR the way OCES system certificates do
 *   (`serialNumber=CVR:<cvr>-UID:<uid>`, O, CN), as PEM, as encrypted PEM key, as P12 (AES-256) and, when the
 *   local OpenSSL can, as a legacy (RC2/3DES) P12,
 * - a certificate that expires within 30 days (same CA),
 * - a client certificate with the same subject from ANOTHER CA (must be refused),
 * - the simulated STS's signing certificate (token model: it signs the SAML assertions it issues).
 */
import { execFile } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

export const TEST_CLIENT_CVR = '12345678';
export const TEST_P12_PASSPHRASE = 'test-passphrase';

export interface CertFiles {
  keyPath: string;
  certPath: string;
  key: string;
  cert: string;
}

export interface SimulatorCerts {
  dir: string;
  ca: CertFiles;
  server: CertFiles;
  client: CertFiles & {
    cvr: string;
    /** AES-256 PKCS#12 of key + cert + CA, passphrase `p12Passphrase`. */
    p12Path: string;
    /** The same key, PEM-encrypted (AES-256) with `p12Passphrase`. */
    encryptedKeyPath: string;
    /** RC2/3DES PKCS#12 (`openssl pkcs12 -legacy`), when the local OpenSSL supports it. */
    legacyP12Path?: string;
    p12Passphrase: string;
  };
  /** Valid client certificate from the test CA that expires in 10 days. */
  expiringClient: CertFiles;
  otherCa: CertFiles;
  /** Client certificate with the same subject, issued by otherCa: the simulator must refuse it. */
  otherClient: CertFiles;
  /** Signing key of the simulated STS (SAML assertions); clients pin its certificate. */
  sts: CertFiles;
}

export interface GenerateOptions {
  /** CVR in the client certificate's subject (default 12345678). */
  cvr?: string;
  /** Organisation name in the client certificate (default Testkommune). */
  organisation?: string;
  /** Reuse certificates already in dir (and valid for at least a week) instead of making new ones. */
  reuse?: boolean;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 60_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: string };
    if (e.code === 'ENOENT') throw new Error('The openssl command is needed to make test certificates, and it was not found on PATH');
    throw new Error(
      `openssl ${args[0]} failed: ${
        String(e.stderr ?? e.message)
          .trim()
          .split('\n')[0]
      }`,
    );
  }
}

function files(dir: string, name: string): CertFiles {
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.crt`);
  return { keyPath, certPath, key: '', cert: '' };
}

function load(f: CertFiles): CertFiles {
  return { ...f, key: fs.readFileSync(f.keyPath, 'utf8'), cert: fs.readFileSync(f.certPath, 'utf8') };
}

async function makeCa(dir: string, name: string, cn: string): Promise<CertFiles> {
  const f = files(dir, name);
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-sha256',
      '-nodes',
      '-keyout',
      f.keyPath,
      '-out',
      f.certPath,
      '-days',
      '365',
      '-subj',
      `/C=DK/O=Test/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return f;
}

async function makeLeaf(dir: string, name: string, ca: CertFiles, subject: string, ext: string, days: number): Promise<CertFiles> {
  const f = files(dir, name);
  const csr = path.join(dir, `${name}.csr`);
  const extFile = path.join(dir, `${name}.ext`);
  fs.writeFileSync(extFile, `[v3]\n${ext}\n`);
  await openssl(['req', '-new', '-newkey', 'rsa:2048', '-sha256', '-nodes', '-keyout', f.keyPath, '-out', csr, '-subj', subject], dir);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.certPath,
      '-CAkey',
      ca.keyPath,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-out',
      f.certPath,
      '-days',
      String(days),
      '-sha256',
      '-extfile',
      extFile,
      '-extensions',
      'v3',
    ],
    dir,
  );
  fs.rmSync(csr, { force: true });
  fs.rmSync(extFile, { force: true });
  return f;
}

const CLIENT_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth';
const STS_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature';
const SERVER_EXT =
  'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost';

function stillValid(certPath: string): boolean {
  try {
    const { X509Certificate } = require('crypto') as typeof import('crypto');
    const c = new X509Certificate(fs.readFileSync(certPath));
    return new Date(c.validTo).getTime() > Date.now() + 7 * 86_400_000;
  } catch {
    return false;
  }
}

function describe(dir: string, cvr: string): SimulatorCerts {
  const legacy = path.join(dir, 'client-legacy.p12');
  return {
    dir,
    ca: load(files(dir, 'ca')),
    server: load(files(dir, 'server')),
    client: {
      ...load(files(dir, 'client')),
      cvr,
      p12Path: path.join(dir, 'client.p12'),
      encryptedKeyPath: path.join(dir, 'client-encrypted.key'),
      legacyP12Path: fs.existsSync(legacy) ? legacy : undefined,
      p12Passphrase: TEST_P12_PASSPHRASE,
    },
    expiringClient: load(files(dir, 'expiring-client')),
    otherCa: load(files(dir, 'other-ca')),
    otherClient: load(files(dir, 'other-client')),
    sts: load(files(dir, 'sts')),
  };
}

/** Makes (or, with reuse, finds) the full set of test certificates in dir. */
export async function generateCerts(dir: string, opts: GenerateOptions = {}): Promise<SimulatorCerts> {
  const cvr = opts.cvr ?? TEST_CLIENT_CVR;
  if (!/^[0-9]{8}$/.test(cvr)) throw new Error(`CVR "${cvr}" must be 8 digits`);
  const org = (opts.organisation ?? 'Testkommune').replace(/[/=]/g, ' ');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const marker = path.join(dir, 'certs.json');
  if (opts.reuse && fs.existsSync(marker)) {
    try {
      const m = JSON.parse(fs.readFileSync(marker, 'utf8')) as { cvr?: string };
      if (m.cvr === cvr && stillValid(path.join(dir, 'client.crt')) && stillValid(path.join(dir, 'server.crt')) && stillValid(path.join(dir, 'sts.crt')))
        return describe(dir, cvr);
    } catch {
      /* make new ones */
    }
  }
  const uid = randomBytes(4).readUInt32BE(0) % 100_000_000;
  const subject = `/C=DK/serialNumber=CVR:${cvr}-UID:${uid}/O=${org}/CN=OS2forms Fordeling (funktionscertifikat)`;

  const [ca, otherCa] = await Promise.all([makeCa(dir, 'ca', 'Serviceplatform Simulator Test CA'), makeCa(dir, 'other-ca', 'Some Other Test CA')]);
  const [, client] = await Promise.all([
    makeLeaf(dir, 'server', ca, '/C=DK/O=Serviceplatform Simulator/CN=localhost', SERVER_EXT, 365),
    makeLeaf(dir, 'client', ca, subject, CLIENT_EXT, 365),
    makeLeaf(dir, 'expiring-client', ca, subject, CLIENT_EXT, 10),
    makeLeaf(dir, 'other-client', otherCa, subject, CLIENT_EXT, 365),
    makeLeaf(dir, 'sts', ca, '/C=DK/O=Serviceplatform Simulator/CN=Simulator STS (token signing)', STS_EXT, 365),
  ]);
  const pass = `pass:${TEST_P12_PASSPHRASE}`;
  await openssl(
    [
      'pkcs12',
      '-export',
      '-inkey',
      client.keyPath,
      '-in',
      client.certPath,
      '-certfile',
      ca.certPath,
      '-out',
      'client.p12',
      '-passout',
      pass,
      '-keypbe',
      'AES-256-CBC',
      '-certpbe',
      'AES-256-CBC',
      '-macalg',
      'sha256',
      '-name',
      'client',
    ],
    dir,
  );
  await openssl(['pkey', '-in', client.keyPath, '-aes256', '-passout', pass, '-out', 'client-encrypted.key'], dir);
  fs.rmSync(path.join(dir, 'client-legacy.p12'), { force: true });
  try {
    await openssl(['pkcs12', '-export', '-legacy', '-inkey', client.keyPath, '-in', client.certPath, '-out', 'client-legacy.p12', '-passout', pass], dir);
  } catch {
    /* this OpenSSL has no legacy provider: legacyP12Path stays undefined */
  }
  for (const f of fs.readdirSync(dir)) if (/\.(key|p12)$/.test(f)) fs.chmodSync(path.join(dir, f), 0o600);
  fs.writeFileSync(marker, JSON.stringify({ cvr, created: new Date().toISOString() }) + '\n');
  return describe(dir, cvr);
}

/** The CVR an OCES-style certificate subject carries (`serialNumber=CVR:<8 digits>-…`, or `CVR:<8>` in O). */
export function cvrFromSubject(subject: string | undefined): string | undefined {
  if (!subject) return undefined;
  const m = /CVR:\s*([0-9]{8})/i.exec(subject);
  return m ? m[1] : undefined;
}
