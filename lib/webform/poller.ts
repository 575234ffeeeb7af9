/**
 * One poll of the OS2forms REST API for `webform in` (fetch mode), on the API's own terms (OS2Forms/os2forms_rest_api,
 * src/Plugin/rest/resource/WebformAllFormSubmissions.php: `GET /webform_rest/{webform}/submissions` answers
 * `{webform_id, submissions: {sid: url}}` for the submissions *created* since `starttime` — drafts included, no paging,
 * no order). So:
 *   - the list is bounded by `starttime` = the newest `created` seen − an overlap window (submissions saved in the same
 *     second, clocks); inside the window the sids already handled are remembered (`recent`), older ones forgotten;
 *   - a draft is not passed on and not forgotten: it is fetched again every poll (it will not be listed again once it
 *     falls out of the window) until it is completed — then it goes through the intake like any completed submission —
 *     or is deleted (404), or is older than `draftMaxAgeMs`;
 *   - what is passed on is decided by the intake (lib/webform/intake.ts), which remembers it per submission: a poll
 *     repeated after a crash, or by another instance, passes nothing on twice.
 * Failures leave a submission for the next poll and keep the high-water mark where it was; nothing is skipped.
 */
import type { Submission } from '../sf2900/model';
import type { Decision, Intake } from './intake';
import { normaliseRestSubmission } from './normalise';
import { Os2formsHttpError, type Os2formsGetter } from './os2forms-client';

/** Where fetch is: kept in the ledger between polls (and instances). */
export interface FetchCursor {
  /** Unix seconds: the newest `created` of a submission handled. */
  hwm?: number;
  /** sid → created (unix seconds; 0: unknown, from an earlier version's cursor) of submissions handled that a list
   * from hwm − overlap still returns. */
  recent: Record<string, number>;
  /** Drafts watched until they complete: sid → uuid and when first seen (ms). */
  drafts: Record<string, { uuid: string; since: number }>;
}

export const emptyCursor = (): FetchCursor => ({ recent: {}, drafts: {} });

export interface PollOptions {
  client: Os2formsGetter;
  webformId: string;
  cursor: FetchCursor;
  intake: Intake;
  /** Download linked files (content Buffer) — default true; otherwise files carry only `url`. */
  fetchFiles?: boolean;
  overlapMs: number;
  draftMaxAgeMs: number;
  /** A decision to act on (output, count); the submission is remembered in the cursor after it returns. */
  handle(decision: Decision, submission: Submission): void;
  /** A log line without personal data. */
  log?(text: string): void;
  /** False stops the poll (node closing, or the lease lost to another instance). Asked before each submission. */
  keepGoing?(): boolean | Promise<boolean>;
  now?: () => number;
}

export interface PollResult {
  listed: number;
  passed: number;
  /** Drafts being watched after this poll. */
  drafts: number;
  /** Submissions that could not be fetched this time (retried on the next poll). */
  failed: { sid: string; error: string }[];
  cursor: FetchCursor;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The uuid in a submission URL `…/webform_rest/{webform}/submission/{uuid}`, if any. */
export function uuidFromSubmissionUrl(url: string): string | undefined {
  const m = /\/submission\/([0-9a-fA-F-]{36})(?:[/?#]|$)/.exec(url);
  return m?.[1];
}

/** `starttime` as os2forms_rest_api reads it (any PHP DateTimeImmutable text): ISO 8601, UTC, whole seconds. */
export function startTimeParam(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

const unixOf = (iso: string | undefined, fallback: number) => (iso ? Math.floor(Date.parse(iso) / 1000) : fallback);

export async function pollOnce(o: PollOptions): Promise<PollResult> {
  const now = o.now ?? Date.now;
  const wf = encodeURIComponent(o.webformId);
  const cursor: FetchCursor = { hwm: o.cursor.hwm, recent: { ...o.cursor.recent }, drafts: { ...o.cursor.drafts } };
  const overlap = Math.ceil(o.overlapMs / 1000);
  const since = cursor.hwm !== undefined ? `?starttime=${encodeURIComponent(startTimeParam(cursor.hwm - overlap))}` : '';
  const list = await o.client.getJson(`/webform_rest/${wf}/submissions${since}`);
  if (!isRecord(list) || !('submissions' in list)) throw new Error('submission list has no "submissions"');
  const subs = list.submissions;
  if (!Array.isArray(subs) && !isRecord(subs)) throw new Error('"submissions" is neither an object nor a list');
  // Drupal serialises an empty map as [].
  const entries: [string, string][] = Array.isArray(subs) ? [] : Object.entries(subs).map(([k, v]) => [k, String(v)]);
  entries.sort((a, b) => Number(a[0]) - Number(b[0]) || a[0].localeCompare(b[0]));

  const result: PollResult = { listed: entries.length, passed: 0, drafts: 0, failed: [], cursor };
  let newest = cursor.hwm ?? Number.NEGATIVE_INFINITY;
  const todo: Array<{ sid: string; path: string }> = [];
  for (const [sid, url] of entries) {
    if (sid in cursor.recent) newest = Math.max(newest, cursor.recent[sid]!);
    else if (!(sid in cursor.drafts)) {
      const uuid = uuidFromSubmissionUrl(url);
      todo.push({ sid, path: uuid ? `/webform_rest/${wf}/submission/${uuid}` : url });
    }
  }
  for (const [sid, d] of Object.entries(cursor.drafts)) todo.push({ sid, path: `/webform_rest/${wf}/submission/${d.uuid}` });

  for (const { sid, path } of todo) {
    if (o.keepGoing && !(await o.keepGoing())) break;
    try {
      let json: unknown;
      try {
        json = await o.client.getJson(path);
      } catch (err) {
        if (err instanceof Os2formsHttpError && err.status === 404 && sid in cursor.drafts) {
          delete cursor.drafts[sid]; // a draft deleted before it was completed
          o.log?.(`webform in: draft sid ${sid} of ${o.webformId} was deleted before it was completed`);
          continue;
        }
        throw err;
      }
      const submission = normaliseRestSubmission(json, o.webformId);
      if (!submission.submission.sid) submission.submission.sid = sid;
      const created = unixOf(submission.submission.created, Math.floor(now() / 1000));
      if (submission.submission.inDraft) {
        const watched = cursor.drafts[sid];
        if (!watched) {
          cursor.drafts[sid] = { uuid: submission.submission.uuid, since: now() };
          const d = await o.intake.take(submission, 'draft');
          o.handle(d, submission);
          if (d.action === 'pass') result.passed++;
        } else if (now() - watched.since > o.draftMaxAgeMs) {
          delete cursor.drafts[sid];
          cursor.recent[sid] = created;
          o.log?.(`webform in: draft sid ${sid} of ${o.webformId} not completed in ${Math.round(o.draftMaxAgeMs / 86_400_000)} days: no longer watched`);
        }
        newest = Math.max(newest, created);
        continue;
      }
      if (o.fetchFiles !== false) {
        for (const file of submission.files) {
          if (!file.url) continue;
          const { body } = await o.client.get(file.url);
          file.content = body;
          file.size = body.length;
        }
      }
      const d = await o.intake.take(submission, 'completed');
      o.handle(d, submission);
      if (d.action === 'pass') result.passed++;
      delete cursor.drafts[sid];
      cursor.recent[sid] = created;
      newest = Math.max(newest, created);
    } catch (err) {
      result.failed.push({ sid, error: (err as Error).message });
    }
  }
  // The mark moves only after a poll without failures (a failed one's `created` is unknown); what fell out of the
  // window is forgotten.
  if (!result.failed.length && Number.isFinite(newest)) cursor.hwm = newest;
  // (a sid an earlier version's cursor recorded has no known time, 0: it is kept while the list still returns it)
  const listedSids = new Set(entries.map(([sid]) => sid));
  if (cursor.hwm !== undefined) {
    for (const [sid, created] of Object.entries(cursor.recent)) {
      if (created === 0 ? !listedSids.has(sid) : created < cursor.hwm - overlap) delete cursor.recent[sid];
    }
  }
  result.drafts = Object.keys(cursor.drafts).length;
  return result;
}
