/**
 * A reader for "plain" XML only — elements, namespace declarations and character data, nothing else — that builds a
 * small read-only tree with the part of the DOM the readers in lib/xml/dom.ts use (nodeType, nodeName, localName,
 * namespaceURI, firstChild, nextSibling, textContent). Anything outside that subset is not read at all: the reader
 * answers `undefined` and the caller parses the text with parseXmlSafely (xmldom) as before, with every check there.
 *
 * Why not xmldom for everything: fordeling out reads one FordelingsobjektAfsend answer (~1.1 KB) per delivery;
 * interpretAfsend took 53 µs with xmldom and takes 11 µs with this reader on this machine, and reading the answer was
 * ~6.6 % of Node-RED's busy time end to end (docs/performance.md, 2026-12-07). It stays safe by refusing rather than
 * handling: no DTD, entity or character reference, comment, CDATA, processing instruction (but the XML declaration),
 * attribute other than a namespace declaration, line end xmldom would rewrite, character XML forbids or text outside
 * the root; element names and nesting are checked, prefixes must be declared, and the text is bounded in size and
 * depth. test/fuzz/plain-xml.fuzz.test.ts holds it to xmldom's tree on generated and mutated documents.
 */
import { MAX_XML_DEPTH } from './safe-xml';

/** Larger texts are left to xmldom (the answers this is for are about a kilobyte). */
export const PLAIN_XML_MAX_CHARS = 64 * 1024;

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const XMLNS_URI = 'http://www.w3.org/2000/xmlns/';
const XML_URI = 'http://www.w3.org/XML/1998/namespace';

abstract class PlainNode {
  nextSibling: PlainNode | null = null;
  abstract readonly nodeType: number;
  abstract get textContent(): string;
}

class PlainText extends PlainNode {
  readonly nodeType = TEXT_NODE;
  constructor(readonly data: string) {
    super();
  }
  get textContent(): string {
    return this.data;
  }
}

export class PlainElement extends PlainNode {
  readonly nodeType = ELEMENT_NODE;
  firstChild: PlainNode | null = null;
  lastChild: PlainNode | null = null;
  constructor(
    readonly nodeName: string,
    readonly localName: string,
    readonly namespaceURI: string | null,
  ) {
    super();
  }
  get textContent(): string {
    let s = '';
    for (let n = this.firstChild; n; n = n.nextSibling) s += n.textContent;
    return s;
  }
  append(n: PlainNode): void {
    if (this.lastChild) this.lastChild.nextSibling = n;
    else this.firstChild = n;
    this.lastChild = n;
  }
}

// a name without a colon (XML's NCName, ASCII letters, digits and a few marks only: anything else goes to xmldom)
const NAME = /[A-Za-z_][A-Za-z0-9._-]*/y;
// the XML declaration as the grammar has it (version, then optional encoding and standalone)
const DECLARATION =
  /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(["'])1\.[0-9]+\1(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(["'])[A-Za-z][A-Za-z0-9._-]*\2)?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(["'])(?:yes|no)\3)?[ \t\n]*\?>/y;
// character data this reader takes: no markup, no references, no character XML 1.0 forbids, no surrogates, and no
// line end that xmldom rewrites (CR, NEL, LS, PS)
const TEXT = /[^<&\r\u0085\u2028\u2029\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]*/y;
const SPACE = /[ \t\n]*/y;
const VALUE = /"([^"<&\u0085\u2028\u2029\u0000-\u001F\uFFFE\uFFFF\uD800-\uDFFF]*)"|'([^'<&\u0085\u2028\u2029\u0000-\u001F\uFFFE\uFFFF\uD800-\uDFFF]*)'/y;

/** The root element of a plain XML text, or undefined when the text is not plain (or not well-formed): use xmldom. */
export function parsePlainXml(text: string): PlainElement | undefined {
  if (typeof text !== 'string' || text.length > PLAIN_XML_MAX_CHARS) return undefined;
  let i = 0;
  const at = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (m) i = re.lastIndex;
    return m;
  };
  if (!at(DECLARATION) && text.startsWith('<?')) return undefined; // a declaration not as above, or another instruction
  at(SPACE);
  const open: Array<{ el: PlainElement; scope: Map<string, string | null> }> = [];
  let root: PlainElement | undefined;
  let scope = new Map<string, string | null>([['xml', XML_URI]]);
  while (i < text.length) {
    if (text.charCodeAt(i) !== 60 /* < */) {
      const t = at(TEXT)![0];
      if (i < text.length && text.charCodeAt(i) !== 60) return undefined; // a reference or a forbidden character
      if (t.includes(']]>')) return undefined; // not allowed in character data
      // text outside the root: XML white space there was taken above (before the root) or below (after it), and
      // anything else (JavaScript's trim() would pass NBSP, U+3000, a BOM) is refused by xmldom
      if (!open.length) return undefined;
      open[open.length - 1].el.append(new PlainText(t));
      continue;
    }
    i++;
    if (text[i] === '/') {
      // an end tag: the name of the element it closes
      i++;
      const top = open.pop();
      if (!top || !text.startsWith(top.el.nodeName, i)) return undefined;
      i += top.el.nodeName.length;
      at(SPACE);
      if (text[i] !== '>') return undefined;
      i++;
      scope = open.length ? open[open.length - 1].scope : scope;
      if (!open.length) {
        at(SPACE);
        return i === text.length ? root : undefined; // only white space may follow the root
      }
      continue;
    }
    // a start tag (comments, CDATA, DTDs and processing instructions fail the name)
    if (root && !open.length) return undefined;
    const qname = name();
    if (!qname || qname === 'xmlns') return undefined; // an element may not be named xmlns (Namespaces in XML)
    if (open.length + 1 > MAX_XML_DEPTH) return undefined; // as parseXmlSafely counts it, self-closing ones included
    const declared: Array<[string, string]> = [];
    for (;;) {
      const space = at(SPACE)![0].length > 0;
      if (text[i] === '>' || text.startsWith('/>', i)) break;
      if (!space) return undefined;
      const attr = name();
      if (!attr || (attr !== 'xmlns' && !attr.startsWith('xmlns:'))) return undefined; // only namespace declarations
      at(SPACE);
      if (text[i] !== '=') return undefined;
      i++;
      at(SPACE);
      const v = at(VALUE);
      if (!v) return undefined;
      const prefix = attr === 'xmlns' ? '' : attr.slice(6);
      const uri = v[1] ?? v[2];
      if (prefix === 'xml' || prefix === 'xmlns' || uri === XML_URI || uri === XMLNS_URI) return undefined;
      if (prefix && !uri) return undefined; // undeclaring a prefix is XML 1.1
      if (declared.some(([p]) => p === prefix)) return undefined;
      declared.push([prefix, uri]);
    }
    if (declared.length) {
      scope = new Map(scope);
      for (const [p, uri] of declared) scope.set(p, uri || null);
    }
    const colon = qname.indexOf(':');
    const prefix = colon < 0 ? '' : qname.slice(0, colon);
    const ns = scope.get(prefix);
    if (prefix && ns === undefined) return undefined; // an undeclared prefix
    const el = new PlainElement(qname, colon < 0 ? qname : qname.slice(colon + 1), ns ?? null);
    if (open.length) open[open.length - 1].el.append(el);
    else root = el;
    if (text.startsWith('/>', i)) {
      i += 2;
      scope = open.length ? open[open.length - 1].scope : scope;
      if (!open.length) {
        at(SPACE);
        return i === text.length ? root : undefined;
      }
      continue;
    }
    i++;
    open.push({ el, scope });
  }
  return undefined; // the root was never closed

  /** A name with at most one colon, each side a name. */
  function name(): string | undefined {
    const a = at(NAME);
    if (!a) return undefined;
    if (text[i] !== ':') return a[0];
    i++;
    const b = at(NAME);
    return b ? `${a[0]}:${b[0]}` : undefined;
  }
}
