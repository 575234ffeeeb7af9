/**
 * Recent real submissions ("samples") for the map dialog's preview: the builder picks one of the last submissions of a
 * webform instead of pasting one. webform in records each submission it passes on (output 1); the last
 * SAMPLES_PER_WEBFORM per webform id are kept in the ledger's records (compare-and-set), for SAMPLE_MAX_AGE_MS at most.
 *
 * - One record per webform (`webform-in:samples:<webformId>`: newest first) and an index of the webforms that have
 *   samples (`webform-in:samples-index`), so a listing and the sweep find them.
 * - File contents are never stored: a file keeps its element, name, mime type and size (`contentElided: true`).
 *   For mapping, a stand-in takes the content's place (a one-page PDF for a PDF), so a FORMULAR can be previewed.
 * - Expiry: entries older than the maximum age are dropped when a webform's record is written, left out when read,
 *   and `sweep()` empties the records of webforms that got nothing new (hourly on every ledger this process wrote
 *   samples to, and on each ledger the map dialog lists);
 *   the ledger's retention removes the records themselves later.
 * - A write conflict (another instance wrote in between) is retried a few times, then given up: a sample is a
 *   convenience and must never hold up or fail a submission.
 * No Node-RED dependency.
 */
import type { Ledger } from '../ledger/types';
import type { Submission, SubmissionFile } from '../sf2900/model';
import { elideFileContentsDeep } from '../privacy/file-content';
import { maskCprDeep } from '../privacy/cpr';

export const SAMPLES_PER_WEBFORM = 5;
export const SAMPLE_MAX_AGE_MS = 7 * 86_400_000;
const KEY_PREFIX = 'webform-in:samples:';
const INDEX_KEY = 'webform-in:samples-index';
/** Compare-and-set rounds before a write is given up. */
const TRIES = 8;
/** The index is written again after this long, so the ledger's retention (records not written since) never takes it. */
const INDEX_TOUCH_MS = 86_400_000;

/** A stored file: what the submission said about it, without its content. */
export interface SampleFile extends Omit<SubmissionFile, 'content'> {
  contentElided?: boolean;
}

/** A submission as stored: JSON, file contents left out. */
export interface StoredSubmission extends Omit<Submission, 'files'> {
  files: SampleFile[];
}

export interface Sample {
  webformId: string;
  /** Per webform, increasing: part of the sample's id. */
  seq: number;
  receivedAt: string;
  submission: StoredSubmission;
}

interface Ring {
  next: number;
  samples: Array<Omit<Sample, 'webformId'>>;
}
interface Index {
  webforms: string[];
}

export interface SampleSummary {
  webformId: string;
  seq: number;
  receivedAt: string;
  /** Webform id, time (UTC, minutes) and the first 8 characters of the submission uuid: no personal data. */
  label: string;
}

export interface SampleStoreOptions {
  now?: () => number;
  maxAgeMs?: number;
  keep?: number;
}

/** The submission as JSON with every file's content left out (name and size kept); anything else base64-like elided too. */
export function storableSubmission(s: Submission): StoredSubmission {
  const files: SampleFile[] = (Array.isArray(s.files) ? s.files : []).map((f) => {
    const { content, ...rest } = f as SubmissionFile & { content?: unknown; data?: unknown };
    delete (rest as { data?: unknown }).data;
    const size = rest.size ?? (Buffer.isBuffer(content) ? content.length : typeof content === 'string' ? Buffer.from(content, 'base64').length : undefined);
    return { ...rest, ...(size !== undefined ? { size } : {}), ...(content !== undefined ? { contentElided: true } : {}) };
  });
  const json = JSON.parse(JSON.stringify({ ...s, files })) as StoredSubmission;
  // data may hold file contents of its own (a base64 value in a field): left out as everywhere people look
  return { ...json, data: elideFileContentsDeep(json.data) };
}

/** The label shown in the dialog's list: no personal data. */
export function sampleLabel(webformId: string, receivedAt: string, uuid: string): string {
  const at = receivedAt.slice(0, 16).replace('T', ' ');
  return `${webformId} · ${at} UTC · ${String(uuid ?? '').slice(0, 8)}`;
}

/** For showing: CPR numbers masked (file contents were never stored). */
export function sampleForDisplay(s: Sample): StoredSubmission {
  return maskCprDeep(s.submission);
}

/** A minimal one-page PDF standing in for a PDF whose content was not stored. */
export const STAND_IN_PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
    '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
  'latin1',
);
/** The bytes standing in for any other file whose content was not stored. */
export const STAND_IN_FILE = Buffer.from('os2: preview stand-in, the file content is not stored with samples\n', 'utf8');

const isPdf = (f: SampleFile) => (f.mime ?? '').toLowerCase() === 'application/pdf' || /\.pdf$/i.test(f.name ?? '');

/** For mapping: the submission unmasked, with stand-ins for file contents (a Buffer, as webform in emits). */
export function sampleForMapping(s: Sample): Submission {
  const copy = JSON.parse(JSON.stringify(s.submission)) as StoredSubmission;
  const files = copy.files.map((f) => {
    const { contentElided, ...rest } = f;
    return contentElided ? { ...rest, content: isPdf(f) ? Buffer.from(STAND_IN_PDF) : Buffer.from(STAND_IN_FILE) } : rest;
  });
  return { ...copy, files } as Submission;
}

export class SampleStore {
  private readonly now: () => number;
  private readonly maxAgeMs: number;
  private readonly keep: number;

  constructor(
    private readonly ledger: Ledger,
    options: SampleStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.maxAgeMs = Math.min(options.maxAgeMs ?? SAMPLE_MAX_AGE_MS, SAMPLE_MAX_AGE_MS);
    this.keep = options.keep ?? SAMPLES_PER_WEBFORM;
  }

  static keyOf(webformId: string): string {
    return KEY_PREFIX + webformId;
  }

  private fresh(receivedAt: string): boolean {
    return this.now() - Date.parse(receivedAt) < this.maxAgeMs;
  }

  /**
   * Keeps the submission as the newest sample of its webform. False when it was given up (conflicting writers kept
   * winning) or the submission has no webform id; throws only when the ledger fails.
   */
  async record(submission: Submission): Promise<boolean> {
    const webformId = submission?.webform?.id;
    if (typeof webformId !== 'string' || !webformId) return false;
    const stored = storableSubmission(submission);
    const receivedAt = new Date(this.now()).toISOString();
    const key = SampleStore.keyOf(webformId);
    let written = false;
    for (let i = 0; i < TRIES && !written; i++) {
      const current = await this.ledger.getRecord(key);
      const ring = (current?.value as Ring | undefined) ?? { next: 1, samples: [] };
      // the same submission again (a revision, or the inbox replayed after a restart) replaces its earlier sample
      const older = ring.samples.filter((x) => this.fresh(x.receivedAt) && x.submission.submission?.uuid !== stored.submission?.uuid);
      const samples = [{ seq: ring.next, receivedAt, submission: stored }, ...older].slice(0, this.keep);
      written = await this.ledger.putRecord(key, { next: ring.next + 1, samples } satisfies Ring, current?.version ?? 0);
    }
    if (!written) return false;
    await this.updateIndex((ids) => (ids.includes(webformId) ? undefined : [...ids, webformId]), true);
    return true;
  }

  /** Changes the index (`change` returns undefined: nothing to change), unless conflicting writers keep winning. */
  private async updateIndex(change: (ids: string[]) => string[] | undefined, touch = false): Promise<void> {
    for (let i = 0; i < TRIES; i++) {
      const current = await this.ledger.getRecord(INDEX_KEY);
      const ids = (current?.value as Index | undefined)?.webforms ?? [];
      const stale = touch && !!current && this.now() - Date.parse(current.updatedAt) > INDEX_TOUCH_MS;
      const next = change(ids) ?? (stale ? ids : undefined);
      if (!next) return;
      if (await this.ledger.putRecord(INDEX_KEY, { webforms: next } satisfies Index, current?.version ?? 0)) return;
    }
  }

  private async webforms(): Promise<string[]> {
    return ((await this.ledger.getRecord(INDEX_KEY))?.value as Index | undefined)?.webforms ?? [];
  }

  /** The samples of one webform, newest first, unexpired. */
  async ofWebform(webformId: string): Promise<Sample[]> {
    const ring = (await this.ledger.getRecord(SampleStore.keyOf(webformId)))?.value as Ring | undefined;
    return (ring?.samples ?? []).filter((s) => this.fresh(s.receivedAt)).map((s) => ({ webformId, ...s }));
  }

  /** Every webform's samples (summaries), newest first. */
  async list(): Promise<SampleSummary[]> {
    const all: SampleSummary[] = [];
    for (const webformId of await this.webforms()) {
      for (const s of await this.ofWebform(webformId)) {
        all.push({ webformId, seq: s.seq, receivedAt: s.receivedAt, label: sampleLabel(webformId, s.receivedAt, s.submission.submission?.uuid) });
      }
    }
    return all.sort((a, b) => b.receivedAt.localeCompare(a.receivedAt) || b.seq - a.seq);
  }

  async get(webformId: string, seq: number): Promise<Sample | undefined> {
    return (await this.ofWebform(webformId)).find((s) => s.seq === seq);
  }

  /** Removes expired samples from every webform's record (and webforms left without any from the index). */
  async sweep(): Promise<number> {
    let removed = 0;
    const emptied: string[] = [];
    for (const webformId of await this.webforms()) {
      const key = SampleStore.keyOf(webformId);
      for (let i = 0; i < TRIES; i++) {
        const current = await this.ledger.getRecord(key);
        const ring = current?.value as Ring | undefined;
        const kept = (ring?.samples ?? []).filter((s) => this.fresh(s.receivedAt));
        if (!current || !ring || kept.length === ring.samples.length) {
          if (!kept.length) emptied.push(webformId);
          break;
        }
        if (await this.ledger.putRecord(key, { next: ring.next, samples: kept } satisfies Ring, current.version)) {
          removed += ring.samples.length - kept.length;
          if (!kept.length) emptied.push(webformId);
          break;
        }
      }
    }
    if (emptied.length) {
      // a webform that got a sample since (another writer) stays: its record is read again
      const still: string[] = [];
      for (const id of emptied) if (!(await this.ofWebform(id)).length) still.push(id);
      await this.updateIndex((ids) => (still.some((id) => ids.includes(id)) ? ids.filter((id) => !still.includes(id)) : undefined));
    }
    return removed;
  }
}

/** Ledgers this process wrote samples to: swept hourly (a ledger that fails, e.g. closed on redeploy, leaves the set). */
const written = new Set<Ledger>();
let sweeper: NodeJS.Timeout | undefined;
const SWEEP_EVERY_MS = 3600_000;

function sweepLater(ledger: Ledger): void {
  written.add(ledger);
  if (sweeper) return;
  sweeper = setInterval(() => {
    for (const l of written) void new SampleStore(l).sweep().catch(() => written.delete(l));
  }, SWEEP_EVERY_MS);
  sweeper.unref();
}

/**
 * At most one sample per webform per this interval and process: a sample costs three or four ledger writes and a
 * copy of the submission, and at volume one every few seconds is as recent as a builder needs (measured: recording
 * every submission was 3 % of Node-RED's CPU in bench/e2e.bench.ts).
 */
export const SAMPLE_EVERY_MS = 10_000;
const lastSampled = new WeakMap<Ledger, Map<string, number>>();

/** Records the submission as a sample without waiting: a failure is logged (no personal data) and otherwise ignored. */
export function recordSample(ledger: () => Ledger, submission: Submission, log: (text: string) => void, now = Date.now()): void {
  const failed = (err: unknown) => log(`webform in: the sample of ${submission?.webform?.id} was not kept: ${String((err as Error)?.message).split('\n')[0]}`);
  try {
    const l = ledger();
    const id = String(submission?.webform?.id ?? '');
    let last = lastSampled.get(l);
    if (!last) lastSampled.set(l, (last = new Map()));
    if (now - (last.get(id) ?? Number.NEGATIVE_INFINITY) < SAMPLE_EVERY_MS) return;
    last.set(id, now);
    new SampleStore(l).record(submission).then((ok) => ok && sweepLater(l), failed);
  } catch (err) {
    failed(err);
  }
}
