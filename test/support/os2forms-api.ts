/**
 * A local stand-in of the OS2forms REST API (os2forms_rest_api over Drupal Webform REST + Key auth) for tests, shaped
 * after the real modules' source:
 * - GET /webform_rest/{webform}/submissions[?starttime=…&endtime=…] → {webform_id, [starttime], [endtime],
 *   submissions: {sid: url}}: the submissions whose *created* time is ≥ starttime / ≤ endtime, drafts included, no
 *   paging and no defined order (OS2Forms/os2forms_rest_api src/Plugin/rest/resource/WebformAllFormSubmissions.php:
 *   `SELECT sid, uuid FROM webform_submission WHERE webform_id = … AND created >= …`, no ORDER BY; an unreadable time
 *   answers 400). This stand-in answers newest first, so a client cannot lean on an order.
 * - GET /webform_rest/{webform}/submission/{uuid} → {entity: {field: [{value}]}, data: {..., linked: {element: {fid:
 *   {id, url, mime_type, size}}}}} (webform_rest's WebformSubmissionResource::get with os2forms_rest_api's
 *   WebformSubmissionDataEventSubscriber adding `linked`); a draft has in_draft true and no completed time; a deleted
 *   submission answers 404.
 * - GET /system/files/webform/{webform}/{sid}/{name} → the file bytes.
 * Drafts, completion, updates and deletions change a submission as Drupal's WebformSubmission::preSave() does:
 * `changed` moves on every save, `completed` is set when a draft is first saved as completed.
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
  /** Unix seconds; absent for a draft. */
  completed?: number;
  inDraft?: boolean;
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
  readonly requests: { path: string; query?: string; apiKey?: string; status: number }[] = [];
  private server?: http.Server;
  baseUrl = '';

  constructor(readonly apiKey: string) {}

  add(webformId: string, s: FakeSubmission): void {
    const list = this.forms.get(webformId) ?? [];
    list.push(s);
    this.forms.set(webformId, list);
  }

  private find(webformId: string, sid: number): FakeSubmission {
    const s = this.forms.get(webformId)?.find((x) => x.sid === sid);
    if (!s) throw new Error(`no submission ${sid} in ${webformId}`);
    return s;
  }

  /** A draft saved as completed (WebformSubmission::preSave sets `completed` = `changed` = now). */
  complete(webformId: string, sid: number, data: Record<string, unknown>, at = Math.floor(Date.now() / 1000)): void {
    const s = this.find(webformId, sid);
    Object.assign(s, { inDraft: false, completed: at, changed: at, data });
  }

  /** A completed submission saved again (e.g. by staff): `changed` moves on, `completed` stays. */
  update(webformId: string, sid: number, data: Record<string, unknown>, at = Math.floor(Date.now() / 1000)): void {
    Object.assign(this.find(webformId, sid), { changed: at, data });
  }

  /** Deleted: gone from the list and the submission endpoint. */
  remove(webformId: string, sid: number): void {
    const list = this.forms.get(webformId) ?? [];
    this.forms.set(
      webformId,
      list.filter((x) => x.sid !== sid),
    );
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
      this.requests.push({ path: url.pathname, query: url.search.slice(1), apiKey, status });
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
      const bounds: Record<string, number> = {};
      for (const name of ['starttime', 'endtime'] as const) {
        const v = url.searchParams.get(name);
        if (v === null) continue;
        const t = Date.parse(v);
        if (!Number.isFinite(t)) return answer(400, { message: `Invalid ${name}: ${v}` });
        bounds[name] = Math.floor(t / 1000);
      }
      const listed = list
        .filter((s) => (bounds.starttime === undefined || s.created >= bounds.starttime) && (bounds.endtime === undefined || s.created <= bounds.endtime))
        .sort((a, b) => b.sid - a.sid);
      // written by hand: a JS object would put integer keys in ascending order, PHP's json_encode keeps the rows' order
      const entries = listed.map((s) => `${JSON.stringify(String(s.sid))}:${JSON.stringify(`${this.baseUrl}/webform_rest/${webformId}/submission/${s.uuid}`)}`);
      const echo = ['starttime', 'endtime']
        .filter((n) => url.searchParams.has(n))
        .map((n) => `${JSON.stringify(n)}:${JSON.stringify(url.searchParams.get(n))},`);
      const text = `{"webform_id":${JSON.stringify(webformId)},${echo.join('')}"submissions":${listed.length ? `{${entries.join(',')}}` : '[]'}}`;
      return answer(200, Buffer.from(text), 'application/json');
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
          in_draft: [{ value: !!s.inDraft }],
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
