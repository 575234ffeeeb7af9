/**
 * Arbitraries for the fuzz tests: hostile text, XML tokens, and mutations of valid XML documents — on the text
 * (insert/delete at any position) and on the tree (remove, duplicate, rename, move into another namespace, replace
 * text, add attributes, nest deeply, repeat widely, add comments/CDATA/processing instructions).
 */
import { DOMParser, XMLSerializer, type Document, type Element, type Node } from '@xmldom/xmldom';
import fc from 'fast-check';

/** Characters and sequences parsers trip over: controls, XML-illegal code points, lone surrogates, markup, entities. */
export const NASTY = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000B',
  '\u000C',
  '\u001F',
  '\u007F',
  '\t',
  '\n',
  '\r',
  '\r\n',
  ' ',
  '\u00A0',
  '\u2028',
  '\u2029',
  '\uFEFF',
  '\uFFFE',
  '\uFFFF',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\u{1F600}',
  '\u0301',
  'æ',
  'ø',
  'å',
  'Æ',
  'Ø',
  'Å',
  '&',
  '<',
  '>',
  '"',
  "'",
  '=',
  '/',
  ':',
  ';',
  '%',
  '+',
  '[',
  ']',
  '{',
  '}',
  '\\',
  ']]>',
  '-->',
  '?>',
  '&amp;',
  '&lt;',
  '&#0;',
  '&#65;',
  '&#x1F600;',
  '&#xD800;',
  '&nosuch;',
] as const;

/** One code point or sequence: mostly printable Unicode, often something nasty. */
export const anyChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

export function anyText(maxLength = 40): fc.Arbitrary<string> {
  return fc.string({ unit: anyChar, maxLength });
}

/** Characters XML 1.0 cannot carry (what escapeXml drops). */
export const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Line ends xmldom normalises to a line feed before parsing (XML 1.1 §2.11: CR, CR LF, NEL, LS, PS). */
const LINE_ENDS = /[\r\u0085\u2028\u2029]/g;

/** What an XML text node holding escapeXml(s) reads back as: illegal characters gone, line ends normalised. */
export function xmlTextOf(s: string): string {
  return s
    .replace(XML_ILLEGAL, '')
    .replace(/\r[\n\u0085]/g, '\n')
    .replace(LINE_ENDS, '\n');
}

/**
 * A value that survives being written into an element and read back trimmed: non-empty, no characters XML cannot
 * carry, no line-end characters the parser rewrites, no surrounding white space.
 */
export function xmlValue(maxLength = 40): fc.Arbitrary<string> {
  return anyText(maxLength)
    .map((s) => s.replace(XML_ILLEGAL, '').replace(LINE_ENDS, '').trim())
    .filter((s) => s.length > 0);
}

/** Markup fragments for text mutations. */
export const XML_TOKEN: fc.Arbitrary<string> = fc.constantFrom(
  '<',
  '>',
  '</',
  '/>',
  '<a>',
  '</a>',
  '<!--',
  '-->',
  '<![CDATA[',
  ']]>',
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<?pi data?>',
  '<!DOCTYPE x>',
  '<!DOCTYPE x [<!ENTITY e "x">]>',
  '<!ENTITY e SYSTEM "file:///etc/passwd">',
  '&e;',
  '&',
  '&amp;',
  '&#0;',
  '&#65;',
  '&#x10FFFF;',
  '&#x110000;',
  '"',
  "'",
  '=',
  ' xmlns="urn:fuzz"',
  ' xmlns:v2=""',
  ' xmlns:=""',
  ' a="1" a="2"',
  ':',
  'soapenv:',
  '\uFEFF',
  '\u0000',
  ' ',
  '\n',
);

export interface TextMutation {
  pos: number;
  del: number;
  insert: string;
}

export const textMutation: fc.Arbitrary<TextMutation> = fc.record({
  pos: fc.nat(),
  del: fc.oneof(fc.constant(0), fc.nat({ max: 8 }), fc.nat({ max: 200 })),
  insert: fc.oneof(XML_TOKEN, anyText(12), fc.constant('')),
});

/** Applies text mutations in order, each at its position modulo the current length. */
export function mutateText(text: string, mutations: readonly TextMutation[]): string {
  let s = text;
  for (const m of mutations) {
    const at = m.pos % (s.length + 1);
    s = s.slice(0, at) + m.insert + s.slice(at + m.del);
  }
  return s;
}

/** Namespaces seen in SF2900 / STS / SFTP messages, and foreign ones. */
export const NAMESPACES = [
  '',
  'http://schemas.xmlsoap.org/soap/envelope/',
  'http://www.w3.org/2003/05/soap-envelope',
  'urn:oio:sagdok:3.0.0',
  'http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/2/',
  'http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/',
  'http://serviceplatformen.dk/xml/wsdl/soap11/SFTP/1/types',
  'urn:oasis:names:tc:SAML:2.0:assertion',
  'http://docs.oasis-open.org/ws-sx/ws-trust/200512',
  'http://www.w3.org/2000/09/xmldsig#',
  'urn:fuzz',
  'urn:fuzz:æøå',
] as const;

export const xmlNameStart = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_æøåÆØÅ'.split(''));
export const xmlNameChar = fc.constantFrom(...'abcxyzABCXYZ0129_-.æøå'.split(''));
/** An NCName: a letter or underscore, then name characters. */
export const ncName: fc.Arbitrary<string> = fc.tuple(xmlNameStart, fc.string({ unit: xmlNameChar, maxLength: 10 })).map(([a, b]) => a + b);

export type TreeOp =
  | { op: 'remove'; at: number }
  | { op: 'duplicate'; at: number; times: number }
  | { op: 'rename'; at: number; name: string }
  | { op: 'namespace'; at: number; ns: string; prefix: string }
  | { op: 'text'; at: number; text: string }
  | { op: 'attribute'; at: number; name: string; value: string }
  | { op: 'nest'; at: number; depth: number; name: string }
  | { op: 'move'; at: number; to: number }
  | { op: 'comment' | 'cdata' | 'pi'; at: number; text: string };

/** Tree operations; `names` are local names worth renaming to (the parser's own vocabulary). */
export function treeOp(names: readonly string[] = []): fc.Arbitrary<TreeOp> {
  const name = names.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: ncName }) : ncName;
  const at = fc.nat();
  return fc.oneof(
    fc.record({ op: fc.constant('remove' as const), at }),
    fc.record({ op: fc.constant('duplicate' as const), at, times: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 50, max: 400 })) }),
    fc.record({ op: fc.constant('rename' as const), at, name }),
    fc.record({ op: fc.constant('namespace' as const), at, ns: fc.constantFrom(...NAMESPACES), prefix: fc.oneof(fc.constant(''), ncName) }),
    fc.record({
      op: fc.constant('text' as const),
      at,
      text: fc.oneof(
        { weight: 5, arbitrary: anyText(30) },
        { weight: 1, arbitrary: fc.tuple(anyText(4), fc.integer({ min: 1000, max: 60_000 })).map(([s, n]) => s.repeat(n)) },
      ),
    }),
    fc.record({
      op: fc.constant('attribute' as const),
      at,
      name: fc.oneof(ncName, fc.constantFrom('xmlns', 'xmlns:v2', 'xml:lang', 'ID')),
      value: anyText(20),
    }),
    fc.record({ op: fc.constant('nest' as const), at, depth: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 200, max: 3000 })), name }),
    fc.record({ op: fc.constant('move' as const), at, to: fc.nat() }),
    fc.record({ op: fc.constantFrom('comment' as const, 'cdata' as const, 'pi' as const), at, text: anyText(20) }),
  );
}

const ELEMENT = 1;

/** xmldom without its console warnings (the documents here are ours). */
export function quietParser(): DOMParser {
  return new DOMParser({ onError: () => {} });
}

/** Every element in document order, without recursion. */
export function elementsOf(doc: Document): Element[] {
  return elementsUnder(doc.documentElement);
}

/** `root` and every element below it in document order, without recursion. */
export function elementsUnder(root: Node | null | undefined): Element[] {
  const out: Element[] = [];
  if (!root) return out;
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n as Element);
    const kids: Node[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) if (c.nodeType === ELEMENT) kids.push(c);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return out;
}

/** Replaces `el` by an element named `qname` in namespace `ns` with the same attributes and children. */
export function renamed(doc: Document, el: Element, ns: string | null, qname: string): Element {
  const fresh = doc.createElementNS(ns || null, qname);
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i)!;
    if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) continue;
    try {
      fresh.setAttributeNS(a.namespaceURI, a.name, a.value);
    } catch {
      fresh.setAttribute(a.name, a.value); // a prefixed name set without a namespace (xml:lang, xmlns:v2 by the attribute op)
    }
  }
  while (el.firstChild) fresh.appendChild(el.firstChild);
  el.parentNode!.replaceChild(fresh, el);
  return fresh;
}

/**
 * At most this many elements after a tree operation (xmldom parses ~100 k elements a second here, so a mutated
 * document stays well inside the per-case time limit; huge inputs have their own properties).
 */
export const MAX_MUTATED_ELEMENTS = 6000;
/** At most this much text is added by duplicating (a long text duplicated hundreds of times would be gigabytes). */
export const MAX_DUPLICATED_CHARS = 1_000_000;

function apply(doc: Document, op: TreeOp): void {
  const all = elementsOf(doc);
  if (all.length === 0) return;
  const el = all[op.at % all.length]!;
  const isRoot = el === doc.documentElement;
  const room = MAX_MUTATED_ELEMENTS - all.length;
  switch (op.op) {
    case 'remove':
      if (!isRoot) el.parentNode!.removeChild(el);
      else while (el.firstChild) el.removeChild(el.firstChild);
      return;
    case 'duplicate': {
      if (isRoot) return;
      const size = elementsUnder(el).length;
      const chars = Math.max(1, (el.textContent ?? '').length);
      const times = Math.min(op.times, Math.floor(room / size), Math.floor(MAX_DUPLICATED_CHARS / chars));
      for (let i = 0; i < times; i++) el.parentNode!.insertBefore(el.cloneNode(true), el.nextSibling);
      return;
    }
    case 'rename':
      renamed(doc, el, el.namespaceURI, el.prefix ? `${el.prefix}:${op.name}` : op.name);
      return;
    case 'namespace':
      renamed(doc, el, op.ns, op.ns && op.prefix ? `${op.prefix}:${el.localName}` : (el.localName ?? el.nodeName));
      return;
    case 'text':
      while (el.firstChild) el.removeChild(el.firstChild);
      el.appendChild(doc.createTextNode(op.text));
      return;
    case 'attribute':
      try {
        el.setAttribute(op.name, op.value);
      } catch {
        // an attribute name xmldom refuses: nothing to mutate
      }
      return;
    case 'nest': {
      let inner: Element = el;
      for (let i = 0; i < Math.min(op.depth, room); i++) {
        const wrap = doc.createElementNS(el.namespaceURI, el.prefix ? `${el.prefix}:${op.name}` : op.name);
        while (inner.firstChild) wrap.appendChild(inner.firstChild);
        inner.appendChild(wrap);
        inner = wrap;
      }
      return;
    }
    case 'move': {
      const to = all[op.to % all.length]!;
      if (isRoot || to === el) return;
      for (let p: Node | null = to; p; p = p.parentNode) if (p === el) return;
      to.appendChild(el);
      return;
    }
    case 'comment':
      el.appendChild(doc.createComment(op.text.replace(/--/g, '- -')));
      return;
    case 'cdata':
      el.appendChild(doc.createCDATASection(op.text.replace(/]]>/g, ']] >')));
      return;
    case 'pi':
      el.appendChild(doc.createProcessingInstruction('fuzz', op.text.replace(/\?>/g, '? >')));
      return;
  }
}

/** Parses `xml` (well-formed), applies the tree operations and serialises it again. */
export function mutateTree(xml: string, ops: readonly TreeOp[]): string {
  const doc = quietParser().parseFromString(xml, 'text/xml');
  for (const op of ops) apply(doc, op);
  return new XMLSerializer().serializeToString(doc);
}

/**
 * Valid document → hostile variants: unchanged, tree-mutated, text-mutated, or both (in that order); the arbitrary
 * yields the text to parse.
 */
export function mutatedXml(valid: fc.Arbitrary<string>, names: readonly string[] = []): fc.Arbitrary<string> {
  return fc
    .record({
      xml: valid,
      tree: fc.array(treeOp(names), { maxLength: 4 }),
      text: fc.oneof(
        { weight: 2, arbitrary: fc.constant([] as TextMutation[]) },
        { weight: 1, arbitrary: fc.array(textMutation, { minLength: 1, maxLength: 4 }) },
      ),
    })
    .map(({ xml, tree, text }) => mutateText(tree.length ? mutateTree(xml, tree) : xml, text));
}

/** Prefix for the same namespace: none (default namespace) or a random one. */
export const prefixArb: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  ncName.filter((p) => !/^xml/i.test(p)),
);

/**
 * Rewrites every element's prefix (namespace kept) to a random prefix or to the default namespace, and adds foreign
 * comments/whitespace: the same document to a namespace-aware reader.
 */
export function reprefix(xml: string, prefixes: readonly string[]): string {
  const doc = quietParser().parseFromString(xml, 'text/xml');
  const all = elementsOf(doc);
  all.forEach((el, i) => {
    if (!el.namespaceURI) return;
    const p = prefixes[i % Math.max(1, prefixes.length)] ?? '';
    renamed(doc, el, el.namespaceURI, p ? `${p}:${el.localName}` : (el.localName ?? el.nodeName));
  });
  return new XMLSerializer().serializeToString(doc);
}

/** `<a><a>…text…</a></a>` nested `depth` levels. */
export function nested(depth: number, name = 'a', inner = ''): string {
  return `<${name}>`.repeat(depth) + inner + `</${name}>`.repeat(depth);
}

const DEEP_MARK = '\uE000deep\uE000';

/** Puts `depth` nested elements as the last child of the `at`-th element (document order) of well-formed `xml`. */
export function deepen(xml: string, at: number, depth: number, name = 'z'): string {
  const doc = quietParser().parseFromString(xml, 'text/xml');
  const all = elementsOf(doc);
  if (all.length === 0) return xml;
  all[at % all.length]!.appendChild(doc.createTextNode(DEEP_MARK));
  return new XMLSerializer().serializeToString(doc).replace(DEEP_MARK, nested(depth, name, 'x'));
}

/** Depths for deep-nesting properties: shallow, around the parser limit, and beyond what recursion survives (~5 600). */
export const depthArb: fc.Arbitrary<number> = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1000, max: 12_000 }));

/** Valid documents with deep nesting put inside one of their elements. */
export function deepened(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.record({ xml: valid, at: fc.nat(), depth: depthArb }).map(({ xml, at, depth }) => deepen(xml, at, depth));
}
