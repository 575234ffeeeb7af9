/**
 * One poll of the OS2forms REST API for `webform in` (fetch mode): list the form's submissions, fetch each one
 * not yet emitted (and its linked files), emit it, then record it in the cursor store. Failures leave the
 * submission unrecorded so the next poll retries it; nothing is skipped.
 */
import type { Submission } from '../sf2900/model';
import type { CursorStore } from './cursor-store';
import { normaliseRestSubmission } from './normalise';
import type { Os2formsGetter } from './os2forms-client';

export interface PollOptions {
  client: Os2formsGetter;
  webformId: string;
  store: CursorStore;
  /** Download linked files (content Buffer) — default true; otherwise files carry only `url`. */
  fetchFiles?: boolean;
  /** Called once per new submission; the submission is recorded as emitted after it returns. */
  emit(submission: Submission): void | Promise<void>;
  /** Stop early (node closing). */
  stopped?(): boolean;
}

export interface PollResult {
  listed: number;
  emitted: number;
  /** Submissions that could not be fetched this time (retried on the next poll). */
  failed: { sid: string; error: string }[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The uuid in a submission URL `…/webform_rest/{webform}/submission/{uuid}`, if any. */
export function uuidFromSubmissionUrl(url: string): string | undefined {
  const m = /\/submission\/([0-9a-fA-F-]{36})(?:[/?#]|$)/.exec(url);
  return m?.[1];
}

export async function pollOnce(opts: PollOptions): Promise<PollResult> {
  const wf = encodeURIComponent(opts.webformId);
  const list = await opts.client.getJson(`/webform_rest/${wf}/submissions`);
  if (!isRecord(list) || !('submissions' in list)) throw new Error('submission list has no "submissions"');
  const subs = list.submissions;
  // Drupal serialises an empty map as [].
  const entries: [string, string][] = Array.isArray(subs) ? [] : isRecord(subs) ? Object.entries(subs).map(([k, v]) => [k, String(v)]) : [];
  if (!Array.isArray(subs) && !isRecord(subs)) throw new Error('"submissions" is neither an object nor a list');
  entries.sort((a, b) => Number(a[0]) - Number(b[0]) || a[0].localeCompare(b[0]));

  const result: PollResult = { listed: entries.length, emitted: 0, failed: [] };
  for (const [sid, url] of entries) {
    if (opts.stopped?.()) break;
    const key = `sid:${sid}`;
    if (opts.store.has(key)) continue;
    try {
      const uuid = uuidFromSubmissionUrl(url);
      const path = uuid ? `/webform_rest/${wf}/submission/${uuid}` : url;
      const json = await opts.client.getJson(path);
      const submission = normaliseRestSubmission(json, opts.webformId);
      if (!submission.submission.sid) submission.submission.sid = sid;
      if (opts.fetchFiles !== false) {
        for (const file of submission.files) {
          if (!file.url) continue;
          const { body } = await opts.client.get(file.url);
          file.content = body;
          file.size = body.length;
        }
      }
      if (opts.stopped?.()) break;
      await opts.emit(submission);
      await opts.store.add(key);
      result.emitted++;
    } catch (err) {
      result.failed.push({ sid, error: (err as Error).message });
    }
  }
  return result;
}
