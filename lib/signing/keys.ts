import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'crypto';

/** What the `os2-certificate` config node hands out (see docs/interfaces.md). */
export interface KeyMaterial {
  keyPem: string;
  certPem: string;
  chainPem?: string[];
  passphrase?: string;
}

/** A parsed signing key: done once (per node, per worker), not per message. */
export interface SigningKey {
  /** The private key (RSA). */
  privateKey: KeyObject;
  /** Leaf certificate as PEM. */
  certPem: string;
  /** Leaf certificate as base64 DER (one line), as X509Certificate / BinarySecurityToken carry it. */
  certBase64: string;
  certificate: X509Certificate;
}

export class SigningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigningError';
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits a text into its PEM certificate blocks. */
export function pemCertificates(text: string): string[] {
  return String(text ?? '').match(PEM_CERT) ?? [];
}

/** Base64 DER of a certificate, without whitespace. */
export function certificateBase64(cert: X509Certificate): string {
  return cert.raw.toString('base64');
}

/** PEM text of a DER certificate given as base64 (whitespace allowed). */
export function base64ToPem(base64: string): string {
  const clean = base64.replace(/\s+/g, '');
  const lines = clean.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Lower-case hex SHA-256 fingerprint without separators. */
export function fingerprintOf(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

/**
 * Parses and checks key material once: the private key (decrypting it with the passphrase if given), the leaf
 * certificate, and that the two belong together.
 */
export function loadSigningKey(material: KeyMaterial): SigningKey {
  if (!material || typeof material.keyPem !== 'string' || typeof material.certPem !== 'string') {
    throw new SigningError('key material must have keyPem and certPem');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: material.keyPem, format: 'pem', passphrase: material.passphrase });
  } catch (err) {
    throw new SigningError(`the private key could not be read: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new SigningError(`the private key is ${privateKey.asymmetricKeyType}, but RSA-SHA256 signing needs an RSA key`);
  }
  const pems = pemCertificates(material.certPem);
  if (!pems.length) throw new SigningError('certPem contains no PEM certificate');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pems[0]);
  } catch (err) {
    throw new SigningError(`the certificate could not be read: ${(err as Error).message}`);
  }
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromCert = certificate.publicKey.export({ type: 'spki', format: 'der' });
  if (!fromKey.equals(fromCert)) throw new SigningError('the certificate does not belong to the private key');
  return { privateKey, certPem: certificate.toString(), certBase64: certificateBase64(certificate), certificate };
}

/** Certificates a verifier trusts: full PEM certificates and/or SHA-256 fingerprints. */
export interface Pins {
  certificates: X509Certificate[];
  fingerprints: Set<string>;
}

/**
 * Reads pinned certificates from PEM text and/or SHA-256 fingerprints (hex, colons/spaces allowed, one per line or
 * separated by commas). Throws on anything it does not understand, so a typo is not silently "no pins".
 */
export function parsePins(input: string | string[] | undefined): Pins {
  const text = Array.isArray(input) ? input.join('\n') : String(input ?? '');
  const certificates: X509Certificate[] = [];
  const fingerprints = new Set<string>();
  for (const pem of pemCertificates(text)) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      throw new SigningError(`a pinned certificate could not be read: ${(err as Error).message}`);
    }
    certificates.push(cert);
    fingerprints.add(fingerprintOf(cert));
  }
  const rest = text.replace(PEM_CERT, '\n');
  const entries = rest.split('\n').flatMap((l) => l.replace(/#.*$/, '').split(/[,;]/));
  for (const raw of entries) {
    const line = raw.trim();
    if (!line) continue;
    const hex = line
      .replace(/^sha-?256[:=\s]*/i, '')
      .replace(/[:\s]/g, '')
      .toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      throw new SigningError(`"${line.slice(0, 80)}" is neither a PEM certificate nor a SHA-256 fingerprint`);
    }
    fingerprints.add(hex);
  }
  return { certificates, fingerprints };
}
