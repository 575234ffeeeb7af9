/**
 * The approver's page as HTML, in Danish or English: the waiting list (paged, bulk approve), one item (its fields,
 * correctable ones as inputs, attachments by name only, approve / reject with a reason), the login form (admin mode)
 * and a result. No scripts: plain forms, so the page runs under a strict Content-Security-Policy.
 */
import type { ApprovalRecord } from '../ledger/types';
import type { ApprovalView } from './view';

export type Lang = 'da' | 'en';

const TEXT = {
  da: {
    title: 'Godkendelser',
    waiting: 'venter',
    none: 'Intet venter på en afgørelse.',
    received: 'Modtaget',
    deadline: 'Frist',
    approve: 'Godkend',
    reject: 'Afvis',
    approveSelected: 'Godkend de valgte',
    reason: 'Begrundelse (skal udfyldes ved afvisning)',
    attachments: 'Bilag',
    noAttachments: 'Ingen bilag',
    back: 'Tilbage til listen',
    newer: 'Forrige side',
    older: 'Næste side',
    login: 'Log ind',
    user: 'Brugernavn',
    password: 'Adgangskode',
    logout: 'Log ud',
    loggedIn: 'Logget ind som',
    decided: 'Afgjort',
    correctable: 'kan rettes',
  },
  en: {
    title: 'Approvals',
    waiting: 'waiting',
    none: 'Nothing is waiting for a decision.',
    received: 'Received',
    deadline: 'Deadline',
    approve: 'Approve',
    reject: 'Reject',
    approveSelected: 'Approve selected',
    reason: 'Reason (required to reject)',
    attachments: 'Attachments',
    noAttachments: 'No attachments',
    back: 'Back to the list',
    newer: 'Previous page',
    older: 'Next page',
    login: 'Log in',
    user: 'User name',
    password: 'Password',
    logout: 'Log out',
    loggedIn: 'Logged in as',
    decided: 'Decided',
    correctable: 'correctable',
  },
} as const;

/** Danish unless the browser prefers English (or anything but Danish) first. */
export function langOf(acceptLanguage: string | undefined): Lang {
  const first = String(acceptLanguage ?? 'da')
    .split(',')[0]!
    .trim()
    .toLowerCase();
  return first === '' || first.startsWith('da') || first.startsWith('nb') || first.startsWith('no') ? 'da' : 'en';
}

export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const FORMATS: Record<Lang, Intl.DateTimeFormat> = {
  da: new Intl.DateTimeFormat('da-DK', { timeZone: 'Europe/Copenhagen', dateStyle: 'short', timeStyle: 'short' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Copenhagen', dateStyle: 'short', timeStyle: 'short' }),
};
const time = (iso: string, lang: Lang) => FORMATS[lang].format(new Date(iso));

function shell(lang: Lang, heading: string, body: string, user?: string, base?: string, csrf?: string): string {
  const t = TEXT[lang];
  const who =
    user && base
      ? `<form class="who" method="post" action="${esc(base)}/logout"><span>${t.loggedIn} ${esc(user)}</span>${csrf ? `<input type="hidden" name="csrf" value="${esc(csrf)}">` : ''}<button>${t.logout}</button></form>`
      : '';
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(heading)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}
.who{float:right}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}textarea,input[type=text]{width:100%}.error{color:#a00}button{margin:.3rem .3rem 0 0}</style></head>
<body>${who}<h1>${esc(heading)}</h1>${body}</body></html>`;
}

export function listPage(o: {
  lang: Lang;
  base: string;
  user: string;
  csrf: string;
  items: ApprovalRecord[];
  total: number;
  page: number;
  pageSize: number;
}): string {
  const t = TEXT[o.lang];
  const rows = o.items
    .map(
      (a) =>
        `<tr><td><input type="checkbox" name="ids" value="${esc(a.id)}" aria-label="${esc(a.title)}"></td><td><a href="${esc(o.base)}/item/${esc(a.id)}">${esc(a.title)}</a></td><td>${esc(time(a.createdAt, o.lang))}</td><td>${esc(time(a.deadlineAt, o.lang))}</td></tr>`,
    )
    .join('');
  const pages = [
    o.page > 1 ? `<a href="${esc(o.base)}/?page=${o.page - 1}">${t.newer}</a>` : '',
    o.page * o.pageSize < o.total ? `<a href="${esc(o.base)}/?page=${o.page + 1}">${t.older}</a>` : '',
  ].join(' ');
  const body = o.items.length
    ? `<p>${o.total} ${t.waiting}</p><form method="post" action="${esc(o.base)}/bulk"><input type="hidden" name="csrf" value="${esc(o.csrf)}">
<table><thead><tr><th></th><th></th><th>${t.received}</th><th>${t.deadline}</th></tr></thead><tbody>${rows}</tbody></table>
<button name="decision" value="approve">${t.approveSelected}</button></form><p>${pages}</p>`
    : `<p>${t.none}</p>`;
  return shell(o.lang, t.title, body, o.user, o.base, o.csrf);
}

export function itemPage(o: { lang: Lang; base: string; user: string; csrf: string; item: ApprovalRecord; error?: string }): string {
  const t = TEXT[o.lang];
  const view = (o.item.view ?? { fields: [], attachments: [] }) as ApprovalView;
  const waiting = o.item.state === 'waiting';
  const fields = view.fields
    .map((f) =>
      f.editable && waiting
        ? `<dt><label for="f-${esc(f.label)}">${esc(f.label)}</label> <small>(${t.correctable})</small></dt><dd><input type="text" id="f-${esc(f.label)}" name="edit.${esc(f.label)}" value="${esc(f.value)}"${f.pattern ? ` pattern="${esc(f.pattern)}"` : ''}></dd>`
        : `<dt>${esc(f.label)}</dt><dd>${esc(f.value)}</dd>`,
    )
    .join('');
  const files = view.attachments.length
    ? `<ul>${view.attachments.map((a) => `<li>${esc(a.name)}${a.size !== undefined ? ` (${Math.ceil(a.size / 1024)} KB)` : ''}</li>`).join('')}</ul>`
    : `<p>${t.noAttachments}</p>`;
  const decided = waiting
    ? `<p><label for="reason">${t.reason}</label><textarea id="reason" name="reason" rows="3"></textarea></p>
<input type="hidden" name="csrf" value="${esc(o.csrf)}"><button name="decision" value="approve">${t.approve}</button><button name="decision" value="reject" formnovalidate>${t.reject}</button>`
    : `<p>${t.decided}: ${esc(o.item.state)}${o.item.decidedBy ? `, ${esc(o.item.decidedBy)}` : ''}${o.item.decidedAt ? `, ${esc(time(o.item.decidedAt, o.lang))}` : ''}${o.item.reason ? ` — ${esc(o.item.reason)}` : ''}</p>`;
  const body = `${o.error ? `<p class="error">${esc(o.error)}</p>` : ''}<p>${t.received} ${esc(time(o.item.createdAt, o.lang))} · ${t.deadline} ${esc(time(o.item.deadlineAt, o.lang))}</p>
<form method="post" action="${esc(o.base)}/item/${esc(o.item.id)}"><dl>${fields}</dl><h2>${t.attachments}</h2>${files}${decided}</form><p><a href="${esc(o.base)}/">${t.back}</a></p>`;
  return shell(o.lang, o.item.title, body, o.user, o.base, o.csrf);
}

export function loginPage(o: { lang: Lang; base: string; csrf: string; error?: string }): string {
  const t = TEXT[o.lang];
  const body = `${o.error ? `<p class="error">${esc(o.error)}</p>` : ''}<form method="post" action="${esc(o.base)}/login">
<p><label for="u">${t.user}</label><input type="text" id="u" name="username" autocomplete="username"></p>
<p><label for="p">${t.password}</label><input type="password" id="p" name="password" autocomplete="current-password"></p><input type="hidden" name="csrf" value="${esc(o.csrf)}"><button>${t.login}</button></form>`;
  return shell(o.lang, t.title, body);
}

export function messagePage(lang: Lang, heading: string, text: string, base?: string): string {
  return shell(lang, heading, `<p>${esc(text)}</p>${base ? `<p><a href="${esc(base)}/">${TEXT[lang].back}</a></p>` : ''}`);
}

/** Headers every answer of the page carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // same-origin: the browser then sends the page's own Origin with its forms (no-referrer would make it "null")
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};
