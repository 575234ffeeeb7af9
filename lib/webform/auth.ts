/**
 * Authentication of remote-post requests: a shared secret in a header, or an HMAC-SHA256 signature — of the raw body
 * alone (the first scheme), or of a timestamp, the request target and the raw body (`signedBytes`), which expires after
 * a window and, remembered by its MAC (replay.ts), is taken once. All compare in constant time
 * (crypto.timingSafeEqual on equal-length values).
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

/** Default name of the header that carries the signing time (Unix seconds) of a timestamped signature. */
export const DEFAULT_TIMESTAMP_HEADER = 'x-webform-timestamp';
/** Default tolerance (seconds) between a timestamp and the receiver's clock, either way. */
export const DEFAULT_WINDOW_S = 300;

/**
 * What a timestamped signature covers: `<timestamp>` LF `<request target>` LF `<raw body>`. The request target is the
 * path and query exactly as on the request line (`/os2forms/submission?operation=completed`), so the state in
 * `?operation=` is signed too. Neither a timestamp (digits) nor a request target (HTTP forbids it) holds an LF, so the
 * three parts cannot be shifted into one another. The target's characters are taken as bytes (latin1), as Node reads
 * the request line.
 */
export function signedBytes(timestamp: string, target: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}\n${target}\n`, 'latin1'), body]);
}

export interface SignedRequest {
  body: Buffer;
  /** The request target as received: path and query. */
  target: string;
  /** The signature header's value (hex, optionally prefixed `sha256=`). */
  signature: string | undefined;
  /** The timestamp header's value (Unix seconds), if sent. */
  timestamp: string | undefined;
}

export interface SignaturePolicy {
  secret: string;
  /** Header names, for the answers. */
  signatureHeader: string;
  timestampHeader: string;
  /** How far (seconds) a timestamp may be from now, either way. */
  windowS: number;
  /** Refuse a signature without a timestamp (else it is checked the old way: HMAC of the body alone). */
  requireTimestamp: boolean;
}

/** `mac` and `expiresAt` only for a timestamped signature: what the replay memory keeps, and until when. */
export type SignatureVerdict = { ok: true; mac?: Buffer; expiresAt?: Date } | { ok: false; reason: string };

/**
 * Checks a signed request. With a timestamp header, the HMAC-SHA256 must be of `signedBytes(…)` and the timestamp
 * within `windowS` of `now`; without one, only when the policy allows it, the HMAC of the body alone (the scheme of
 * earlier versions, which neither expires nor covers the query). The MAC is checked before the time, so a caller
 * without the secret learns nothing about the window.
 */
export function verifySignedRequest(r: SignedRequest, p: SignaturePolicy, now: number = Date.now()): SignatureVerdict {
  if (typeof r.signature !== 'string' || !r.signature) return { ok: false, reason: `missing header ${p.signatureHeader}` };
  const wrong = { ok: false, reason: `wrong HMAC-SHA256 signature in header ${p.signatureHeader}` } as const;
  if (r.timestamp === undefined) {
    if (p.requireTimestamp) return { ok: false, reason: `missing header ${p.timestampHeader} (a timestamp is required)` };
    return verifyHmac(r.body, r.signature, p.secret) ? { ok: true } : wrong;
  }
  const ts = r.timestamp.trim();
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: `header ${p.timestampHeader} is not a time in Unix seconds` };
  const hex = r.signature.trim().replace(/^sha256=/i, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex) || !p.secret) return wrong;
  const mac = createHmac('sha256', p.secret)
    .update(signedBytes(ts, r.target, r.body))
    .digest();
  if (!timingSafeEqual(Buffer.from(hex, 'hex'), mac)) return wrong;
  const off = Math.round(now / 1000 - Number(ts));
  if (Math.abs(off) > p.windowS) {
    return {
      ok: false,
      reason: `timestamp in header ${p.timestampHeader} is ${Math.abs(off)} s ${off > 0 ? 'old' : 'in the future'} (allowed ±${p.windowS} s)`,
    };
  }
  return { ok: true, mac, expiresAt: new Date((Number(ts) + p.windowS) * 1000) };
}
