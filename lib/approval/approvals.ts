/**
 * The life of a message in an approve node, and the only writer of it: waiting → approved | rejected | expired, each
 * decided once in the ledger (the first decision wins, across instances), then its outcome claimed by one instance
 * and sent on once. A deadline passing is a decision too ("expired": absence of approval is not approval); a reminder
 * fires once before it. No Node-RED dependency.
 *
 *   arrive ──▶ waiting ──(person: approve / reject + reason, corrections)──▶ approved | rejected ─┐
 *                 │ └──(reminder time)──▶ reminder output (once)                                ├─▶ claimed ─▶ sent on ─▶ emitted
 *                 └────(deadline)──────────────────────────────────────────▶ expired ───────────┘
 */
import { randomUUID } from 'node:crypto';
import type { ApprovalRecord, ApprovalState, Ledger } from '../ledger/types';
import { type ApprovalView, EditError, type FieldSpec, applyEdits, renderTitle, renderView } from './view';

export interface ApprovalSettings {
  queue: string;
  deadlineMs: number;
  /** How long before the deadline the reminder fires; 0: none. */
  remindBeforeMs: number;
  fields: FieldSpec[];
  titleTemplate: string;
  showCpr: boolean;
}

export type Outcome = Exclude<ApprovalState, 'waiting'>;

export interface ApprovalEvents {
  /** The outcome of a decided item, with its (possibly corrected) message. */
  outcome(outcome: Outcome, msg: Record<string, unknown>, record: ApprovalRecord): void;
  reminder(record: ApprovalRecord): void;
  error(err: Error): void;
}

export class DecisionError extends Error {
  override name = 'DecisionError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A message as stored: Buffers kept as base64, request/response objects of http in left out. */
function storable(msg: Record<string, unknown>): unknown {
  const { req: _req, res: _res, ...rest } = msg;
  return JSON.parse(
    JSON.stringify(rest, function (this: unknown, _k, v: unknown) {
      return v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)
        ? { $os2Buffer: Buffer.from((v as { data: number[] }).data).toString('base64') }
        : v;
    }),
  );
}

function revive(stored: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(stored ?? {}), (_k, v: unknown) =>
    v && typeof v === 'object' && typeof (v as { $os2Buffer?: unknown }).$os2Buffer === 'string'
      ? Buffer.from((v as { $os2Buffer: string }).$os2Buffer, 'base64')
      : v,
  );
}

export class Approvals {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** Until start(): a decision made (e.g. by a bench or a test) starts no loop. */
  private stopped = true;

  constructor(
    private readonly ledger: Ledger,
    readonly settings: ApprovalSettings,
    private readonly o: { owner: string; events: ApprovalEvents; pollMs?: number; now?: () => number },
  ) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Takes a message in: waiting in the ledger (resolve = durable). Returns its record. */
  async arrive(msg: Record<string, unknown>): Promise<ApprovalRecord> {
    const s = this.settings;
    const created = this.now();
    const deadline = created + s.deadlineMs;
    const record: Omit<ApprovalRecord, 'reminded' | 'state'> = {
      id: randomUUID(),
      queue: s.queue,
      title: renderTitle(s.titleTemplate, msg, { showCpr: s.showCpr }),
      createdAt: new Date(created).toISOString(),
      deadlineAt: new Date(deadline).toISOString(),
      ...(s.remindBeforeMs > 0 && deadline - s.remindBeforeMs > created ? { remindAt: new Date(deadline - s.remindBeforeMs).toISOString() } : {}),
      view: renderView(msg, s.fields, { showCpr: s.showCpr }),
      msg: storable(msg),
    };
    await this.ledger.addApproval(record);
    return { ...record, state: 'waiting', reminded: false };
  }

  /**
   * A person's decision. Anything but an explicit 'approve' or 'reject' is refused (never taken for approval); a
   * rejection needs a reason; corrections only of correctable fields, each valid. The first decision wins.
   */
  async decide(id: string, by: string, input: { decision?: unknown; reason?: unknown; edits?: Record<string, unknown> }): Promise<ApprovalRecord> {
    const decision = input.decision === 'approve' ? 'approved' : input.decision === 'reject' ? 'rejected' : undefined;
    if (!decision) throw new DecisionError('the decision must be "approve" or "reject"', 400);
    if (!by.trim()) throw new DecisionError('no user', 401);
    const reason = typeof input.reason === 'string' ? input.reason.trim().slice(0, 2000) : '';
    if (decision === 'rejected' && !reason) throw new DecisionError('a rejection needs a reason', 400);
    const item = await this.ledger.getApproval(id, { msg: true });
    if (!item || item.queue !== this.settings.queue) throw new DecisionError('no such item', 404);
    if (item.state !== 'waiting') throw new DecisionError(`already decided: ${item.state}`, 409);
    if (this.now() >= Date.parse(item.deadlineAt)) throw new DecisionError('the deadline has passed', 409);
    const msg = revive(item.msg);
    // a field sent back as it was shown (e.g. a masked CPR number) is no correction
    const shown = new Map((item.view as ApprovalView).fields.map((f) => [f.label, f.value]));
    const asked = Object.fromEntries(
      Object.entries(input.edits ?? {})
        .map(([k, v]) => [k, typeof v === 'string' ? v : String(v ?? '')] as const)
        .filter(([k, v]) => shown.get(k) !== v),
    );
    let edits: Record<string, string>;
    try {
      edits = decision === 'approved' ? applyEdits(msg, this.settings.fields, asked) : {};
    } catch (err) {
      if (err instanceof EditError) throw new DecisionError(err.message, 400);
      throw err;
    }
    const corrected = Object.keys(edits).length > 0;
    const done = await this.ledger.decideApproval(id, {
      state: decision,
      by,
      at: new Date(this.now()).toISOString(),
      ...(reason ? { reason } : {}),
      ...(corrected ? { edits, msg: storable(msg) } : {}),
    });
    if (!done) throw new DecisionError('already decided', 409);
    this.kick();
    return done;
  }

  /** Starts watching deadlines and reminders and sending decided outcomes on (every `pollMs`). */
  start(): void {
    this.stopped = false;
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Runs a tick soon (after a decision here, so it leaves without waiting for the poll). */
  kick(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), 0);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    const { ledger, settings } = this;
    try {
      const now = this.now();
      for (const due of await ledger.dueApprovals(settings.queue, new Date(now))) {
        if (Date.parse(due.deadlineAt) <= now) {
          await ledger.decideApproval(due.id, { state: 'expired', by: 'deadline', at: new Date(now).toISOString() });
        } else if (await ledger.markApprovalReminded(due.id)) {
          this.o.events.reminder(due);
        }
      }
      for (;;) {
        const claimed = await ledger.claimDecidedApprovals(settings.queue, this.o.owner, 50, 60_000);
        for (const item of claimed) {
          const { msg: stored, ...record } = item;
          this.o.events.outcome(item.state as Outcome, revive(stored), record as ApprovalRecord);
          await ledger.markApprovalEmitted(item.id, this.o.owner);
        }
        if (claimed.length < 50) break;
      }
    } catch (err) {
      this.o.events.error(err as Error);
    } finally {
      this.ticking = false;
      if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.o.pollMs ?? 1000);
    }
  }
}
