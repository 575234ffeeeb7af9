/**
 * The approvals' audit trail as the OS2 sidebar and the ledger export show it: who decided what, when, why, and which
 * fields they corrected — CPR numbers masked to their date part (as in the shipment export), messages never included.
 */
import type { ApprovalRecord, ApprovalState, Ledger } from '../ledger/types';
import { maskCpr } from '../privacy/cpr';
import { elideFileContents } from '../privacy/file-content';

export interface AuditEntry {
  id: string;
  queue: string;
  title: string;
  state: ApprovalState;
  createdAt: string;
  deadlineAt: string;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  /** Corrected fields: label → new value (masked). */
  corrections?: Record<string, string>;
}

const mask = (t: string) => maskCpr(elideFileContents(t), { keepBirthDate: true });

export function auditEntry(a: ApprovalRecord): AuditEntry {
  return {
    id: a.id,
    queue: a.queue,
    title: mask(a.title),
    state: a.state,
    createdAt: a.createdAt,
    deadlineAt: a.deadlineAt,
    ...(a.decidedBy ? { decidedBy: a.decidedBy, decidedAt: a.decidedAt } : {}),
    ...(a.reason ? { reason: mask(a.reason) } : {}),
    ...(a.edits ? { corrections: Object.fromEntries(Object.entries(a.edits).map(([k, v]) => [k, mask(v)])) } : {}),
  };
}

const PAGE = 500;
const CSV = ['id', 'queue', 'title', 'state', 'createdAt', 'deadlineAt', 'decidedBy', 'decidedAt', 'reason', 'corrections'] as const;
const cell = (v: unknown) => {
  const s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) || /^[=+\-@\t]/.test(s) ? `"${(/^[=+\-@\t]/.test(s) ? `'${s}` : s).replace(/"/g, '""')}"` : s;
};

/** The audit as text chunks (JSON `{exportedAt, approvals: [...]}` or CSV), a page at a time, oldest first. */
export async function* auditChunks(ledger: Pick<Ledger, 'listApprovals'>, format: 'json' | 'csv', state?: ApprovalState): AsyncGenerator<string> {
  if (format === 'json') yield `{"exportedAt":${JSON.stringify(new Date().toISOString())},"approvals":[`;
  else yield `${CSV.join(',')}\r\n`;
  let first = true;
  for (let offset = 0; ; offset += PAGE) {
    const page = await ledger.listApprovals({ ...(state ? { state } : {}), limit: PAGE, offset });
    for (const a of page) {
      const e = auditEntry(a);
      if (format === 'json') yield `${first ? '' : ','}\n${JSON.stringify(e)}`;
      else yield `${CSV.map((c) => cell(e[c])).join(',')}\r\n`;
      first = false;
    }
    if (page.length < PAGE) break;
  }
  if (format === 'json') yield '\n]}\n';
}
