/**
 * What webform in does with a submission, given the state OS2forms reports it in and what was passed on before. No
 * Node-RED dependency; the ledger keeps one record per submission (Ledger.putRecord, compare-and-set, so two instances
 * receiving posts about one submission decide once).
 *
 * The states are Drupal Webform's (WebformSubmissionInterface::STATE_*, chosen in WebformSubmission::getState() and
 * posted by RemotePostWebformHandler::postSave()/postDelete() to the `{state}_url` configured for it; webform 6.x,
 * src/Plugin/WebformHandler/RemotePostWebformHandler.php): draft_created, draft_updated, completed, updated, deleted,
 * converted. A draft that is finally submitted is posted as `completed` (its `completed` time is set then), a later
 * save as `updated`; `converted` is an anonymous submission taken over by a user (draft or not); `deleted` posts the
 * whole submission. The remote post carries no state itself, so the builder puts it in each URL (`?operation=…`);
 * `in_draft`, when the handler sends it, is checked against it: a submission either calls a draft stays a draft.
 *
 *   state      nothing passed on yet          passed on before, data the same   passed on before, data changed
 *   draft      skipped (or passed: setting)   skipped                           skipped
 *   completed  passed on                      skipped (a repeat)                as updated
 *   updated    passed on (first seen)         skipped (unchanged)               "changed" output, or passed on as
 *                                                                               revision n+1 (setting)
 *   deleted    skipped                        "changed" output (deleted)        "changed" output (deleted)
 *
 * Which fields changed is told by name only: the record holds per field a salted HMAC of its value, never the value.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { InboxInput, Ledger } from '../ledger/types';
import type { Submission } from '../sf2900/model';

export const OPERATIONS = ['draft_created', 'draft_updated', 'completed', 'updated', 'deleted', 'converted'] as const;
export type Operation = (typeof OPERATIONS)[number];
export type SubmissionState = 'draft' | 'completed' | 'updated' | 'deleted';

export interface IntakeSettings {
  /** Drafts: skipped (default) or passed on. */
  drafts: 'ignore' | 'pass';
  /** A changed submission already passed on: to the "changed" output (default) or passed on as a new shipment. */
  updates: 'changed' | 'pass';
}

export const INTAKE_DEFAULTS: IntakeSettings = { drafts: 'ignore', updates: 'changed' };

export type SkipReason = 'draft' | 'repeat' | 'unchanged' | 'not-passed-on';

export type PassDecision = { action: 'pass'; state: SubmissionState; revision: number };

export type Decision =
  | PassDecision
  | { action: 'changed'; state: 'updated' | 'deleted'; fields: string[]; revision: number; passedAt: string }
  | { action: 'skip'; state: SubmissionState; reason: SkipReason };

/** What the ledger keeps per submission: no values, only salted digests of them. */
interface IntakeRecord {
  salt: string;
  /** Versions passed on (0: the first). */
  revision: number;
  /** When the last version was passed on. */
  passedAt: string;
  deleted?: boolean;
  fields: Record<string, string>;
}

/** The operation named in a URL's `operation` query parameter, or undefined; throws for a name Drupal does not use. */
export function operationOf(value: unknown): Operation | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const v = String(value).trim().toLowerCase();
  if ((OPERATIONS as readonly string[]).includes(v)) return v as Operation;
  throw new Error(`unknown operation "${String(value).slice(0, 40)}" (use one of ${OPERATIONS.join(', ')})`);
}

/** The submission's state from the operation and the submission's own in_draft flag (a draft by either is a draft). */
export function stateOf(operation: Operation | undefined, inDraft: boolean | undefined): SubmissionState {
  if (operation === 'deleted') return 'deleted';
  if (operation === 'draft_created' || operation === 'draft_updated' || inDraft) return 'draft';
  return operation === 'updated' ? 'updated' : 'completed';
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** Per field a 64-bit salted HMAC of its value (and per file element, of its files' ids, names and sizes). */
function digests(s: Submission, salt: string): Record<string, string> {
  const out: Record<string, string> = {};
  const mac = (text: string) => createHmac('sha256', salt).update(text).digest('hex').slice(0, 16);
  for (const [k, v] of Object.entries(s.data)) out[k] = mac(canonical(v));
  const files = new Map<string, string[]>();
  for (const f of s.files) files.set(f.element, [...(files.get(f.element) ?? []), `${f.id ?? ''}|${f.name}|${f.size ?? ''}`]);
  for (const [element, list] of files) out[element] = mac(`${out[element] ?? ''}|${list.sort().join(',')}`);
  return out;
}

function changedFields(a: Record<string, string>, b: Record<string, string>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).sort();
}

export class Intake {
  constructor(
    private readonly ledger: Ledger,
    private readonly settings: IntakeSettings = INTAKE_DEFAULTS,
  ) {}

  /** The record's key: one per webform and submission uuid. */
  static keyOf(s: Submission): string {
    return `intake:${s.webform.id}:${s.submission.uuid}`;
  }

  /**
   * Decides what to do with `s` in `state` and records it (decided again when another instance wrote in between). A
   * skip writes nothing. For a pass, `keep` may give the entry to keep in the ledger's push inbox: it is stored in the
   * record's own write (Ledger.putRecord), so a submission counts as passed on only once it is kept, and is kept only
   * if it counts. Resolve = durable.
   */
  async take(s: Submission, state: SubmissionState, keep?: (d: PassDecision) => InboxInput | undefined): Promise<Decision> {
    const key = Intake.keyOf(s);
    for (let tries = 0; ; tries++) {
      const stored = await this.ledger.getRecord(key);
      const { decision, next } = this.decide(s, state, stored?.value as IntakeRecord | undefined);
      if (!next) return decision;
      const entry = decision.action === 'pass' ? keep?.(decision) : undefined;
      if (await this.ledger.putRecord(key, next, stored?.version ?? 0, entry)) return decision;
      if (tries >= 5) throw new Error('the submission record kept changing under concurrent writes; try again');
    }
  }

  private decide(s: Submission, state: SubmissionState, rec: IntakeRecord | undefined): { decision: Decision; next?: IntakeRecord } {
    const now = new Date().toISOString();
    if (state === 'draft') {
      if (this.settings.drafts === 'pass' && !rec) {
        const salt = randomBytes(16).toString('hex');
        return { decision: { action: 'pass', state, revision: 0 }, next: { salt, revision: 0, passedAt: now, fields: digests(s, salt) } };
      }
      return { decision: { action: 'skip', state, reason: 'draft' } };
    }
    if (state === 'deleted') {
      if (!rec) return { decision: { action: 'skip', state, reason: 'not-passed-on' } };
      if (rec.deleted) return { decision: { action: 'skip', state, reason: 'repeat' } };
      return {
        decision: { action: 'changed', state, fields: [], revision: rec.revision, passedAt: rec.passedAt },
        next: { ...rec, deleted: true },
      };
    }
    if (!rec) {
      const salt = randomBytes(16).toString('hex');
      return { decision: { action: 'pass', state, revision: 0 }, next: { salt, revision: 0, passedAt: now, fields: digests(s, salt) } };
    }
    const fields = digests(s, rec.salt);
    const changed = changedFields(rec.fields, fields);
    if (!changed.length) return { decision: { action: 'skip', state, reason: state === 'updated' ? 'unchanged' : 'repeat' } };
    if (this.settings.updates === 'pass') {
      const revision = rec.revision + 1;
      return { decision: { action: 'pass', state: 'updated', revision }, next: { ...rec, revision, passedAt: now, fields } };
    }
    return {
      decision: { action: 'changed', state: 'updated', fields: changed, revision: rec.revision, passedAt: rec.passedAt },
      next: { ...rec, fields },
    };
  }
}
