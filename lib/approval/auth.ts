/**
 * Who is deciding on the approver's page — never anonymous — and that a decision was sent from the page itself:
 *   - 'proxy': an authenticating reverse proxy (OIDC/SAML in front of Node-RED) names the user in a header; the header
 *     is believed only from the configured proxy addresses, anything else is refused;
 *   - 'admin': Node-RED's own admin users (adminAuth), holding the permission `os2-approve.write` (or `*`): the login
 *     form's credentials are checked by Node-RED itself (its token endpoint, asked for exactly that scope), and a signed
 *     session cookie (HttpOnly, SameSite=Strict) carries the user for 8 hours.
 * Every POST carries a CSRF token bound to the user (HMAC with the key shared through the ledger) and, when the browser
 * sends an Origin, that origin must be the page's own.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const APPROVE_PERMISSION = 'os2-approve.write';
const SESSION_MS = 8 * 3600_000;
const COOKIE = 'os2approve';

export interface AuthSettings {
  mode: 'admin' | 'proxy';
  /** Lower-case header carrying the user (proxy mode). */
  header: string;
  /** Addresses of the proxies whose header is believed. */
  proxies: string[];
}

/** Checks a user name and password against Node-RED's admin users for APPROVE_PERMISSION; the user name, or undefined. */
export type AdminLogin = (username: string, password: string) => Promise<string | undefined>;

export type Identity = { user: string } | { status: number; message: string };

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The peer address without the IPv4-mapped IPv6 prefix. */
export function peerOf(req: IncomingMessage): string {
  return String(req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export class ApproverAuth {
  constructor(
    readonly settings: AuthSettings,
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  private same(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }

  /** The user of a request, or why there is none. */
  identify(req: IncomingMessage): Identity {
    if (this.settings.mode === 'proxy') {
      const raw = req.headers[this.settings.header];
      const user = (Array.isArray(raw) ? raw[0] : raw)?.trim();
      if (!this.settings.proxies.includes(peerOf(req))) {
        return { status: 403, message: user ? 'the user header is only accepted from the configured proxy' : 'not from the configured proxy' };
      }
      return user ? { user: user.slice(0, 200) } : { status: 401, message: `no user in header ${this.settings.header}` };
    }
    const cookie = cookieOf(req, COOKIE);
    const [body, sig] = (cookie ?? '').split('.');
    if (!body || !sig || !this.same(sig, this.mac(`session|${body}`))) return { status: 401, message: 'log in' };
    try {
      const s = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { u?: unknown; exp?: unknown };
      if (typeof s.u !== 'string' || typeof s.exp !== 'number' || s.exp < this.now()) return { status: 401, message: 'log in' };
      return { user: s.u };
    } catch {
      return { status: 401, message: 'log in' };
    }
  }

  /** The Set-Cookie value of a new session for `user` (admin mode). */
  sessionCookie(user: string, path: string, secure: boolean): string {
    const body = b64url(JSON.stringify({ u: user, exp: this.now() + SESSION_MS }));
    return `${COOKIE}=${body}.${this.mac(`session|${body}`)}; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}${secure ? '; Secure' : ''}`;
  }

  clearCookie(path: string): string {
    return `${COOKIE}=; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  /** The CSRF token of `user` today. */
  csrfToken(user: string, day = Math.floor(this.now() / 86_400_000)): string {
    return this.mac(`csrf|${user}|${day}`);
  }

  /** Whether a POST is the page's own: the user's token (of today or yesterday) and, if sent, the page's origin. */
  checkPost(req: IncomingMessage, user: string, token: unknown): boolean {
    const origin = req.headers.origin;
    if (origin && origin !== 'null') {
      const proto = String(req.headers['x-forwarded-proto'] ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'))
        .split(',')[0]!
        .trim();
      const host = String(req.headers['x-forwarded-host'] ?? req.headers.host ?? '')
        .split(',')[0]!
        .trim();
      if (origin !== `${proto}://${host}`) return false;
    } else if (origin === 'null') return false;
    if (typeof token !== 'string' || !token) return false;
    const day = Math.floor(this.now() / 86_400_000);
    return this.same(token, this.csrfToken(user, day)) || this.same(token, this.csrfToken(user, day - 1));
  }
}

/**
 * Node-RED's own check of an admin user: its token endpoint, asked for APPROVE_PERMISSION only (Node-RED answers a
 * token only to a known user whose permissions include it), the token revoked at once. `adminUrl`: Node-RED's admin
 * root as reached from this process, e.g. http://127.0.0.1:1880/.
 */
export function nodeRedAdminLogin(adminUrl: string): AdminLogin {
  const base = adminUrl.replace(/\/+$/, '');
  return async (username, password) => {
    const res = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: APPROVE_PERMISSION, username, password }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) return (await res.arrayBuffer(), undefined);
    const token = ((await res.json()) as { access_token?: string }).access_token;
    if (!token) return undefined;
    await fetch(`${base}/auth/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
      signal: AbortSignal.timeout(10_000),
    })
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
    return username;
  };
}
