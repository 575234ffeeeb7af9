/**
 * A local stand-in of the OS2forms REST API (Drupal Webform REST + Key auth) for tests:
 * - GET /webform_rest/{webform}/submissions           → {webform_id, submissions: {sid: url}}
 * - GET /webform_rest/{webform}/submission/{uuid}     → {entity: {field: [{value}]}, data: {..., linked: {element: {fid: {id,url,mime_type,size}}}}}
 * - GET /system/files/webform/{webform}/{sid}/{name}  → the file bytes
 * Every request must carry the right `api-key` header (else 403, like Key auth). `mode` simulates outages.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFile {
  element: string;
  fid: string;
  name: string;
  mime: string;
  content: Buffer;
}

export interface FakeSubmission {
  sid: number;
  uuid: string;
  created: number;
  completed?: number;
  changed?: number;
  langcode?: string;
  data: Record<string, unknown>;
  files?: FakeFile[];
}

export type ApiMode = 'ok' | 'error500' | 'reset' | 'fail-submission-fetch';

export class FakeOs2formsApi {
  readonly forms = new Map<string, FakeSubmission[]>();
  mode: ApiMode = 'ok';
  /** Every request path seen, in order (with the api-key it carried). */
  readonly requests: { path: string; apiKey?: string; status: number }[] = [];
  private server?: http.Server;
  baseUrl = '';

  constructor(readonly apiKey: string) {}

  add(webformId: string, s: FakeSubmission): void {
    const list = this.forms.get(webformId) ?? [];
    list.push(s);
    this.forms.set(webformId, list);
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private fileUrl(webformId: string, s: FakeSubmission, f: FakeFile): string {
    return `${this.baseUrl}/system/files/webform/${webformId}/${s.sid}/${encodeURIComponent(f.name)}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const apiKey = req.headers['api-key'] as string | undefined;
    const answer = (status: number, body: unknown, type = 'application/json') => {
      this.requests.push({ path: url.pathname, apiKey, status });
      const buf = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      res.writeHead(status, { 'content-type': type, 'content-length': buf.length });
      res.end(buf);
    };
    if (this.mode === 'reset') {
      this.requests.push({ path: url.pathname, apiKey, status: 0 });
      req.socket.destroy();
      return;
    }
    if (this.mode === 'error500') return answer(500, { message: 'The website encountered an unexpected error.' });
    if (req.method !== 'GET') return answer(405, { message: 'method not allowed' });
    if (apiKey !== this.apiKey) return answer(403, { message: 'Access denied' });

    let m = /^\/webform_rest\/([^/]+)\/submissions$/.exec(url.pathname);
    if (m) {
      const webformId = decodeURIComponent(m[1]!);
      const list = this.forms.get(webformId);
      if (!list) return answer(404, { message: `webform ${webformId} not found` });
      const submissions: Record<string, string> = {};
      for (const s of list) submissions[String(s.sid)] = `${this.baseUrl}/webform_rest/${webformId}/submission/${s.uuid}`;
      return answer(200, { webform_id: webformId, submissions: list.length ? submissions : [] });
    }
    m = /^\/webform_rest\/([^/]+)\/submission\/([^/]+)$/.exec(url.pathname);
    if (m) {
      if (this.mode === 'fail-submission-fetch') return answer(500, { message: 'temporarily broken' });
      const webformId = decodeURIComponent(m[1]!);
      const s = this.forms.get(webformId)?.find((x) => x.uuid === m![2]);
      if (!s) return answer(404, { message: 'submission not found' });
      const linked: Record<string, Record<string, unknown>> = {};
      const data: Record<string, unknown> = { ...s.data };
      for (const f of s.files ?? []) {
        (linked[f.element] ??= {})[f.fid] = { id: f.fid, url: this.fileUrl(webformId, s, f), mime_type: f.mime, size: String(f.content.length) };
        const cur = data[f.element];
        data[f.element] = Array.isArray(cur) ? [...cur, f.fid] : cur === undefined ? [f.fid] : [cur, f.fid];
      }
      data.linked = linked;
      const iso = (t?: number) => (t === undefined ? [] : [{ value: new Date(t * 1000).toISOString().replace('.000Z', '+00:00'), format: 'Y-m-d\\TH:i:sP' }]);
      return answer(200, {
        entity: {
          sid: [{ value: s.sid }],
          serial: [{ value: s.sid }],
          uuid: [{ value: s.uuid }],
          webform_id: [{ target_id: webformId, target_type: 'webform' }],
          created: iso(s.created),
          completed: iso(s.completed),
          changed: iso(s.changed),
          langcode: [{ value: s.langcode ?? 'da' }],
          in_draft: [{ value: false }],
        },
        data,
      });
    }
    m = /^\/system\/files\/webform\/([^/]+)\/(\d+)\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const s = this.forms.get(decodeURIComponent(m[1]!))?.find((x) => String(x.sid) === m![2]);
      const f = s?.files?.find((x) => x.name === decodeURIComponent(m![3]!));
      if (!f) return answer(404, { message: 'file not found' });
      return answer(200, f.content, f.mime);
    }
    return answer(404, { message: 'no route' });
  }
}
