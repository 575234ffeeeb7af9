/**
 * Authentication of remote-post requests: a shared secret in a header, or an HMAC-SHA256 signature of the raw body.
 * Both compare in constant time (crypto.timingSafeEqual on equal-length values).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

function sha256(v: string | Buffer): Buffer {
  return createHash('sha256').update(v).digest();
}

/**
 * True when the header value `presented` equals `secret`. Compares SHA-256 digests so lengths are always equal and never leak.
 * Node reads header bytes as latin1, so they are turned back into bytes that way and compared with the secret's UTF-8 bytes
 * (a non-ASCII secret sent as UTF-8 still matches).
 */
export function verifySharedSecret(presented: string | undefined, secret: string): boolean {
  if (typeof presented !== 'string' || presented.length === 0 || secret.length === 0) return false;
  return timingSafeEqual(sha256(Buffer.from(presented, 'latin1')), sha256(Buffer.from(secret, 'utf8')));
}

/** The hex HMAC-SHA256 of `body` with `secret` (what a sender puts in the signature header). */
export function hmacHex(body: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** True when `presented` (hex, optionally prefixed `sha256=`) is the HMAC-SHA256 of `body` with `secret`. */
export function verifyHmac(body: Buffer, presented: string | undefined, secret: string): boolean {
  if (typeof presented !== 'string' || secret.length === 0) return false;
  const hex = presented.trim().replace(/^sha256=/i, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
}
