/** Reading a request body ourselves (Node-RED's httpNode parses none), with a byte limit and clear HTTP errors. */
import type { IncomingMessage } from 'node:http';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads the whole body into a Buffer; rejects with HttpError 413 beyond `limit` bytes (checked on Content-Length first). */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = () => new HttpError(413, `body larger than the limit of ${limit} bytes`);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume(); // drain so the connection can answer
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(new HttpError(400, `could not read body: ${err.message}`));
      }
    });
  });
}

/** The media type of a Content-Type header, lower-case, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The charset parameter of a Content-Type header (default utf-8). Only utf-8 is supported. */
export function charset(header: string | undefined): string {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(header ?? '');
  return (m?.[1] ?? 'utf-8').toLowerCase();
}
