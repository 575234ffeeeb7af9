/**
 * approve's life in a running flow: a message in → waiting in the ledger (lib/approval/approvals.ts) and output 5 with
 * the decision link; the approver's page on Node-RED's HTTP node server (list, item, decision, bulk approve, login),
 * behind ApproverAuth, with CSRF checks and security headers; outcomes out on outputs 1–4 (approved, rejected,
 * expired, reminder). Routes are removed on close (as Node-RED's http in node does).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ApprovalSettings, Approvals, DecisionError, type Outcome } from '../approval/approvals';
import { type AdminLogin, ApproverAuth, type AuthSettings } from '../approval/auth';
import { type Lang, SECURITY_HEADERS, itemPage, langOf, listPage, loginPage, messagePage } from '../approval/page';
import type { ApprovalRecord, Ledger } from '../ledger/types';
import { removeRoute } from './routes';

type Req = IncomingMessage & { params?: Record<string, string>; query?: Record<string, unknown> };
type Res = ServerResponse;
type Send = (msgs: Array<Record<string, unknown> | null>) => void;

export interface ApproveParts {
  node: { id: string; send: Send; status(s: object): void; error(t: string, msg?: unknown): void; warn(t: string): void };
  httpNode: { get(p: string, h: unknown): void; post(p: string, h: unknown): void };
  ledger: Ledger;
  settings: ApprovalSettings;
  auth: AuthSettings;
  /** The page's path on the HTTP node server, e.g. /godkend. */
  path: string;
  /** Node-RED's httpNodeRoot without its trailing slash ('' for /): the page's links, redirects and cookie carry it. */
  root: string;
  /** Public base URL of the page for the decision link (may be empty: the link is then the path alone). */
  publicUrl: string;
  adminLogin?: AdminLogin;
  owner: string;
  pollMs?: number;
}

const PAGE_SIZE = 50;
const MAX_FORM = 256 * 1024;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  // a body parser of the HTTP node server (e.g. one an http in node's route installed) may have read it already
  const parsed = (req as { _body?: boolean; body?: unknown }).body;
  if ((req as { _body?: boolean })._body && parsed !== undefined) {
    if (typeof parsed === 'string' || Buffer.isBuffer(parsed)) return new URLSearchParams(parsed.toString());
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
      for (const x of Array.isArray(v) ? v : [v]) form.append(k, String(x ?? ''));
    }
    return form;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_FORM) throw new DecisionError('the form is too large', 413);
    chunks.push(c as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function answer(res: Res, status: number, html: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS, ...extra });
  res.end(html);
}

export class ApproveRuntime {
  readonly approvals: Approvals;
  private auth?: ApproverAuth;
  private readonly ready: Promise<void>;
  private readonly routes: Array<[string, 'get' | 'post']> = [];

  constructor(private readonly p: ApproveParts) {
    this.approvals = new Approvals(p.ledger, p.settings, {
      owner: p.owner,
      pollMs: p.pollMs,
      events: {
        outcome: (outcome, msg, record) => this.emit(outcome, msg, record),
        reminder: (record) => p.node.send([null, null, null, { topic: 'reminder', payload: record.title, approval: this.summary(record) }, null]),
        error: (err) => p.node.warn(`approve: ${err.message}`),
      },
    });
    this.ready = this.sharedKey().then((key) => {
      this.auth = new ApproverAuth(p.auth, key);
    });
    this.ready.catch((err: Error) => p.node.error(`approve: the ledger cannot be used: ${err.message}`));
    this.mount();
    this.approvals.start();
    void this.refreshStatus();
  }

  /** The key of sessions and CSRF tokens, one per ledger, so any instance accepts a token another one gave. */
  private async sharedKey(): Promise<Buffer> {
    const name = 'approve:key';
    let r = await this.p.ledger.getRecord(name);
    if (!r) {
      await this.p.ledger.putRecord(name, randomBytes(32).toString('hex'), 0);
      r = await this.p.ledger.getRecord(name);
    }
    return Buffer.from(String(r!.value), 'hex');
  }

  link(id: string): string {
    return `${this.p.publicUrl.replace(/\/+$/, '')}${this.p.root}${this.p.path}/item/${id}`;
  }

  private summary(r: ApprovalRecord): Record<string, unknown> {
    return {
      id: r.id,
      state: r.state,
      title: r.title,
      link: this.link(r.id),
      deadline: r.deadlineAt,
      ...(r.decidedBy ? { decidedBy: r.decidedBy, decidedAt: r.decidedAt } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.edits ? { corrected: Object.keys(r.edits) } : {}),
    };
  }

  /** A message in: waiting, and output 5 with the link. */
  async input(msg: Record<string, unknown>, send: Send, done: (err?: Error) => void): Promise<void> {
    try {
      const r = await this.approvals.arrive(msg);
      send([null, null, null, null, { ...msg, approval: this.summary(r) }]);
      done();
      void this.refreshStatus();
    } catch (err) {
      done(new Error(`approve: the message could not be kept for approval: ${(err as Error).message}`));
    }
  }

  private emit(outcome: Outcome, msg: Record<string, unknown>, record: ApprovalRecord): void {
    const out: Array<Record<string, unknown> | null> = [null, null, null, null, null];
    out[outcome === 'approved' ? 0 : outcome === 'rejected' ? 1 : 2] = { ...msg, approval: this.summary(record) };
    this.p.node.send(out);
    void this.refreshStatus();
  }

  private async refreshStatus(): Promise<void> {
    try {
      const n = await this.p.ledger.countApprovals({ queue: this.p.settings.queue, state: 'waiting' });
      this.p.node.status({ fill: n ? 'yellow' : 'green', shape: 'dot', text: `${n} waiting` });
    } catch {
      this.p.node.status({ fill: 'red', shape: 'ring', text: 'ledger not available' });
    }
  }

  private mount(): void {
    const route = this.p.path;
    const base = this.p.root + this.p.path;
    const on = (method: 'get' | 'post', route: string, h: (req: Req, res: Res, lang: Lang) => Promise<void>) => {
      this.routes.push([route, method]);
      this.p.httpNode[method](route, (req: Req, res: Res) => {
        const lang = langOf(req.headers['accept-language']);
        this.ready
          .then(() => h(req, res, lang))
          .catch((err: Error) => {
            const status = err instanceof DecisionError ? err.status : 500;
            if (status === 500) this.p.node.warn(`approve: ${err.message}`);
            answer(res, status, messagePage(lang, String(status), status === 500 ? 'internal error' : err.message, base));
          });
      });
    };
    on('get', route, (req, res, lang) => this.list(req, res, lang));
    on('get', `${route}/`, (req, res, lang) => this.list(req, res, lang));
    on('get', `${route}/item/:id`, async (req, res, lang) => {
      const user = this.user(req, res, lang);
      if (!user) return;
      const item = await this.p.ledger.getApproval(String(req.params?.id));
      if (!item || item.queue !== this.p.settings.queue) return answer(res, 404, messagePage(lang, '404', 'no such item', base));
      answer(res, 200, itemPage({ lang, base, user, csrf: this.auth!.csrfToken(user), item }));
    });
    on('post', `${route}/item/:id`, async (req, res, lang) => {
      const user = this.user(req, res, lang);
      if (!user) return;
      const form = await readForm(req);
      if (!this.auth!.checkPost(req, user, form.get('csrf'))) return answer(res, 403, messagePage(lang, '403', 'CSRF check failed', base));
      const edits: Record<string, string> = {};
      for (const [k, v] of form) if (k.startsWith('edit.')) edits[k.slice(5)] = v;
      const id = String(req.params?.id);
      try {
        const done = await this.approvals.decide(id, user, { decision: form.get('decision'), reason: form.get('reason'), edits });
        answer(res, 200, itemPage({ lang, base, user, csrf: this.auth!.csrfToken(user), item: done }));
      } catch (err) {
        const item = err instanceof DecisionError && err.status === 400 ? await this.p.ledger.getApproval(id) : undefined;
        if (!item) throw err;
        answer(res, 400, itemPage({ lang, base, user, csrf: this.auth!.csrfToken(user), item, error: (err as Error).message }));
      }
    });
    on('post', `${route}/bulk`, async (req, res, lang) => {
      const user = this.user(req, res, lang);
      if (!user) return;
      const form = await readForm(req);
      if (!this.auth!.checkPost(req, user, form.get('csrf'))) return answer(res, 403, messagePage(lang, '403', 'CSRF check failed', base));
      if (form.get('decision') !== 'approve') throw new DecisionError('bulk decisions can only approve', 400);
      let n = 0;
      for (const id of form.getAll('ids').slice(0, 500)) {
        try {
          await this.approvals.decide(id, user, { decision: 'approve' });
          n++;
        } catch (err) {
          if (!(err instanceof DecisionError)) throw err;
        }
      }
      res.writeHead(303, { ...SECURITY_HEADERS, location: `${base}/?approved=${n}` }).end();
    });
    on('get', `${route}/login`, async (_req, res, lang) => answer(res, 200, loginPage({ lang, base, csrf: this.auth!.csrfToken('') })));
    on('post', `${route}/login`, async (req, res, lang) => {
      if (this.p.auth.mode !== 'admin' || !this.p.adminLogin) return answer(res, 404, messagePage(lang, '404', 'not used: the proxy logs users in'));
      const form = await readForm(req);
      if (!this.auth!.checkPost(req, '', form.get('csrf'))) return answer(res, 403, messagePage(lang, '403', 'CSRF check failed', base));
      const user = await this.p.adminLogin(String(form.get('username') ?? ''), String(form.get('password') ?? '')).catch((err: Error) => {
        this.p.node.warn(`approve: Node-RED's login cannot be reached: ${err.message}`);
        return undefined;
      });
      if (!user)
        return answer(
          res,
          401,
          loginPage({
            lang,
            base,
            csrf: this.auth!.csrfToken(''),
            error: lang === 'da' ? 'Forkert login, eller ingen ret til at godkende' : 'Wrong login, or no right to approve',
          }),
        );
      const secure = String(req.headers['x-forwarded-proto'] ?? '').startsWith('https') || !!(req.socket as { encrypted?: boolean }).encrypted;
      res.writeHead(303, { ...SECURITY_HEADERS, 'set-cookie': this.auth!.sessionCookie(user, base, secure), location: `${base}/` }).end();
    });
    on('post', `${route}/logout`, async (_req, res) => {
      res.writeHead(303, { ...SECURITY_HEADERS, 'set-cookie': this.auth!.clearCookie(base), location: `${base}/login` }).end();
    });
  }

  /** The user of the request, or an answer (login form / refusal) sent and undefined. */
  private user(req: Req, res: Res, lang: Lang): string | undefined {
    const who = this.auth!.identify(req);
    if ('user' in who) return who.user;
    if (this.p.auth.mode === 'admin' && who.status === 401 && req.method === 'GET') {
      res.writeHead(303, { ...SECURITY_HEADERS, location: `${this.p.root}${this.p.path}/login` }).end();
    } else answer(res, who.status, messagePage(lang, String(who.status), who.message));
    return undefined;
  }

  private async list(req: Req, res: Res, lang: Lang): Promise<void> {
    const user = this.user(req, res, lang);
    if (!user) return;
    const page = Math.max(1, Math.floor(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page')) || 1));
    const filter = { queue: this.p.settings.queue, state: 'waiting' as const };
    const [items, total] = await Promise.all([
      this.p.ledger.listApprovals({ ...filter, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }),
      this.p.ledger.countApprovals(filter),
    ]);
    answer(res, 200, listPage({ lang, base: this.p.root + this.p.path, user, csrf: this.auth!.csrfToken(user), items, total, page, pageSize: PAGE_SIZE }));
  }

  close(httpNode: unknown): void {
    this.approvals.stop();
    for (const [route, method] of this.routes) removeRoute(httpNode as never, route, method);
  }
}
