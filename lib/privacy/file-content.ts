/**
 * Leaving file contents out of text that a person sees (the OS2 sidebar's details, error texts): a base64 payload
 * becomes a marker with the element's name and the decoded size, e.g. `[file content left out: FormularIndhold, 1.2 MB]`.
 * What counts as file content:
 *   - the text of an element whose name says it holds a file (`FormularIndhold`, `DokumentIndhold`, any `…Indhold`,
 *     `FileContent`, `Base64…`), whatever its length, when it is base64 (in XML, CDATA, or escaped XML);
 *   - any run of the base64 alphabet (standard or URL-safe, line-wrapped or not) of 200 characters or more, in any text;
 *   - in JSON-like values and JSON text, the `content`/`data` of a file object (one with a name, mime type, size or uri
 *     beside it) and `base64`/`contentBase64`/`pdfBase64`/`fileContent` fields.
 * CPR numbers are a separate concern (lib/privacy/cpr.ts): apply both. No dependency.
 */

export const FILE_CONTENT_MARK = 'file content left out';

/** Base64 runs at least this long are file content wherever they are. */
export const LONG_BASE64 = 200;

/** How many characters of the base64 alphabet (standard or URL-safe) a text holds. */
function countBase64(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A-Z a-z 0-9 + / - _
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 45 || c === 95) n++;
  }
  return n;
}

/** Line breaks as JSON escapes or XML character references (canonical XML writes `&#13;`). */
const ENCODED_BREAK = /\\[rn]|&#(?:13|10|x[dDaA]);/g;
/** Only the base64 alphabet (with padding, line breaks and indentation), and something in it. */
const ALL_BASE64 = /^\s*[A-Za-z0-9+/_-][A-Za-z0-9+/_=\s-]*$/;

/** Element local names whose text is a file's content (any namespace prefix). */
const FILE_ELEMENT = /(?:Indhold|^FileContent|^BinaryContent|^Base64(?:Content|Data)?)$/;

/** Whether an element (its local name) holds a file's content, whatever the content looks like. */
export function isFileElement(localName: string): boolean {
  return FILE_ELEMENT.test(localName);
}
/** JSON fields that hold a file's content on their own … */
const FILE_KEYS = new Set(['base64', 'contentBase64', 'dataBase64', 'pdfBase64', 'fileContent', 'fileData']);
/** … and those that do when a file's name, type, size or location stands beside them. */
const CONTENT_KEYS = new Set(['content', 'data', 'body']);
const FILE_SIBLINGS = ['name', 'filename', 'fileName', 'mime', 'mimeType', 'mimetype', 'contentType', 'size', 'uri', 'url', 'sftpName', 'element'];

/** A text-only element (`<a:Name attr="…">text</a:Name>`), its CDATA form, and the same escaped inside text. */
const ELEMENT = /<((?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*))(\s[^<>]*)?>(?:<!\[CDATA\[([^\]]*)\]\]>|([^<]*))<\/\1\s*>/g;
const ESCAPED_ELEMENT = /&lt;((?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*))(\s(?:(?!&[lg]t;)[^<>])*)?&gt;((?:(?!&lt;)[^<])*)&lt;\/\1\s*&gt;/g;
/** A JSON text field holding a string (`"key": "…"`). */
const JSON_FIELD = /"([A-Za-z_][\w]*)"(\s*:\s*)"([A-Za-z0-9+/_=\s\\-]*)"/g;
/** A line break inside a base64 text: real, JSON-escaped (`\\n`) or an XML character reference, then indentation. */
const LINE_BREAK = /^(?:\r?\n|\r|\\r\\n|\\n|\\r|&#(?:13|10|x[dDaA]);)+[ \t]*/;

function isBase64Code(c: number): boolean {
  // A-Z a-z 0-9 + / - _
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 45 || c === 95;
}

/**
 * Every base64 run of LONG_BASE64 characters or more replaced by a marker. A run may span lines as base64 is wrapped:
 * each line but the last 40 characters or more. A scan, not a regular expression: matching every word of a long text
 * with one costs many times more in V8.
 */
function elideRuns(text: string): string {
  const n = text.length;
  const parts: string[] = [];
  let copied = 0;
  let i = 0;
  const runEnd = (from: number) => {
    let j = from;
    while (j < n && isBase64Code(text.charCodeAt(j))) j++;
    return j;
  };
  while (i < n) {
    if (!isBase64Code(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let end = runEnd(i);
    let line = end - i;
    if (line < 40) {
      i = end;
      continue;
    }
    let count = line;
    while (line >= 40) {
      const brk = LINE_BREAK.exec(text.slice(end, end + 64));
      if (!brk) break;
      const from = end + brk[0].length;
      const to = runEnd(from);
      // a short last line ends the text, a line or the element; a word followed by a space is prose
      if (to === from || (to - from < 40 && (text[to] === ' ' || text[to] === '\t'))) break;
      line = to - from;
      count += line;
      end = to;
    }
    if (text[end] === '=') end += text[end + 1] === '=' ? 2 : 1;
    if (count >= LONG_BASE64) {
      parts.push(text.slice(copied, i), fileContentMarker(text.slice(i, end)));
      copied = end;
    }
    i = end;
  }
  if (!parts.length) return text;
  parts.push(text.slice(copied));
  return parts.join('');
}

/** How many bytes a base64 text decodes to (whitespace, escaped line breaks and padding ignored). */
export function base64Size(b64: string): number {
  return Math.floor((countBase64(b64.replace(ENCODED_BREAK, '')) * 6) / 8);
}

/** A byte count as people read it: `834 bytes`, `12.3 kB`, `1.2 MB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  if (bytes < 1_000_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return `${(bytes / 1_000_000_000).toFixed(1)} GB`;
}

/** The marker that stands in for a file's content. */
export function fileContentMarker(b64: string, name?: string): string {
  return `[${FILE_CONTENT_MARK}: ${name ? `${name}, ` : ''}${formatSize(base64Size(b64))}]`;
}

const isBase64 = (s: string): boolean => ALL_BASE64.test(s.replace(ENCODED_BREAK, '\n').replace(/\\\//g, '/'));
const isLong = (s: string): boolean => countBase64(s.replace(ENCODED_BREAK, '')) >= LONG_BASE64;

/** The element's text as a marker when it is file content (by name, or a long base64 text); undefined otherwise. */
function elementContent(name: string, text: string): string | undefined {
  if (!isBase64(text)) return undefined;
  if (FILE_ELEMENT.test(name) || isLong(text)) return fileContentMarker(text, name);
  return undefined;
}

/** The text with every file content in it replaced by a marker (see the module's comment). */
export function elideFileContents(text: string): string {
  if (!text) return text;
  let out = text;
  if (out.includes('<'))
    out = out.replace(ELEMENT, (all, qname: string, name: string, attrs: string | undefined, cdata: string | undefined, plain: string | undefined) => {
      const marker = elementContent(name, cdata ?? plain ?? '');
      return marker === undefined ? all : `<${qname}${attrs ?? ''}>${marker}</${qname}>`;
    });
  if (out.includes('&lt;'))
    out = out.replace(ESCAPED_ELEMENT, (all, qname: string, name: string, attrs: string | undefined, content: string) => {
      const marker = elementContent(name, content);
      return marker === undefined ? all : `&lt;${qname}${attrs ?? ''}&gt;${marker}&lt;/${qname}&gt;`;
    });
  if (out.includes('"'))
    out = out.replace(JSON_FIELD, (all, key: string, colon: string, value: string, at: number, whole: string) => {
      if (!value || !isBase64(value)) return all;
      if (FILE_KEYS.has(key) || (CONTENT_KEYS.has(key) && (isLong(value) || jsonFileObjectAround(whole, at, all.length)))) {
        return `"${key}"${colon}"${fileContentMarker(value, key)}"`;
      }
      return all;
    });
  return elideRuns(out);
}

/** Whether a `"content": "…"` field of JSON text (at `at`, `length` long) sits in an object that also names a file. */
function jsonFileObjectAround(text: string, at: number, length: number): boolean {
  const from = text.lastIndexOf('{', at);
  const to = text.indexOf('}', at + length);
  const around = text.slice(Math.max(from, at - 2000, 0), to < 0 ? at + length + 2000 : Math.min(to, at + length + 2000));
  const field = text.slice(at, at + length);
  return FILE_SIBLINGS.some((k) => around.replace(field, '').includes(`"${k}"`));
}

/** elideFileContents applied to every string of a JSON-like value, and file objects' contents left out (a copy). */
export function elideFileContentsDeep<T>(value: T): T {
  if (typeof value === 'string') return elideFileContents(value) as unknown as T;
  if (Buffer.isBuffer(value)) return `[${FILE_CONTENT_MARK}: ${formatSize(value.length)}]` as unknown as T;
  if (Array.isArray(value)) return value.map((v) => elideFileContentsDeep(v)) as unknown as T;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const isFile = entries.some(([k, v]) => FILE_SIBLINGS.includes(k) && v !== undefined && v !== null && typeof v !== 'object');
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      if (typeof v === 'string' && v !== '' && (FILE_KEYS.has(k) || (CONTENT_KEYS.has(k) && isFile)) && isBase64(v)) out[k] = fileContentMarker(v, k);
      else if (Buffer.isBuffer(v) || v instanceof Uint8Array) out[k] = `[${FILE_CONTENT_MARK}: ${k}, ${formatSize(v.length)}]`;
      else out[k] = elideFileContentsDeep(v);
    }
    return out as T;
  }
  return value;
}
