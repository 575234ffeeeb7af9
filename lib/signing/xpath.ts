/** XPath selection and serialisation for the signing code (the XPath engine xml-crypto itself uses). */
import { createRequire } from 'module';
import { XMLSerializer, type Document, type Element, type Node } from '@xmldom/xmldom';
import { NS } from './constants';
import { childElements } from '../xml/dom';

const ELEMENT_NODE = 1;

/** The XPath engine xml-crypto itself uses (resolved through xml-crypto, whose dependency it is). */
interface XPathEngine {
  useNamespaces(map: Record<string, string>): (expression: string, node: unknown) => unknown;
}
let xpathEngine: XPathEngine | undefined;
function engine(): XPathEngine {
  xpathEngine ??= createRequire(require.resolve('xml-crypto'))('xpath') as XPathEngine;
  return xpathEngine;
}

/** Namespace prefixes declared on the document element (what an XPath written by a user most likely uses). */
export function rootPrefixes(doc: Document): Record<string, string> {
  const map: Record<string, string> = {};
  const root = doc.documentElement;
  if (!root) return map;
  for (let i = 0; i < root.attributes.length; i++) {
    const a = root.attributes.item(i);
    if (a && a.prefix === 'xmlns' && a.localName) map[a.localName] = a.value;
  }
  return map;
}

/** Elements an XPath selects (prefixes resolved from the root element's declarations plus `extra`). */
export function selectElements(doc: Document, expression: string, extra: Record<string, string> = {}): Element[] {
  let result: unknown;
  try {
    result = engine().useNamespaces({ ...rootPrefixes(doc), ...extra })(expression, doc);
  } catch (err) {
    throw new Error(`XPath "${expression}" could not be evaluated: ${(err as Error).message}`);
  }
  if (!Array.isArray(result)) throw new Error(`XPath "${expression}" does not select elements`);
  return (result as Node[]).filter((n) => n.nodeType === ELEMENT_NODE) as Element[];
}

/** The XPath xml-crypto can use to find exactly this element again after re-parsing: /*[i]/*[j]/… */
export function positionalXPath(el: Element): string {
  const steps: string[] = [];
  let cur: Element | null = el;
  while (cur && cur.nodeType === ELEMENT_NODE) {
    const parent: Node | null = cur.parentNode;
    const siblings = parent && parent.nodeType === ELEMENT_NODE ? childElements(parent as Element) : [cur];
    steps.unshift(`*[${siblings.indexOf(cur) + 1}]`);
    cur = parent && parent.nodeType === ELEMENT_NODE ? (parent as Element) : null;
  }
  return '/' + steps.join('/');
}

/** The Id of an element as XML signatures reference it: wsu:Id, Id, ID or id. */
export function idOf(el: Element): string | undefined {
  return el.getAttributeNS(NS.wsu, 'Id') || el.getAttribute('Id') || el.getAttribute('ID') || el.getAttribute('id') || undefined;
}

/** Matches a header by local name, or by `{namespace}localName`. */
export function headerMatcher(spec: string): (el: Element) => boolean {
  const m = /^\{([^}]*)\}(.+)$/.exec(spec.trim());
  if (m) return (el) => el.namespaceURI === m[1] && el.localName === m[2];
  const name = spec.trim();
  return (el) => el.localName === name;
}

/** A UTF-8 byte order mark is not part of the document (files saved by Windows tools often start with one). */
export function stripBom(xml: string): string {
  return typeof xml === 'string' && xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
}

export function serialize(doc: Document | Element): string {
  return new XMLSerializer().serializeToString(doc as Node);
}
