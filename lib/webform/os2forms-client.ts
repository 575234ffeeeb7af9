/**
 * A small client for the OS2forms REST API (Drupal Webform REST + Key auth): GET with the `api-key` header and a timeout.
 * The key is only ever sent to the site's own origin.
 */
import { Readable } from 'node:stream';

export class Os2formsHttpError extends Error {
  override name = 'Os2formsHttpError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface Os2formsClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  /** Largest response accepted (default 50 MB). */
  maxBytes?: number;
}

export interface Os2formsGetter {
  /** GET `pathOrUrl` (relative to the base URL, or absolute on the same origin) → body bytes; throws on non-2xx, timeout, or foreign origin. */
  get(pathOrUrl: string): Promise<{ status: number; contentType: string; body: Buffer }>;
  getJson(pathOrUrl: string): Promise<unknown>;
  /** GET `pathOrUrl` as a stream (large files: never held whole in memory); same checks as get() except the size cap. */
  open?(pathOrUrl: string): Promise<Readable>;
  readonly baseUrl: string;
}

export class Os2formsClient implements Os2formsGetter {
  readonly baseUrl: string;
  private readonly origin: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(opts: Os2formsClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.baseUrl);
    } catch {
      throw new Os2formsHttpError(`base URL "${opts.baseUrl}" is not a URL`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Os2formsHttpError('base URL must be http(s)');
    this.baseUrl = u.href.replace(/\/+$/, '');
    this.origin = u.origin;
    this.apiKey = opts.apiKey;
    this.timeoutMs = opts.timeoutMs ?? 30000;
    this.maxBytes = opts.maxBytes ?? 50 * 1024 * 1024;
  }

  /** Resolves a path or URL against the base URL; refuses other origins so the API key never leaves the site. */
  resolve(pathOrUrl: string): URL {
    const u = /^https?:\/\//i.test(pathOrUrl) ? new URL(pathOrUrl) : new URL(this.baseUrl + (pathOrUrl.startsWith('/') ? '' : '/') + pathOrUrl);
    if (u.origin !== this.origin) throw new Os2formsHttpError(`refusing to send the API key to ${u.origin} (site is ${this.origin})`);
    return u;
  }

  /** GET with the API key; resolves once a 2xx answer's headers are in. `signal` bounds the request (and the body read). */
  private async fetchOk(pathOrUrl: string, accept: string, signal: AbortSignal): Promise<{ url: URL; res: Response }> {
    const url = this.resolve(pathOrUrl);
    let res: Response;
    try {
      res = await fetch(url, { headers: { 'api-key': this.apiKey, accept }, signal, redirect: 'manual' });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? `timed out after ${this.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new Os2formsHttpError(`GET ${url.pathname} failed: ${why}`);
    }
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => undefined);
      const hint = res.status === 401 || res.status === 403 ? " (check the API key and the form's API user allow-list)" : '';
      throw new Os2formsHttpError(`GET ${url.pathname} answered HTTP ${res.status}${hint}`, res.status);
    }
    return { url, res };
  }

  async open(pathOrUrl: string): Promise<Readable> {
    // The timeout covers the answer's headers only: a large file may stream for longer (a stall fails the reader).
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), this.timeoutMs);
    let got: { url: URL; res: Response };
    try {
      got = await this.fetchOk(pathOrUrl, '*/*', ctl.signal);
    } finally {
      clearTimeout(timer);
    }
    const { url, res } = got;
    if (!res.body) throw new Os2formsHttpError(`GET ${url.pathname} answered no body`);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }

  async get(pathOrUrl: string): Promise<{ status: number; contentType: string; body: Buffer }> {
    const { url, res } = await this.fetchOk(pathOrUrl, 'application/json, */*', AbortSignal.timeout(this.timeoutMs));
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new Os2formsHttpError(`GET ${url.pathname}: response larger than ${this.maxBytes} bytes`);
    }
    let body: Buffer;
    try {
      body = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      throw new Os2formsHttpError(`GET ${url.pathname} failed while reading: ${(err as Error).message}`);
    }
    if (body.length > this.maxBytes) throw new Os2formsHttpError(`GET ${url.pathname}: response larger than ${this.maxBytes} bytes`);
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body };
  }

  async getJson(pathOrUrl: string): Promise<unknown> {
    const { body } = await this.get(pathOrUrl);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new Os2formsHttpError(`GET ${this.resolve(pathOrUrl).pathname} did not answer JSON`);
    }
  }
}

/** What the `os2-os2forms-site` config node exposes (RED.nodes.getNode(id)). */
export interface Os2formsSite {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** One clear line when the site is not usable as configured. */
  readonly configError?: string;
  /** A client for this site; throws Error(configError) when misconfigured. */
  client(): Os2formsGetter;
}
