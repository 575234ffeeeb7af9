import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { CertificateError, readPkcs12 } from './pkcs12';
import type { CertificateInfo, CertificateSource, KeyMaterial } from './types';

export { CertificateError, REEXPORT_HINT } from './pkcs12';

export interface LoadedCertificate {
  material: KeyMaterial;
  info: CertificateInfo;
  /** Every certificate after the leaf. */
  chain: X509Certificate[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Reads a certificate source (P12 or PEM) into PEM key material and readable info.
 * The private key is decrypted once and kept in memory only. Throws CertificateError with one clear line.
 */
export function loadCertificate(src: CertificateSource): LoadedCertificate {
  let key: KeyObject;
  let certs: X509Certificate[];
  const p12 = (src.p12Base64 ?? '').trim();
  if (p12) {
    const der = decodeBase64(p12);
    ({ key, certificates: certs } = readPkcs12(der, src.p12Passphrase ?? ''));
  } else if ((src.keyPem ?? '').trim() || (src.certPem ?? '').trim()) {
    if (!(src.keyPem ?? '').trim()) throw new CertificateError('The PEM private key is missing', 'no-key');
    if (!(src.certPem ?? '').trim()) throw new CertificateError('The PEM certificate is missing', 'no-certificate');
    key = pemKey(src.keyPem as string, src.keyPassphrase);
    certs = pemCertificates(src.certPem as string);
  } else {
    throw new CertificateError('No certificate given: choose a P12/PFX file or a PEM key and certificate', 'format');
  }
  const leafIndex = certs.findIndex((c) => c.checkPrivateKey(key));
  if (leafIndex < 0) throw new CertificateError('The private key does not belong to any of the certificates', 'mismatch');
  const leaf = certs[leafIndex];
  const chain = certs.filter((_, i) => i !== leafIndex);
  return {
    material: {
      keyPem: key.export({ format: 'pem', type: 'pkcs8' }) as string,
      certPem: leaf.toString(),
      chainPem: chain.map((c) => c.toString()),
    },
    info: certificateInfo(leaf),
    chain,
  };
}

export function certificateInfo(cert: X509Certificate): CertificateInfo {
  const subject = cert.subject.split('\n').join(', ');
  return {
    subject,
    issuer: cert.issuer.split('\n').join(', '),
    cvr: cvrFromSubject(cert.subject),
    serialNumber: cert.serialNumber,
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}

/** The CVR in an OCES/FOCES subject: `serialNumber=CVR:12345678-UID:…` (or `CVR:12345678` anywhere). */
export function cvrFromSubject(subject: string): string | undefined {
  const m = /CVR:\s*([0-9]{8})(?![0-9])/i.exec(subject);
  return m ? m[1] : undefined;
}

/** Days until the certificate expires (negative when expired). */
export function daysLeft(info: CertificateInfo, now = new Date()): number {
  return Math.floor((Date.parse(info.validTo) - now.getTime()) / DAY_MS);
}

/** A warning line when the certificate is expired, not yet valid, or expires within `days` days. */
export function validityWarning(info: CertificateInfo, now = new Date(), days = 30): string | undefined {
  if (Date.parse(info.validFrom) > now.getTime()) return `The certificate is not valid before ${info.validFrom}`;
  const left = daysLeft(info, now);
  if (Date.parse(info.validTo) < now.getTime()) return `The certificate expired on ${info.validTo}`;
  if (left < days) return `The certificate expires in ${left} day(s), on ${info.validTo}`;
  return undefined;
}

function decodeBase64(text: string): Buffer {
  const clean = text.replace(/^data:[^,]*,/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || !clean.length) throw new CertificateError('The P12 file is not valid base64 text', 'format');
  return Buffer.from(clean, 'base64');
}

function pemKey(pem: string, passphrase?: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase: passphrase || undefined });
  } catch (err) {
    const m = String((err as Error).message);
    if (/passphrase|bad decrypt|interrupted or cancelled/i.test(m))
      throw new CertificateError('Wrong or missing passphrase for the PEM private key', 'passphrase');
    throw new CertificateError('The PEM private key cannot be read', 'format');
  }
}

function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!blocks) throw new CertificateError('The PEM certificate text contains no certificate', 'no-certificate');
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch {
    throw new CertificateError('The PEM certificate cannot be read', 'format');
  }
}
