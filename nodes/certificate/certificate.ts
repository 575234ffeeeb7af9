/**
 * `os2-certificate` config node: the IT-system's organisation certificate (FOCES/OCES "system" certificate)
 * as a P12/PFX with passphrase, or as PEM key + certificate — credentials only. The key material is read once
 * at deploy into PEM (lib/certificate); `configError` holds one clear line when it cannot be read.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { CertificateError, loadCertificate, validityWarning } from '../../lib/certificate/certificate';
import type { CertificateConfig, CertificateInfo, CertificateSource, KeyMaterial } from '../../lib/certificate/types';

interface Creds {
  p12?: string;
  p12Passphrase?: string;
  keyPem?: string;
  certPem?: string;
  keyPassphrase?: string;
}

/** The editor shows this in place of a stored password credential. */
const STORED = '__PWRD__';

/** The source for the chosen format: credentials of the other format (left over from a switch) are ignored. */
function source(c: Creds | undefined, format?: string): CertificateSource {
  if (format === 'pem') return { keyPem: c?.keyPem, certPem: c?.certPem, keyPassphrase: c?.keyPassphrase };
  if (format === 'p12') return { p12Base64: c?.p12, p12Passphrase: c?.p12Passphrase };
  return { p12Base64: c?.p12, p12Passphrase: c?.p12Passphrase, keyPem: c?.keyPem, certPem: c?.certPem, keyPassphrase: c?.keyPassphrase };
}

export = function (RED: NodeAPI) {
  function CertificateNode(this: Node<Record<keyof Creds, unknown>>, config: NodeDef & { format?: string }) {
    RED.nodes.createNode(this, config);
    const self = this as unknown as { configError?: string; info?: CertificateConfig['info']; keyMaterial: CertificateConfig['keyMaterial'] };
    let material: KeyMaterial | undefined;
    try {
      const loaded = loadCertificate(source(this.credentials as Creds, config.format));
      material = loaded.material;
      self.info = loaded.info;
      const warning = validityWarning(loaded.info);
      if (warning) this.warn(`certificate: ${warning}`);
    } catch (err) {
      self.configError = `certificate: ${err instanceof CertificateError ? err.message : 'cannot be read: ' + (err as Error).message}`;
      this.error(self.configError);
    }
    self.keyMaterial = () => {
      if (!material) throw new Error(self.configError ?? 'certificate: not loaded');
      return material;
    };
  }

  RED.nodes.registerType('os2-certificate', CertificateNode, {
    credentials: {
      p12: { type: 'password' },
      p12Passphrase: { type: 'password' },
      keyPem: { type: 'password' },
      certPem: { type: 'text' },
      keyPassphrase: { type: 'password' },
    },
  });

  // Info for the dialog: the browser sends what it just picked (and/or the node id for stored credentials).
  // Answers subject, issuer, CVR, serial, validity, fingerprint and a warning; never key material.
  RED.httpAdmin.post('/os2-certificate/info', RED.auth.needsPermission('os2-certificate.read'), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Creds & { id?: string; format?: string };
    const stored = (body.id && typeof body.id === 'string' ? (RED.nodes.getCredentials(body.id) as Creds | undefined) : undefined) ?? {};
    const pick = (k: keyof Creds): string | undefined => {
      const v = body[k];
      if (typeof v === 'string' && v !== STORED && v !== '') return v;
      return v === '' && k !== 'p12' && k !== 'keyPem' && k !== 'certPem' ? '' : stored[k];
    };
    const creds: Creds = {
      p12: pick('p12'),
      p12Passphrase: pick('p12Passphrase'),
      keyPem: pick('keyPem'),
      certPem: pick('certPem'),
      keyPassphrase: pick('keyPassphrase'),
    };
    // A new P12 in the body means the PEM fields are not used, and vice versa.
    if (typeof body.p12 === 'string' && body.p12 && body.p12 !== STORED) creds.keyPem = creds.certPem = undefined;
    else if (typeof body.keyPem === 'string' && body.keyPem && body.keyPem !== STORED) creds.p12 = undefined;
    try {
      const { info, chain } = loadCertificate(source(creds, body.format));
      const answer: CertificateInfo & { warning?: string; chain: number } = { ...info, chain: chain.length };
      const warning = validityWarning(info);
      if (warning) answer.warning = warning;
      res.json(answer);
    } catch (err) {
      res.status(400).json({ error: err instanceof CertificateError ? err.message : 'The certificate cannot be read' });
    }
  });
};
