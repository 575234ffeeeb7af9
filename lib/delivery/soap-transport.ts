/**
 * SOAP 1.1 over HTTPS with node:https: one keep-alive Agent per endpoint configuration (TLS client certificate, CA),
 * socket and overall timeouts, a response size cap. No Node-RED dependency.
 */
import https from 'node:https';
import http from 'node:http';
import { URL } from 'node:url';
import { classifyHttpStatus, classifyNetworkError, DeliveryError } from './errors';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/**
 * How long an idle keep-alive connection is kept. Node's agent (v20, `keepSocketAlive`) honours a server's
 * `Keep-Alive: timeout=N` answer header, closing 1 s before it, only when the agent has a timeout of its own; without
 * one an idle connection stays until the server closes it, and a send that takes it just then fails with "socket hang
 * up" (ECONNRESET) and waits for a retry. Node's and Apache's servers close idle connections after 5 s; 4 s stays
 * under that for a server that gives no hint. A connection that idles longer is opened again (one TLS handshake).
 */
export const DEFAULT_IDLE_SOCKET_MS = 4_000;

export interface TransportOptions {
  /** PEM private key and certificate (mutual TLS). */
  keyPem?: string;
  certPem?: string;
  /** Extra CA certificates to trust (custom environment); replaces the default roots when given. */
  ca?: string[];
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Extra certificate chain (intermediates) sent with the client certificate. */
  chainPem?: string[];
  /** Closes a keep-alive connection idle this long (ms; default DEFAULT_IDLE_SOCKET_MS), sooner when the server says so. */
  idleSocketMs?: number;
}

export interface SoapResponse {
  status: number;
  statusMessage?: string;
  contentType?: string;
  body: string;
}

export class SoapTransport {
  private readonly agent: https.Agent;
  readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(opts: TransportOptions = {}) {
    this.timeoutMs = opts.timeoutMs && opts.timeoutMs > 0 ? opts.timeoutMs : DEFAULT_TIMEOUT_MS;
    this.maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const cert = opts.certPem ? [opts.certPem, ...(opts.chainPem ?? [])].join('\n') : undefined;
    // timeout: the idle limit of a kept connection (each request sets its own while it runs, below)
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 16,
      timeout: opts.idleSocketMs && opts.idleSocketMs > 0 ? opts.idleSocketMs : DEFAULT_IDLE_SOCKET_MS,
      key: opts.keyPem,
      cert,
      ca: opts.ca && opts.ca.length ? opts.ca : undefined,
    });
  }

  /**
   * POSTs a SOAP 1.1 envelope. Resolves with any HTTP answer (the caller interprets faults and statuses it
   * understands); rejects with a DeliveryError for network errors, timeouts and oversized responses.
   */
  post(url: string, soapAction: string, envelope: string, timeoutMs = this.timeoutMs): Promise<SoapResponse> {
    return new Promise<SoapResponse>((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new DeliveryError({ class: 'permanent', code: 'CONFIG', reason: `Invalid endpoint URL: ${url}`, errors: [] }));
        return;
      }
      const body = Buffer.from(envelope, 'utf8');
      const lib = target.protocol === 'http:' ? http : https;
      let settled = false;
      const finish = (err: DeliveryError | undefined, res?: SoapResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(overall);
        if (err) reject(err);
        else resolve(res as SoapResponse);
      };
      const timeoutError = (): DeliveryError =>
        new DeliveryError({ class: 'transient', code: 'TIMEOUT', reason: `No answer from the Serviceplatform within ${timeoutMs} ms`, errors: [] });
      const req = lib.request(
        target,
        {
          method: 'POST',
          agent: target.protocol === 'http:' ? undefined : this.agent,
          // the request's own socket timeout from the start: else a new connection would keep the agent's idle limit
          // until it is connected, and a slow name lookup or connect would fail at that limit
          timeout: timeoutMs,
          headers: {
            'Content-Type': 'text/xml; charset=utf-8',
            SOAPAction: `"${soapAction}"`,
            'Content-Length': body.length,
            Accept: 'text/xml',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.maxBytes) {
              finish(
                new DeliveryError({
                  class: 'permanent',
                  code: 'TOO_LARGE',
                  reason: `The response exceeds ${this.maxBytes} bytes`,
                  errors: [],
                  httpStatus: res.statusCode,
                }),
              );
              res.destroy();
              req.destroy();
              return;
            }
            chunks.push(c);
          });
          res.on('end', () =>
            finish(undefined, {
              status: res.statusCode ?? 0,
              statusMessage: res.statusMessage,
              contentType: res.headers['content-type'],
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', (e) => finish(new DeliveryError(classifyNetworkError(e as NodeJS.ErrnoException))));
          res.on('aborted', () =>
            finish(new DeliveryError(classifyNetworkError(Object.assign(new Error('connection closed while reading the response'), { code: 'ECONNRESET' })))),
          );
        },
      );
      const overall = setTimeout(() => {
        finish(timeoutError());
        req.destroy();
      }, timeoutMs);
      req.setTimeout(timeoutMs, () => {
        finish(timeoutError());
        req.destroy();
      });
      req.on('error', (e) => finish(new DeliveryError(classifyNetworkError(e as NodeJS.ErrnoException))));
      req.end(body);
    });
  }

  /** Throws the classified DeliveryError for a non-2xx answer that is not a SOAP fault. */
  static httpError(res: SoapResponse): DeliveryError {
    return new DeliveryError(classifyHttpStatus(res.status, res.statusMessage), res.body);
  }

  close(): void {
    this.agent.destroy();
  }
}
