/**
 * What the approver sees of a waiting message, and which fields they may correct: the builder's field list read once,
 * a message rendered into a view at arrival (CPR numbers masked unless allowed; attachments by name and size only,
 * never their contents), and corrections checked and applied. No Node-RED dependency.
 *
 * Field list, one per line:   Label = path            (shown)
 *                              *Label = path ~ regex   (shown and correctable; the value must match the regex)
 * `path` is a message property path such as `payload.data.navn` (a leading `msg.` is allowed).
 */
import { maskCpr } from '../privacy/cpr';

export interface FieldSpec {
  label: string;
  path: string[];
  editable: boolean;
  pattern?: RegExp;
}

export interface ApprovalView {
  fields: Array<{ label: string; value: string; editable: boolean; pattern?: string }>;
  attachments: Array<{ name: string; size?: number }>;
}

const MAX_VALUE = 2000;
const SAFE_KEY = /^[A-Za-z0-9_$-]+$/;

/** The field list; throws Error naming the line that cannot be read. */
export function parseFields(text: string): FieldSpec[] {
  const specs: FieldSpec[] = [];
  for (const [i, raw] of String(text ?? '')
    .split(/\r?\n/)
    .entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\*)?\s*([^=]+?)\s*=\s*([^~]+?)\s*(?:~\s*(.+))?$/.exec(line);
    if (!m) throw new Error(`fields, line ${i + 1}: write "Label = payload.path" (a leading * makes it correctable)`);
    const path = m[3]!.replace(/^msg\./, '').split('.');
    if (!path.every((k) => SAFE_KEY.test(k)) || path.some((k) => k === '__proto__' || k === 'constructor' || k === 'prototype')) {
      throw new Error(`fields, line ${i + 1}: "${m[3]}" is not a message property path`);
    }
    let pattern: RegExp | undefined;
    if (m[4]) {
      try {
        pattern = new RegExp(m[4]);
      } catch (err) {
        throw new Error(`fields, line ${i + 1}: the pattern is not a regular expression (${(err as Error).message})`);
      }
    }
    specs.push({ label: m[2]!, path, editable: !!m[1], pattern });
  }
  return specs;
}

function get(obj: unknown, path: string[]): unknown {
  let v: unknown = obj;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return `(${v.length} bytes)`;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The files a message carries (a webform in Submission's or a FordelingsObject's), by name and size. */
function attachmentsOf(msg: Record<string, unknown>): ApprovalView['attachments'] {
  const payload = msg.payload as { files?: unknown } | undefined;
  const files = Array.isArray(payload?.files) ? payload.files : [];
  return files
    .filter((f): f is { name: string; size?: number; content?: unknown } => !!f && typeof (f as { name?: unknown }).name === 'string')
    .map((f) => ({ name: f.name, ...(typeof f.size === 'number' ? { size: f.size } : Buffer.isBuffer(f.content) ? { size: f.content.length } : {}) }));
}

/** The view of `msg` for the approver's page. */
export function renderView(msg: Record<string, unknown>, specs: FieldSpec[], o: { showCpr: boolean }): ApprovalView {
  return {
    fields: specs.map((s) => {
      const value = show(get(msg, s.path)).slice(0, MAX_VALUE);
      return { label: s.label, value: o.showCpr ? value : maskCpr(value), editable: s.editable, ...(s.pattern ? { pattern: s.pattern.source } : {}) };
    }),
    attachments: attachmentsOf(msg),
  };
}

/** A message title from a template with {{path}} placeholders (masked like the fields). */
export function renderTitle(template: string, msg: Record<string, unknown>, o: { showCpr: boolean }): string {
  const text = (template || 'Godkendelse').replace(/\{\{\s*(?:msg\.)?([A-Za-z0-9_.$-]+)\s*\}\}/g, (_, p: string) => show(get(msg, p.split('.'))));
  const title = text.slice(0, 200);
  return o.showCpr ? title : maskCpr(title);
}

export class EditError extends Error {
  override name = 'EditError';
}

/**
 * Checks the corrections the approver sent (label → new value; only correctable fields, each matching its pattern)
 * and applies them to `msg`. Returns the corrections that change something.
 */
export function applyEdits(msg: Record<string, unknown>, specs: FieldSpec[], edits: Record<string, string>): Record<string, string> {
  const done: Record<string, string> = {};
  for (const [label, value] of Object.entries(edits)) {
    const spec = specs.find((s) => s.label === label);
    if (!spec?.editable) throw new EditError(`"${label}" cannot be corrected`);
    if (typeof value !== 'string' || value.length > MAX_VALUE || /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(value)) {
      throw new EditError(`"${label}": not a valid text`);
    }
    if (spec.pattern && !spec.pattern.test(value)) throw new EditError(`"${label}" does not have the required form`);
    if (show(get(msg, spec.path)) === value) continue;
    let target = msg as Record<string, unknown>;
    for (const k of spec.path.slice(0, -1)) {
      const next = target[k];
      if (next === null || typeof next !== 'object') target[k] = {};
      target = target[k] as Record<string, unknown>;
    }
    target[spec.path[spec.path.length - 1]!] = value;
    done[label] = value;
  }
  return done;
}
