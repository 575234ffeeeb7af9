/**
 * Reads a PKCS#12 (P12/PFX) file into PEM without a third-party library.
 * Supports what current tools write (OpenSSL 3, Windows "AES256-SHA256"): PBES2 with PBKDF2 and AES-CBC,
 * and unencrypted SafeContents. Legacy PBE (pbeWithSHAAnd3-KeyTripleDES-CBC, RC2-40 ...) is refused with a
 * message that explains how to re-export the file.
 */
import { createDecipheriv, createPrivateKey, pbkdf2Sync, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { Asn1Error, expect, integer, octets, oid, parseAsn1, TAG, type Asn1Node } from './der';

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
} as const;

const PRF: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const CIPHERS: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
};

/** PKCS#12 PBE (pkcs-12PbeIds) and PKCS#5 v1 PBE algorithms: what `openssl pkcs12 -legacy` and old Windows/OCES exports use. */
const LEGACY_PREFIXES = ['1.2.840.113549.1.12.1.', '1.2.840.113549.1.5.'];

export const REEXPORT_HINT =
  'Re-export it with modern encryption (AES-256): openssl pkcs12 -legacy -in old.p12 -nodes | openssl pkcs12 -export -out new.p12 ' +
  '(add -legacy to the first command only when OpenSSL 3 refuses to read the old file)';

export class CertificateError extends Error {
  constructor(
    message: string,
    readonly reason: 'format' | 'passphrase' | 'legacy' | 'no-key' | 'no-certificate' | 'mismatch',
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

export interface Pkcs12Contents {
  key: KeyObject;
  certificates: X509Certificate[];
}

/** Parses a PKCS#12 file; throws CertificateError with one clear line on any problem. */
export function readPkcs12(pfx: Buffer, passphrase = ''): Pkcs12Contents {
  let safes: Asn1Node[];
  try {
    safes = authenticatedSafe(pfx);
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    throw new CertificateError(`The file is not a PKCS#12 (P12/PFX) file: ${(err as Error).message}`, 'format');
  }
  // Detect legacy encryption before anything else: Node's TLS (OpenSSL 3 without the legacy provider) cannot use it.
  const legacy = findLegacyAlgorithm(pfx);
  if (legacy) {
    throw new CertificateError(`The P12 file uses legacy encryption (${legacy}) that Node.js cannot read. ${REEXPORT_HINT}`, 'legacy');
  }
  try {
    createSecureContext({ pfx, passphrase });
  } catch (err) {
    const m = String((err as Error).message);
    if (/mac verify|bad decrypt|invalid password/i.test(m)) throw new CertificateError('Wrong passphrase for the P12 file', 'passphrase');
    if (/unsupported/i.test(m)) throw new CertificateError(`The P12 file uses encryption that Node.js cannot read. ${REEXPORT_HINT}`, 'legacy');
    // Other failures (e.g. no key in the file) are reported below with more precision.
  }

  const keys: KeyObject[] = [];
  const certificates: X509Certificate[] = [];
  for (const info of safes) {
    const type = oid(info.children[0]);
    const content = expect(info.children[1], TAG.CTX0, 'ContentInfo content').children[0];
    let safeContents: Buffer;
    if (type === OID.data) safeContents = octets(expect(content, TAG.OCTET_STRING, 'data'));
    else if (type === OID.encryptedData) safeContents = decryptEncryptedData(content, passphrase);
    else throw new CertificateError(`The P12 file uses an unsupported content type (${type})`, 'format');
    for (const bag of parseAsn1(safeContents).children) {
      const bagId = oid(bag.children[0]);
      const value = expect(bag.children[1], TAG.CTX0, 'SafeBag value').children[0];
      if (bagId === OID.shroudedKeyBag) keys.push(privateKey(value.raw, passphrase));
      else if (bagId === OID.keyBag) keys.push(createPrivateKey({ key: value.raw, format: 'der', type: 'pkcs8' }));
      else if (bagId === OID.certBag) {
        if (oid(value.children[0]) !== OID.x509Certificate) continue;
        const der = octets(expect(expect(value.children[1], TAG.CTX0, 'certValue').children[0], TAG.OCTET_STRING, 'certValue'));
        certificates.push(new X509Certificate(der));
      }
    }
  }
  if (!keys.length) throw new CertificateError('The P12 file contains no private key', 'no-key');
  if (keys.length > 1) throw new CertificateError('The P12 file contains more than one private key; export only the system certificate', 'format');
  if (!certificates.length) throw new CertificateError('The P12 file contains no certificate', 'no-certificate');
  return { key: keys[0], certificates };
}

function authenticatedSafe(pfx: Buffer): Asn1Node[] {
  const root = expect(parseAsn1(pfx), TAG.SEQUENCE, 'PFX');
  if (integer(root.children[0]) !== 3) throw new Asn1Error('PFX version is not 3');
  const authSafe = expect(root.children[1], TAG.SEQUENCE, 'authSafe');
  if (oid(authSafe.children[0]) !== OID.data) throw new CertificateError('Public-key-protected P12 files are not supported', 'format');
  const data = octets(expect(expect(authSafe.children[1], TAG.CTX0, 'authSafe content').children[0], TAG.OCTET_STRING, 'authSafe data'));
  return expect(parseAsn1(data), TAG.SEQUENCE, 'AuthenticatedSafe').children;
}

/** Finds a legacy PBE algorithm identifier anywhere in the file (cheap scan of OIDs in the structure). */
function findLegacyAlgorithm(pfx: Buffer): string | undefined {
  let found: string | undefined;
  const visit = (n: Asn1Node, depth: number): void => {
    if (found || depth > 40) return;
    if (n.tag === TAG.OID) {
      const o = oid(n);
      if (LEGACY_PREFIXES.some((p) => o.startsWith(p)) && o !== OID.pbes2 && o !== OID.pbkdf2) found = legacyName(o);
      return;
    }
    if (n.constructed) for (const c of n.children) visit(c, depth + 1);
    else if (n.tag === TAG.OCTET_STRING && n.value.length && n.value[0] === TAG.SEQUENCE) {
      // Nested DER inside OCTET STRINGs (authSafe, data SafeContents).
      try {
        visit(parseAsn1(n.value), depth + 1);
      } catch {
        /* not DER: ciphertext or a plain value */
      }
    }
  };
  visit(parseAsn1(pfx), 0);
  return found;
}

function legacyName(o: string): string {
  const names: Record<string, string> = {
    '1.2.840.113549.1.12.1.1': 'pbeWithSHAAnd128BitRC4',
    '1.2.840.113549.1.12.1.2': 'pbeWithSHAAnd40BitRC4',
    '1.2.840.113549.1.12.1.3': 'pbeWithSHAAnd3-KeyTripleDES-CBC',
    '1.2.840.113549.1.12.1.4': 'pbeWithSHAAnd2-KeyTripleDES-CBC',
    '1.2.840.113549.1.12.1.5': 'pbeWithSHAAnd128BitRC2-CBC',
    '1.2.840.113549.1.12.1.6': 'pbeWithSHAAnd40BitRC2-CBC',
  };
  return names[o] ?? `PBE ${o}`;
}

function decryptEncryptedData(content: Asn1Node, passphrase: string): Buffer {
  const encryptedData = expect(content, TAG.SEQUENCE, 'EncryptedData');
  const eci = expect(encryptedData.children[1], TAG.SEQUENCE, 'EncryptedContentInfo');
  const algorithm = expect(eci.children[1], TAG.SEQUENCE, 'contentEncryptionAlgorithm');
  const body = eci.children[2];
  if (!body || (body.tag !== TAG.CTX0_PRIMITIVE && body.tag !== TAG.CTX0)) throw new CertificateError('The P12 file has an empty encrypted part', 'format');
  const ciphertext = body.constructed ? octets(body) : body.value;
  return pbes2Decrypt(algorithm, ciphertext, passphrase);
}

function pbes2Decrypt(algorithm: Asn1Node, ciphertext: Buffer, passphrase: string): Buffer {
  const algOid = oid(algorithm.children[0]);
  if (algOid !== OID.pbes2) {
    throw new CertificateError(`The P12 file uses legacy encryption (${legacyName(algOid)}) that Node.js cannot read. ${REEXPORT_HINT}`, 'legacy');
  }
  const params = expect(algorithm.children[1], TAG.SEQUENCE, 'PBES2 parameters');
  const kdf = expect(params.children[0], TAG.SEQUENCE, 'PBES2 key derivation');
  if (oid(kdf.children[0]) !== OID.pbkdf2) throw new CertificateError('The P12 file uses an unsupported key derivation (only PBKDF2)', 'format');
  const kdfParams = expect(kdf.children[1], TAG.SEQUENCE, 'PBKDF2 parameters');
  const salt = octets(expect(kdfParams.children[0], TAG.OCTET_STRING, 'PBKDF2 salt'));
  const iterations = integer(kdfParams.children[1]);
  let digest = 'sha1';
  for (const extra of kdfParams.children.slice(2)) {
    if (extra.tag === TAG.SEQUENCE) {
      const prf = PRF[oid(extra.children[0])];
      if (!prf) throw new CertificateError('The P12 file uses an unsupported PBKDF2 hash', 'format');
      digest = prf;
    }
  }
  const scheme = expect(params.children[1], TAG.SEQUENCE, 'PBES2 encryption scheme');
  const cipher = CIPHERS[oid(scheme.children[0])];
  if (!cipher) throw new CertificateError(`The P12 file uses an unsupported cipher (${oid(scheme.children[0])}). ${REEXPORT_HINT}`, 'legacy');
  const iv = octets(expect(scheme.children[1], TAG.OCTET_STRING, 'cipher IV'));
  if (iterations > 10_000_000) throw new CertificateError('The P12 file asks for an unreasonable PBKDF2 iteration count', 'format');
  const key = pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, iterations, cipher.keyLength, digest);
  try {
    const d = createDecipheriv(cipher.name, key, iv);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch {
    throw new CertificateError('Wrong passphrase for the P12 file', 'passphrase');
  }
}

function privateKey(encryptedPrivateKeyInfo: Buffer, passphrase: string): KeyObject {
  try {
    return createPrivateKey({ key: encryptedPrivateKeyInfo, format: 'der', type: 'pkcs8', passphrase });
  } catch (err) {
    const m = String((err as Error).message);
    if (/unsupported/i.test(m)) throw new CertificateError(`The P12 file's key uses encryption that Node.js cannot read. ${REEXPORT_HINT}`, 'legacy');
    throw new CertificateError('Wrong passphrase for the P12 file', 'passphrase');
  }
}
