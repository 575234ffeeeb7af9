/**
 * XSD validation without native builds, on libxml2 compiled to WebAssembly (libxml2-wasm).
 *
 * - One compiled validator per schema file, cached by absolute path (the same promise is returned while the
 *   file is unchanged; a changed modification time or size loads it again).
 * - xs:import / xs:include are resolved relative to the including file and read from disk by our own input
 *   provider, which only serves regular files inside the directory tree of the schema that was loaded
 *   (symlinks resolved), or files a schema names by an absolute schemaLocation (path or file: URL). Anything else —
 *   `../` escapes, http(s), ftp — is refused, so compiling a schema never touches the network.
 * - DTDs are refused in schemas and instances (no DOCTYPE at all, hence no entities); libxml2 runs with
 *   XML_PARSE_NONET and XML_PARSE_NO_XXE as a second line of defence.
 * - Instances larger than MAX_XSD_INSTANCE_BYTES are reported invalid without being parsed.
 * - Every parsed instance document is disposed after validation (no wasm memory kept per call).
 *
 * libxml2-wasm is an ES module with top-level await, so it is loaded with a real dynamic import().
 */
import * as fs from 'fs';
import * as path from 'path';

/** Largest XML instance validate() parses; larger text is reported invalid (keyword-free message). */
export const MAX_XSD_INSTANCE_BYTES = 32 * 1024 * 1024;
/** Largest schema file (the top one or any import/include) we read. */
export const MAX_XSD_FILE_BYTES = 8 * 1024 * 1024;
/** At most this many errors are reported for one instance. */
export const MAX_XSD_ERRORS = 100;

export interface XsdValidationError {
  line?: number;
  message: string;
  /** XPath of the offending node when libxml2 reports one (e.g. `/SP241/Header`). */
  path?: string;
}

export interface XsdValidationResult {
  valid: boolean;
  errors: XsdValidationError[];
}

export interface XsdSchema {
  /** Synchronously validates XML text. Malformed, oversized or DOCTYPE-carrying text is reported invalid, never thrown. */
  validate(xml: string): XsdValidationResult;
}

type Libxml = typeof import('libxml2-wasm', { with: { 'resolution-mode': 'import' }});
type LibDocument = InstanceType<Libxml['XmlDocument']>;
type LibValidator = InstanceType<Libxml['XsdValidator']>;

// Kept as a real import() in the CommonJS output (tsconfig module node16).
let libPromise: Promise<Libxml> | undefined;

/** The directory tree the input provider may serve while a schema compiles; undefined → the provider is idle. */
let activeRoot: string | undefined;
/** Why a file was refused during the current compile (reported with the compile error). */
let refused: string[] = [];
const openFiles = new Map<number, { data: Buffer; pos: number }>();
let nextFd = 1;

const DOCTYPE_RE = /<!DOCTYPE/i;
const ENTITY_RE = /<!ENTITY/i;

function toLocalPath(name: string): string | undefined {
  if (/^file:/i.test(name)) {
    try {
      return require('url').fileURLToPath(name) as string;
    } catch {
      return undefined;
    }
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(name) && !/^[a-z]:[\\/]/i.test(name)) return undefined; // http:, ftp:, … (not C:\)
  return path.resolve(name);
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Files named by an absolute schemaLocation (a path or file: URL) in a schema read during the current compile. */
let absoluteAllowed = new Set<string>();
const SCHEMA_LOCATION_RE = /schemaLocation\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** Remembers the absolute schemaLocations of a schema text: those files may be read although outside the tree. */
function noteAbsoluteLocations(text: string): void {
  for (const m of text.matchAll(SCHEMA_LOCATION_RE)) {
    const loc = (m[1] ?? m[2] ?? '').trim();
    if (!path.isAbsolute(loc) && !/^file:/i.test(loc)) continue;
    const local = toLocalPath(loc);
    if (!local) continue;
    try {
      absoluteAllowed.add(fs.realpathSync(local));
    } catch {
      /* reported as "file not found" when libxml2 asks for it */
    }
  }
}

function openSchemaFile(name: string): number | undefined {
  const root = activeRoot;
  if (!root) return undefined;
  const local = toLocalPath(name);
  if (!local) {
    refused.push(`${name}: only local files are read (no network)`);
    return undefined;
  }
  let real: string;
  try {
    real = fs.realpathSync(local);
  } catch {
    refused.push(`${name}: file not found`);
    return undefined;
  }
  if (!isInside(root, real) && !absoluteAllowed.has(real)) {
    refused.push(`${name}: outside the schema directory ${root} (only an absolute schemaLocation may point elsewhere)`);
    return undefined;
  }
  try {
    const st = fs.statSync(real);
    if (!st.isFile()) throw new Error('not a file');
    if (st.size > MAX_XSD_FILE_BYTES) {
      refused.push(`${name}: larger than ${MAX_XSD_FILE_BYTES} bytes`);
      return undefined;
    }
    const data = fs.readFileSync(real);
    const text = data.toString('utf8');
    if (DOCTYPE_RE.test(text)) {
      refused.push(`${name}: contains a DOCTYPE, which is refused`);
      return undefined;
    }
    noteAbsoluteLocations(text);
    const fd = nextFd++;
    openFiles.set(fd, { data, pos: 0 });
    return fd;
  } catch {
    refused.push(`${name}: cannot be read`);
    return undefined;
  }
}

async function lib(): Promise<Libxml> {
  if (!libPromise) {
    libPromise = (async () => {
      const m: Libxml = await import('libxml2-wasm');
      // Registered once per process. It claims every file only while one of our schemas compiles
      // (compilation is synchronous), so other users of libxml2-wasm are unaffected.
      const registered = m.xmlRegisterInputProvider({
        match: () => activeRoot !== undefined,
        open: (name) => openSchemaFile(name),
        read: (fd, buf) => {
          const f = openFiles.get(fd);
          if (!f) return -1;
          const n = Math.min(buf.byteLength, f.data.length - f.pos);
          buf.set(f.data.subarray(f.pos, f.pos + n));
          f.pos += n;
          return n;
        },
        close: (fd) => openFiles.delete(fd),
      });
      if (!registered) throw new Error('libxml2-wasm refused the XSD input provider (its callback table is full)');
      return m;
    })();
    libPromise.catch(() => {
      libPromise = undefined;
    });
  }
  return libPromise;
}

function parseOptions(m: Libxml): number {
  return m.ParseOption.XML_PARSE_NONET | m.ParseOption.XML_PARSE_NO_XXE;
}

function firstLine(s: string): string {
  return String(s).trim().split('\n')[0];
}

function detailsOf(err: unknown): XsdValidationError[] {
  const details = (err as { details?: Array<{ message: string; line?: number; xpath?: string }> }).details;
  if (Array.isArray(details) && details.length) {
    return details.slice(0, MAX_XSD_ERRORS).map((d) => {
      const e: XsdValidationError = { message: firstLine(d.message) };
      if (typeof d.line === 'number' && d.line > 0) e.line = d.line;
      if (typeof d.xpath === 'string' && d.xpath) e.path = d.xpath;
      return e;
    });
  }
  return [{ message: firstLine((err as Error)?.message ?? String(err)) }];
}

class CompiledXsd implements XsdSchema {
  constructor(
    private readonly m: Libxml,
    // Kept referenced for as long as the validator lives (the compiled schema points into it).
    readonly schemaDoc: LibDocument,
    private readonly validator: LibValidator,
    readonly file: string,
  ) {}

  validate(xml: string): XsdValidationResult {
    if (typeof xml !== 'string') throw new TypeError('XML to validate must be a string');
    if (xml.length > MAX_XSD_INSTANCE_BYTES || Buffer.byteLength(xml, 'utf8') > MAX_XSD_INSTANCE_BYTES) {
      return { valid: false, errors: [{ message: `XML is larger than ${MAX_XSD_INSTANCE_BYTES} bytes and was not validated` }] };
    }
    if (DOCTYPE_RE.test(xml) || ENTITY_RE.test(xml)) {
      return { valid: false, errors: [{ message: 'XML contains a DOCTYPE or entity declaration, which is refused' }] };
    }
    let doc: LibDocument | undefined;
    try {
      doc = this.m.XmlDocument.fromString(xml, { option: parseOptions(this.m) });
    } catch (err) {
      return { valid: false, errors: detailsOf(err).map((e) => ({ ...e, message: `XML is not well-formed: ${e.message}` })) };
    }
    try {
      if (doc.dtd) return { valid: false, errors: [{ message: 'XML contains a DOCTYPE, which is refused' }] };
      this.validator.validate(doc);
      return { valid: true, errors: [] };
    } catch (err) {
      return { valid: false, errors: detailsOf(err) };
    } finally {
      doc.dispose();
    }
  }
}

async function compile(file: string): Promise<XsdSchema> {
  const m = await lib();
  const st = await fs.promises.stat(file).catch(() => undefined);
  if (!st || !st.isFile()) throw new Error(`XSD file not found: ${file}`);
  if (st.size > MAX_XSD_FILE_BYTES) throw new Error(`XSD file ${file} is larger than ${MAX_XSD_FILE_BYTES} bytes`);
  const text = await fs.promises.readFile(file);
  if (DOCTYPE_RE.test(text.toString('utf8'))) throw new Error(`XSD file ${file} contains a DOCTYPE, which is refused`);
  const real = await fs.promises.realpath(file);
  let doc: LibDocument;
  try {
    doc = m.XmlDocument.fromBuffer(text, { url: real, option: parseOptions(m) });
  } catch (err) {
    throw new Error(`XSD file ${file} is not well-formed XML: ${detailsOf(err)[0].message}`);
  }
  // Synchronous from here to the end of the compile: nothing else can run while activeRoot is set.
  activeRoot = path.dirname(real);
  refused = [];
  absoluteAllowed = new Set();
  noteAbsoluteLocations(text.toString('utf8'));
  try {
    const validator = m.XsdValidator.fromDoc(doc);
    return new CompiledXsd(m, doc, validator, file);
  } catch (err) {
    doc.dispose();
    const why = refused.length ? ` (${refused.join('; ')})` : '';
    throw new Error(
      `XSD ${file} cannot be compiled: ${detailsOf(err)
        .map((e) => e.message)
        .join('; ')}${why}`,
    );
  } finally {
    activeRoot = undefined;
    refused = [];
    absoluteAllowed = new Set();
    for (const fd of [...openFiles.keys()]) openFiles.delete(fd);
  }
}

interface CacheEntry {
  stamp: string;
  promise: Promise<XsdSchema>;
}
const cache = new Map<string, CacheEntry>();

function stampOf(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return 'missing';
  }
}

/**
 * Loads and compiles an XSD file (imports/includes relative to it, restricted to its directory tree).
 * Cached per absolute path: the same promise is returned while the file's mtime and size are unchanged.
 * A failed load is not cached, so fixing the file and redeploying works.
 */
export function loadXsd(xsdPath: string): Promise<XsdSchema> {
  if (typeof xsdPath !== 'string' || !xsdPath.trim()) return Promise.reject(new Error('XSD path is empty'));
  const abs = path.resolve(xsdPath);
  const stamp = stampOf(abs);
  const hit = cache.get(abs);
  if (hit && hit.stamp === stamp) return hit.promise;
  const promise = compile(abs);
  cache.set(abs, { stamp, promise });
  promise.catch(() => {
    if (cache.get(abs)?.promise === promise) cache.delete(abs);
  });
  // An outdated validator may still be in use by a running node; the FinalizationRegistry of libxml2-wasm frees it.
  return promise;
}

/** Forgets every cached schema (tests). */
export function clearXsdCache(): void {
  cache.clear();
}
