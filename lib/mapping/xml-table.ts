/**
 * Builds form XML from a mapping table: rows of `path ← value`, in order. Pure; no Node-RED.
 *
 * - `SP241/Header/KLE` creates (or reuses) SP241 and Header, then appends a KLE element with the value.
 *   Intermediate elements are reused when the parent's last child element has that name; a segment ending
 *   in `+` (e.g. `SP241/Header/Dokumenter+/Dokumentnavn`) always starts a new sibling.
 * - The last segment may be `@name`: an attribute on the element before it.
 * - A list value repeats the leaf element once per item; an object value becomes child elements in key order
 *   (nested objects and lists likewise), so `files.{"Dokumentnavn": sftpName, "Dokumenttype": role}` yields
 *   one <Dokumenter> per file.
 * - Empty values (undefined, null, "") skip the row, which suits optional elements.
 * Values are XML-escaped; element names are checked.
 */
import { escapeXml } from '../xml/safe-xml';
import { toDateTime } from './formats';

export class XmlTableError extends Error {
  override name = 'XmlTableError';
}

export interface XmlRow {
  path: string;
  value: unknown;
}

interface El {
  name: string;
  attrs: [string, string][];
  children: (El | string)[];
}

const NAME_RE = /^[A-Za-z_\u00C0-\u02FF][\w.\-\u00C0-\u02FF]*$/;
export const MAX_TABLE_ELEMENTS = 20_000;

/** Checks a row's path (at save/deploy time). Returns an error message or undefined. */
export function checkXmlPath(path: string): string | undefined {
  const segs = String(path ?? '')
    .trim()
    .split('/');
  if (segs.length === 0 || segs[0] === '') return 'path is empty';
  for (let i = 0; i < segs.length; i++) {
    let s = segs[i];
    if (i === segs.length - 1 && s.startsWith('@')) {
      if (i === 0) return 'an attribute needs an element before it';
      s = s.slice(1);
    } else if (s.endsWith('+')) s = s.slice(0, -1);
    if (!NAME_RE.test(s)) return `"${segs[i]}" is not an XML name`;
  }
  return undefined;
}

function scalar(v: unknown, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return toDateTime(v);
  if (Buffer.isBuffer(v)) throw new XmlTableError(`${path}: binary data cannot go in the XML`);
  throw new XmlTableError(`${path}: value is not text`);
}

export function buildXmlFromTable(rows: XmlRow[]): string {
  let root: El | undefined;
  let count = 0;
  const make = (name: string): El => {
    if (++count > MAX_TABLE_ELEMENTS) throw new XmlTableError(`more than ${MAX_TABLE_ELEMENTS} elements`);
    return { name, attrs: [], children: [] };
  };
  const fill = (el: El, v: unknown, path: string) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v)) {
      for (const [k, cv] of Object.entries(v as Record<string, unknown>)) {
        if (!NAME_RE.test(k)) throw new XmlTableError(`${path}: "${k}" is not an XML name`);
        for (const item of Array.isArray(cv) ? cv : [cv]) {
          if (item === undefined || item === null || item === '') continue;
          const c = make(k);
          fill(c, item, `${path}/${k}`);
          el.children.push(c);
        }
      }
    } else el.children.push(scalar(v, path));
  };
  for (const row of rows) {
    const problem = checkXmlPath(row.path);
    if (problem) throw new XmlTableError(`${row.path}: ${problem}`);
    if (row.value === undefined || row.value === null || row.value === '' || (Array.isArray(row.value) && row.value.length === 0)) continue;
    const segs = row.path.trim().split('/');
    const attr = segs[segs.length - 1].startsWith('@') ? segs.pop()!.slice(1) : undefined;
    const rootName = segs[0].replace(/\+$/, '');
    if (!root) root = make(rootName);
    else if (root.name !== rootName) throw new XmlTableError(`${row.path}: every path must start with the root element ${root.name}`);
    let el = root;
    const leafIndex = attr ? segs.length : segs.length - 1;
    for (let i = 1; i < leafIndex; i++) {
      const fresh = segs[i].endsWith('+');
      const name = segs[i].replace(/\+$/, '');
      const last = [...el.children].reverse().find((c): c is El => typeof c !== 'string');
      if (!fresh && last && last.name === name) el = last;
      else {
        const c = make(name);
        el.children.push(c);
        el = c;
      }
    }
    if (attr) {
      el.attrs = el.attrs.filter(([n]) => n !== attr);
      el.attrs.push([attr, scalar(row.value, row.path)]);
      continue;
    }
    if (leafIndex === 0) {
      fill(root, row.value, row.path);
      continue;
    }
    const leaf = segs[leafIndex].replace(/\+$/, '');
    for (const item of Array.isArray(row.value) ? row.value : [row.value]) {
      if (item === undefined || item === null || item === '') continue;
      const c = make(leaf);
      fill(c, item, row.path);
      el.children.push(c);
    }
  }
  if (!root) throw new XmlTableError('the mapping table produced no XML (no row had a value)');
  return serialise(root);
}

function serialise(el: El): string {
  const attrs = el.attrs.map(([n, v]) => ` ${n}="${escapeXml(v)}"`).join('');
  if (el.children.length === 0) return `<${el.name}${attrs}/>`;
  return `<${el.name}${attrs}>${el.children.map((c) => (typeof c === 'string' ? escapeXml(c) : serialise(c))).join('')}</${el.name}>`;
}
