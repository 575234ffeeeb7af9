/** What the `os2-certificate` config node exposes to other nodes (see docs/interfaces.md). */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** The organisation's CVR from the subject (OCES/FOCES: serialNumber=CVR:xxxxxxxx-UID:...). */
  cvr?: string;
  serialNumber: string;
  /** ISO 8601. */
  validFrom: string;
  /** ISO 8601. */
  validTo: string;
  fingerprint256: string;
}

export interface KeyMaterial {
  keyPem: string;
  certPem: string;
  chainPem: string[];
  passphrase?: string;
}

export interface CertificateConfig {
  /** One clear line when the key material could not be read (not `error`: that is Node's error() method). */
  readonly configError?: string;
  /** Node's error() method on a Node-RED node; kept in the type for older consumers that test `typeof error === 'string'`. */
  readonly error?: unknown;
  readonly info?: CertificateInfo;
  keyMaterial(): KeyMaterial;
}

/** What the user supplies (Node-RED credentials): a P12/PFX as base64, or PEM key + certificate. */
export interface CertificateSource {
  p12Base64?: string;
  p12Passphrase?: string;
  keyPem?: string;
  certPem?: string;
  keyPassphrase?: string;
}
