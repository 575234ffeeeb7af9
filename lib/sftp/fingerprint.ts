import { createHash } from 'crypto';

/** The SHA-256 fingerprint of an SSH public key blob, as OpenSSH prints it: `SHA256:<base64 without padding>`. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/**
 * Normalises a configured fingerprint: accepts `SHA256:xxx` (as ssh-keygen -l / ssh print it), bare base64, with or
 * without padding, with surrounding blanks. Returns undefined for something that is not a SHA-256 fingerprint.
 */
export function normaliseFingerprint(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let s = String(value).trim();
  if (/^sha256:/i.test(s)) s = s.slice(7);
  s = s.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]{43}$/.test(s)) return undefined;
  return `SHA256:${s}`;
}
