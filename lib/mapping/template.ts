/**
 * A small, bounded, logic-light template language for the FORMULAR form XML (and for single text fields):
 *
 *   {{data.ansoeger_fornavn}}            value at a path, XML-escaped (numbers index lists: files.0.name)
 *   {{cprUrn data.cpr}}                  helper call; arguments are paths, "strings", numbers, true/false/null
 *   {{#each files}}…{{@index}}…{{else}}…{{/each}}   loop (a single non-list value loops once), {{this}}, @index, @number, @first, @last
 *   {{#if data.x}}…{{else}}…{{/if}}      conditional; {{#if eq data.x "ja"}} uses a helper; {{#unless …}}
 *   {{#with data.ansoeger}}…{{/with}}    narrows the scope
 *   {{! comment }}
 *
 * Names are looked up from the innermost scope outwards. Values are always escaped for XML; there is no raw
 * output. Rendering is bounded: output size, total loop iterations and nesting depth are capped.
 * Pure: no Node-RED. Errors carry the template line and never the value of a placeholder.
 */
import { escapeXml, parseXmlSafely } from '../xml/safe-xml';
import { cprUrn, cvrUrn, FormatError, normaliseCpr, normaliseCvr, normaliseKle, normaliseUuid, toDate, toDateTime, toDecimal2 } from './formats';

export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line ? `template line ${line}: ${message}` : message);
  }
}

export interface TemplateLimits {
  /** Largest template text accepted (characters). */
  maxTemplateChars: number;
  /** Largest rendered output (characters). */
  maxOutputChars: number;
  /** Total loop iterations per render. */
  maxIterations: number;
  /** Deepest block nesting. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: TemplateLimits = {
  maxTemplateChars: 1_000_000,
  maxOutputChars: 5_000_000,
  maxIterations: 10_000,
  maxDepth: 32,
};

export interface RenderOptions {
  /** A placeholder whose path leads nowhere is an error (true, default) or renders as empty text. */
  strict?: boolean;
  /** Escape for XML (default) or leave text as is (plain text fields, e.g. a title). */
  escape?: boolean;
  limits?: Partial<TemplateLimits>;
}

type Arg = { kind: 'path'; path: string[]; text: string } | { kind: 'lit'; value: unknown };
interface Expr {
  helper?: string;
  args: Arg[];
  text: string;
}
type TNode =
  | { t: 'text'; v: string }
  | { t: 'out'; e: Expr; line: number }
  | { t: 'block'; kind: 'each' | 'if' | 'unless' | 'with'; e: Expr; body: TNode[]; alt: TNode[]; line: number };

export type Helper = (...args: unknown[]) => unknown;

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || v === false || (Array.isArray(v) && v.length === 0);
}

/** Helpers usable in templates. Each gets the evaluated arguments. */
export const HELPERS: Record<string, Helper> = {
  cvr: (v) => normaliseCvr(v),
  cvrUrn: (v) => cvrUrn(v),
  cpr: (v) => normaliseCpr(v),
  cprUrn: (v) => cprUrn(v),
  kle: (v) => normaliseKle(v),
  uuid: (v) => normaliseUuid(v),
  date: (v) => toDate(v === undefined ? new Date() : v),
  dateTime: (v) => toDateTime(v === undefined ? new Date() : v),
  decimal: (v) => toDecimal2(v),
  digits: (v) => (v === undefined || v === null ? '' : String(v).replace(/[^0-9]/g, '')),
  upper: (v) => (v === undefined || v === null ? '' : String(v).toUpperCase()),
  lower: (v) => (v === undefined || v === null ? '' : String(v).toLowerCase()),
  trim: (v) => (v === undefined || v === null ? '' : String(v).trim()),
  truncate: (v, n) =>
    v === undefined || v === null
      ? ''
      : Array.from(String(v))
          .slice(0, Number(n) || 0)
          .join(''),
  default: (...vs) => vs.find((v) => !isEmpty(v)) ?? '',
  join: (v, sep) => (Array.isArray(v) ? v.map((x) => String(x ?? '')).join(sep === undefined ? ', ' : String(sep)) : (v ?? '')),
  count: (v) => (Array.isArray(v) ? v.length : isEmpty(v) ? 0 : 1),
  eq: (a, b) => String(a ?? '') === String(b ?? ''),
  ne: (a, b) => String(a ?? '') !== String(b ?? ''),
  not: (a) => isEmpty(a),
  and: (...vs) => vs.every((v) => !isEmpty(v)),
  or: (...vs) => vs.some((v) => !isEmpty(v)),
};

const PATH_RE = /^(this|@index|@number|@first|@last|[A-Za-z_$][\w$-]*|[0-9]+)(\.([A-Za-z_$][\w$-]*|[0-9]+))*$/;

function tokenizeArgs(src: string, line: number): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s"']+)/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < src.length) {
    re.lastIndex = pos;
    m = re.exec(src);
    if (!m) {
      if (src.slice(pos).trim() === '') break;
      throw new TemplateError(`cannot read "${src.trim()}"`, line);
    }
    out.push(m[1]);
    pos = re.lastIndex;
  }
  return out;
}

function parseArg(tok: string, line: number): Arg {
  if (/^"/.test(tok) || /^'/.test(tok)) return { kind: 'lit', value: tok.slice(1, -1).replace(/\\(.)/g, '$1') };
  if (/^-?[0-9]+(\.[0-9]+)?$/.test(tok)) return { kind: 'lit', value: Number(tok) };
  if (tok === 'true' || tok === 'false') return { kind: 'lit', value: tok === 'true' };
  if (tok === 'null') return { kind: 'lit', value: null };
  if (!PATH_RE.test(tok)) throw new TemplateError(`"${tok}" is not a path, string or number`, line);
  return { kind: 'path', path: tok.split('.'), text: tok };
}

function parseExpr(src: string, line: number, helpers: Record<string, Helper>): Expr {
  const toks = tokenizeArgs(src, line);
  if (toks.length === 0) throw new TemplateError('empty {{ }}', line);
  // Own helpers only: `constructor`, `toString`, … are paths (element names), not what every object inherits.
  if (toks.length > 1 || (Object.hasOwn(helpers, toks[0]) && !/[."']/.test(toks[0]))) {
    const name = toks[0];
    if (!Object.hasOwn(helpers, name)) throw new TemplateError(`unknown helper "${name}" (known: ${Object.keys(helpers).join(', ')})`, line);
    return { helper: name, args: toks.slice(1).map((t) => parseArg(t, line)), text: src.trim() };
  }
  return { args: [parseArg(toks[0], line)], text: src.trim() };
}

export class Template {
  private readonly root: TNode[];
  private readonly limits: TemplateLimits;

  constructor(
    readonly source: string,
    limits: Partial<TemplateLimits> = {},
    private readonly helpers: Record<string, Helper> = HELPERS,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    if (typeof source !== 'string') throw new TemplateError('template must be text');
    if (source.length > this.limits.maxTemplateChars) throw new TemplateError(`template is longer than ${this.limits.maxTemplateChars} characters`);
    this.root = this.parse();
  }

  private parse(): TNode[] {
    const src = this.source;
    const root: TNode[] = [];
    const stack: { node: Extract<TNode, { t: 'block' }>; inAlt: boolean }[] = [];
    const target = (): TNode[] => {
      const top = stack[stack.length - 1];
      return top ? (top.inAlt ? top.node.alt : top.node.body) : root;
    };
    let pos = 0;
    let line = 1;
    // Each tag is the first "}}" after a "{{" (found with indexOf: a lazy regex rescanned the rest of the text from every
    // unclosed "{{", quadratic in a template full of them).
    for (let open = src.indexOf('{{'); open >= 0; open = src.indexOf('{{', pos)) {
      const close = src.indexOf('}}', open + 2);
      if (close < 0) break;
      const before = src.slice(pos, open);
      if (before) target().push({ t: 'text', v: before });
      line += countLines(before);
      const tagLine = line;
      line += countLines(src.slice(open, close + 2));
      pos = close + 2;
      const inner = src.slice(open + 2, close).trim();
      if (inner.startsWith('!')) continue;
      if (inner.startsWith('#')) {
        const sp = inner.search(/\s/);
        const kind = (sp < 0 ? inner.slice(1) : inner.slice(1, sp)) as 'each' | 'if' | 'unless' | 'with';
        if (!['each', 'if', 'unless', 'with'].includes(kind)) throw new TemplateError(`unknown block "#${kind}" (use #each, #if, #unless, #with)`, tagLine);
        if (sp < 0) throw new TemplateError(`{{#${kind}}} needs an expression`, tagLine);
        if (stack.length >= this.limits.maxDepth) throw new TemplateError(`blocks nested deeper than ${this.limits.maxDepth}`, tagLine);
        const node = { t: 'block' as const, kind, e: parseExpr(inner.slice(sp + 1), tagLine, this.helpers), body: [], alt: [], line: tagLine };
        target().push(node);
        stack.push({ node, inAlt: false });
      } else if (inner.startsWith('/')) {
        const kind = inner.slice(1).trim();
        const top = stack.pop();
        if (!top) throw new TemplateError(`{{/${kind}}} without an opening {{#${kind}}}`, tagLine);
        if (top.node.kind !== kind) throw new TemplateError(`{{/${kind}}} closes {{#${top.node.kind}}} from line ${top.node.line}`, tagLine);
      } else if (inner === 'else') {
        const top = stack[stack.length - 1];
        if (!top || top.inAlt || top.node.kind === 'with') throw new TemplateError('{{else}} outside an {{#if}}, {{#unless}} or {{#each}}', tagLine);
        top.inAlt = true;
      } else {
        target().push({ t: 'out', e: parseExpr(inner, tagLine, this.helpers), line: tagLine });
      }
    }
    const rest = src.slice(pos);
    if (rest.includes('{{')) throw new TemplateError('"{{" without a closing "}}"', line + countLines(rest.slice(0, rest.indexOf('{{'))));
    if (rest) target().push({ t: 'text', v: rest });
    const open = stack.pop();
    if (open) throw new TemplateError(`{{#${open.node.kind}}} is never closed`, open.node.line);
    return root;
  }

  /** Renders with `context` as the outermost scope. */
  render(context: unknown, options: RenderOptions = {}): string {
    const strict = options.strict !== false;
    const escaping = options.escape !== false;
    const limits = { ...this.limits, ...options.limits };
    const state = { out: [] as string[], size: 0, iterations: 0 };
    const scopes: Scope[] = [{ value: context }];
    const helpers = this.helpers;

    const lookup = (arg: Arg, line: number): unknown => {
      if (arg.kind === 'lit') return arg.value;
      const [first, ...rest] = arg.path;
      let v: unknown;
      if (first.startsWith('@')) {
        let s: Scope | undefined; // the innermost {{#each}}
        for (let i = scopes.length - 1; i >= 0 && !s; i--) if (scopes[i].loop) s = scopes[i];
        if (!s || !s.loop) throw new TemplateError(`${first} outside {{#each}}`, line);
        v = { '@index': s.loop.index, '@number': s.loop.index + 1, '@first': s.loop.index === 0, '@last': s.loop.index === s.loop.length - 1 }[first];
      } else if (first === 'this') {
        v = scopes[scopes.length - 1].value;
      } else {
        let found = false;
        for (let i = scopes.length - 1; i >= 0; i--) {
          const sv = scopes[i].value;
          if (sv !== null && typeof sv === 'object' && !Buffer.isBuffer(sv) && Object.hasOwn(sv, first)) {
            v = (sv as Record<string, unknown>)[first];
            found = true;
            break;
          }
        }
        if (!found) return undefined;
      }
      for (const seg of rest) {
        if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || !Object.hasOwn(v, seg)) return undefined;
        v = (v as Record<string, unknown>)[seg];
      }
      return v;
    };

    const evaluate = (e: Expr, line: number): unknown => {
      const args = e.args.map((a) => lookup(a, line));
      if (!e.helper) return args[0];
      try {
        return helpers[e.helper](...args);
      } catch (err) {
        const msg = err instanceof FormatError || err instanceof Error ? err.message : String(err);
        throw new TemplateError(`{{${e.text}}}: ${msg}`, line);
      }
    };

    const emit = (s: string, line: number) => {
      state.size += s.length;
      if (state.size > limits.maxOutputChars) throw new TemplateError(`output is larger than ${limits.maxOutputChars} characters`, line);
      state.out.push(s);
    };

    const walk = (nodes: TNode[]) => {
      for (const n of nodes) {
        if (n.t === 'text') emit(n.v, 0);
        else if (n.t === 'out') {
          const v = evaluate(n.e, n.line);
          if (v === undefined && strict) throw new TemplateError(`{{${n.e.text}}} has no value`, n.line);
          const s = stringify(v, n.e.text, n.line);
          emit(escaping ? escapeXml(s) : s, n.line);
        } else {
          const v = evaluate(n.e, n.line);
          if (n.kind === 'if' || n.kind === 'unless') {
            const truthy = !isEmpty(v) && v !== 0;
            walk((n.kind === 'if') === truthy ? n.body : n.alt);
          } else if (n.kind === 'with') {
            if (isEmpty(v)) continue;
            scopes.push({ value: v });
            walk(n.body);
            scopes.pop();
          } else {
            const list = Array.isArray(v) ? v : isEmpty(v) ? [] : [v];
            if (list.length === 0) walk(n.alt);
            for (let i = 0; i < list.length; i++) {
              if (++state.iterations > limits.maxIterations) throw new TemplateError(`more than ${limits.maxIterations} loop iterations`, n.line);
              scopes.push({ value: list[i], loop: { index: i, length: list.length } });
              walk(n.body);
              scopes.pop();
            }
          }
        }
      }
    };
    walk(this.root);
    return state.out.join('');
  }

  /** The template with every tag removed (blocks) or replaced by a neutral word (values): for static XML checks. */
  skeleton(): string {
    const parts: string[] = [];
    const walk = (nodes: TNode[]) => {
      for (const n of nodes) {
        if (n.t === 'text') parts.push(n.v);
        else if (n.t === 'out') parts.push('x');
        else {
          walk(n.body);
          walk(n.alt);
        }
      }
    };
    walk(this.root);
    return parts.join('');
  }
}

interface Scope {
  value: unknown;
  loop?: { index: number; length: number };
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function stringify(v: unknown, text: string, line: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) {
    try {
      return toDateTime(v);
    } catch (err) {
      throw new TemplateError(`{{${text}}}: ${(err as Error).message}`, line); // an invalid Date, with the line like any other
    }
  }
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) throw new TemplateError(`{{${text}}} is binary data, not text`, line);
  throw new TemplateError(`{{${text}}} is ${Array.isArray(v) ? 'a list' : 'an object'}, not text (use {{#each}} or a deeper path)`, line);
}

/**
 * Checks a form-XML template when it is saved or deployed: its tags parse, and with the tags taken out the
 * text is well-formed XML with one root element.
 */
export function checkXmlTemplate(source: string, limits?: Partial<TemplateLimits>): Template {
  const t = new Template(source, limits);
  try {
    parseXmlSafely(t.skeleton(), 'XML template');
  } catch (err) {
    throw new TemplateError((err as Error).message);
  }
  return t;
}

/**
 * Makes rendered form XML fit FormularXML: well-formed, exactly one root element, no XML declaration,
 * no DTD. Returns the root element's text (prolog and surrounding comments removed).
 */
export function toFormXml(rendered: string): string {
  const doc = parseXmlSafely(rendered, 'form XML');
  const root = doc.documentElement;
  if (!root) throw new TemplateError('form XML has no root element');
  const name = root.nodeName;
  // Cut the root element's own text out of the source instead of re-serialising it (keeps the author's layout).
  let start = 0;
  for (;;) {
    const rest = rendered.slice(start);
    const ws = /^\s+/.exec(rest);
    if (ws) {
      start += ws[0].length;
      continue;
    }
    if (rest.startsWith('<?')) {
      start = rendered.indexOf('?>', start) + 2;
      continue;
    }
    if (rest.startsWith('<!--')) {
      start = rendered.indexOf('-->', start) + 3;
      continue;
    }
    break;
  }
  const close = rendered.lastIndexOf(`</${name}`);
  const end = close >= start ? rendered.indexOf('>', close) : rendered.indexOf('>', start);
  if (end < start) throw new TemplateError('form XML root element not found');
  return rendered.slice(start, end + 1);
}
