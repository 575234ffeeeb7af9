/**
 * Normalisation of OS2forms (Drupal Webform) submissions into the `Submission` that `webform in` emits.
 * Pure functions, no Node-RED.
 *
 * Two sources:
 * - the remote-post handler (push): base fields flattened beside element values, each file element `x`
 *   accompanied by `_x` = {id, name, uri, mime, uuid, data?} (an array when the element takes several files);
 * - the OS2forms REST API (fetch): `{entity: {field: [{value}]}, data: {..., linked: {element: {fid: {id, url, mime_type, size}}}}}`.
 */
import type { Submission, SubmissionFile } from '../sf2900/model';

export class SubmissionError extends Error {
  override name = 'SubmissionError';
}

/** Submission base fields of a Drupal webform submission entity; never element values. */
export const BASE_FIELDS: ReadonlySet<string> = new Set([
  'sid',
  'serial',
  'uuid',
  'token',
  'uri',
  'created',
  'completed',
  'changed',
  'in_draft',
  'current_page',
  'remote_addr',
  'uid',
  'langcode',
  'webform_id',
  'entity_type',
  'entity_id',
  'locked',
  'sticky',
  'notes',
  'metadata',
  'default_langcode',
]);

/** A JSON body's own "__proto__" key (JSON.parse keeps it as a plain key; assigning it would replace a prototype). */
const PROTO = '__proto__';

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Unix seconds (number or digit string) or any date string Date can read → ISO 8601 (UTC); else undefined. */
export function toIsoTimestamp(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let ms: number;
  if (typeof v === 'number') ms = v * 1000;
  else if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) ms = Number(v.trim()) * 1000;
  else if (typeof v === 'string') ms = Date.parse(v);
  else return undefined;
  if (!Number.isFinite(ms)) return undefined;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Drupal's boolean as posted (1/0, "1"/"0", true/false, "true"/"false"); undefined when absent or unreadable. */
export function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === '1' || v === 'true') return true;
  if (v === 0 || v === '0' || v === 'false' || v === '') return false;
  return undefined;
}

// No two parts may match the same white space: `[…\s]*={0,2}\s*$` backtracked quadratically over a long run of it.
const BASE64_RE = /^[A-Za-z0-9+/\s]*(?:={1,2}\s*)?$/;

/** A remote-post file object: {id, name, uri, mime, uuid, data?}. */
function looksLikeFile(v: unknown): v is Record<string, unknown> {
  return isRecord(v) && typeof v.name === 'string' && ('uri' in v || 'id' in v || 'fid' in v) && ('mime' in v || 'uri' in v || 'data' in v);
}

function isFileElement(key: string, value: unknown): boolean {
  if (!key.startsWith('_') || key.length < 2) return false;
  if (Array.isArray(value)) return value.length > 0 && value.every(looksLikeFile);
  return looksLikeFile(value);
}

function pushFile(element: string, f: Record<string, unknown>): SubmissionFile {
  const file: SubmissionFile = { element, name: String(f.name) };
  const mime = str(f.mime) ?? str(f.filemime);
  if (mime) file.mime = mime;
  const id = str(f.id) ?? str(f.fid);
  if (id) file.id = id;
  const uuid = str(f.uuid);
  if (uuid) file.uuid = uuid;
  const uri = str(f.uri) ?? str(f.url);
  if (uri && /^https?:\/\//i.test(uri)) file.url = uri;
  if (typeof f.data === 'string' && f.data.length > 0) {
    if (!BASE64_RE.test(f.data)) throw new SubmissionError(`file "${element}" has data that is not base64`);
    file.content = Buffer.from(f.data, 'base64');
    file.size = file.content.length;
  } else {
    const size = Number(f.size ?? f.filesize);
    if (Number.isFinite(size) && size >= 0 && f.size !== undefined) file.size = size;
  }
  return file;
}

export interface PushOptions {
  /** Webform id to use when the body carries no `webform_id`. */
  webformId?: string;
}

/** Normalises a decoded remote-post body (JSON or form-encoded). Throws SubmissionError for what cannot be a submission. */
export function normaliseRemotePost(body: unknown, options: PushOptions = {}): Submission {
  if (!isRecord(body)) throw new SubmissionError('body is not a JSON object');
  const uuid = str(body.uuid);
  if (!uuid) throw new SubmissionError('submission has no uuid');
  if (!UUID_RE.test(uuid)) throw new SubmissionError('submission uuid is not a UUID');
  const webformId = str(body.webform_id) ?? options.webformId;
  if (!webformId) throw new SubmissionError('submission has no webform_id');

  const submission: Submission['submission'] = { uuid: uuid.toLowerCase() };
  const sid = str(body.sid);
  if (sid) submission.sid = sid;
  for (const k of ['created', 'completed', 'changed'] as const) {
    const iso = toIsoTimestamp(body[k]);
    if (iso) submission[k] = iso;
  }
  const langcode = str(body.langcode);
  if (langcode) submission.langcode = langcode;
  const inDraft = toBool(body.in_draft);
  if (inDraft !== undefined) submission.inDraft = inDraft;

  const data: Record<string, unknown> = {};
  const files: SubmissionFile[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (BASE_FIELDS.has(key)) continue;
    if (key === PROTO) throw new SubmissionError(`field name "${PROTO}" is not allowed`); // data[key] = … would set data's prototype
    if (isFileElement(key, value)) {
      const element = key.slice(1);
      const list = Array.isArray(value) ? value : [value];
      for (const f of list) files.push(pushFile(element, f as Record<string, unknown>));
      continue;
    }
    data[key] = value;
  }
  return { webform: { id: webformId }, submission, data, files };
}

/** First `value` of a Drupal REST field array (`[{value: x}]`), or the value itself. */
function fieldValue(v: unknown): unknown {
  if (Array.isArray(v)) {
    const first = v[0];
    if (isRecord(first)) return first.value ?? first.target_id;
    return first;
  }
  return v;
}

/** Normalises a submission from `GET /webform_rest/{webform}/submission/{uuid}`. Files carry `url`; content is fetched separately. */
export function normaliseRestSubmission(json: unknown, webformIdHint?: string): Submission {
  if (!isRecord(json)) throw new SubmissionError('REST submission is not a JSON object');
  const entity = isRecord(json.entity) ? json.entity : {};
  const rawData = isRecord(json.data) ? json.data : {};
  const get = (k: string): unknown => fieldValue(entity[k]) ?? fieldValue(json[k]);

  const uuid = str(get('uuid'));
  if (!uuid || !UUID_RE.test(uuid)) throw new SubmissionError('REST submission has no valid uuid');
  const webformId = str(get('webform_id')) ?? webformIdHint;
  if (!webformId) throw new SubmissionError('REST submission has no webform_id');

  const submission: Submission['submission'] = { uuid: uuid.toLowerCase() };
  const sid = str(get('sid'));
  if (sid) submission.sid = sid;
  for (const k of ['created', 'completed', 'changed'] as const) {
    const iso = toIsoTimestamp(get(k));
    if (iso) submission[k] = iso;
  }
  const langcode = str(get('langcode'));
  if (langcode) submission.langcode = langcode;
  const inDraft = toBool(get('in_draft'));
  if (inDraft !== undefined) submission.inDraft = inDraft;

  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rawData)) {
    if (k === 'linked' || BASE_FIELDS.has(k)) continue;
    if (k === PROTO) throw new SubmissionError(`REST submission field name "${PROTO}" is not allowed`);
    data[k] = v;
  }
  const files: SubmissionFile[] = [];
  const linked = isRecord(rawData.linked) ? rawData.linked : {};
  for (const [element, byId] of Object.entries(linked)) {
    if (!isRecord(byId)) continue;
    for (const [fid, f] of Object.entries(byId)) {
      if (!isRecord(f)) continue;
      const url = str(f.url);
      const name = str(f.name) ?? str(f.filename) ?? (url ? fileNameFromUrl(url) : undefined) ?? `file-${fid}`;
      const file: SubmissionFile = { element, name, id: str(f.id) ?? fid };
      const mime = str(f.mime_type) ?? str(f.mime);
      if (mime) file.mime = mime;
      const size = Number(f.size);
      if (f.size !== undefined && Number.isFinite(size) && size >= 0) file.size = size;
      if (url) file.url = url;
      files.push(file);
    }
  }
  return { webform: { id: webformId }, submission, data, files };
}

/** The last path segment of a URL, percent-decoded; only ever used as data (a display name), never as a path. */
export function fileNameFromUrl(url: string): string | undefined {
  try {
    const seg = new URL(url).pathname.split('/').filter(Boolean).pop();
    return seg ? decodeURIComponent(seg) : undefined;
  } catch {
    return undefined;
  }
}
