import * as http from 'http';
import * as https from 'https';
import type { SigningKey, Pins } from '../signing/keys';
import { WST } from './constants';
import { buildIssueRequest } from './request';
import { parseIssueResponse, StsError, type IssuedToken } from './response';

export interface StsClientOptions {
  stsUrl: string;
  appliesTo: string;
  cvr: string;
  key: SigningKey;
  /** Pinned STS signing certificate(s); strongly recommended. */
  stsPins?: Pins | string | string[];
  /** Extra CA certificates for the STS's TLS server certificate (custom environments, tests). */
  ca?: string[];
  timeoutMs?: number;
  /** Largest answer accepted (default 2 MB). */
  maxBytes?: number;
}

/** POSTs the signed Issue request (SOAP 1.2) and returns the issued token. Errors are StsError with one clear line. */
export function requestToken(opts: StsClientOptions): Promise<IssuedToken> {
  const body = buildIssueRequest(opts.key, { stsUrl: opts.stsUrl, appliesTo: opts.appliesTo, cvr: opts.cvr });
  const url = new URL(opts.stsUrl);
  const maxBytes = opts.maxBytes ?? 2 * 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise<IssuedToken>((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': `application/soap+xml; charset=utf-8; action="${WST.issueAction}"`,
          'content-length': Buffer.byteLength(body),
        },
        ...(url.protocol === 'https:' && opts.ca ? { ca: opts.ca } : {}),
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy(new StsError(`the STS answer is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            const status = res.statusCode ?? 0;
            if (status >= 400 && !/Fault/.test(text)) throw new StsError(`the STS answered HTTP ${status}`);
            resolve(parseIssueResponse(text, { stsPins: opts.stsPins }));
          } catch (err) {
            reject(err instanceof StsError ? err : new StsError(`the STS answer could not be read: ${(err as Error).message}`));
          }
        });
        res.on('error', (err) => reject(new StsError(`the STS answer broke off: ${err.message}`)));
      },
    );
    req.on('timeout', () => req.destroy(new StsError(`the STS did not answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof StsError ? err : new StsError(`the STS could not be reached: ${err.message}`)));
    req.end(body);
  });
}
