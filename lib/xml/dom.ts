/**
 * Element helpers over xmldom, the one place for them. Two kinds:
 *   - by local name (child, children, childText, descendant): for reading Serviceplatform messages, which are known to
 *     deviate from their own schemas (sf2900.md §7.3), so a reader finds an element wherever its namespace puts it;
 *   - by namespace and local name (isElement, childrenNS): for signatures and tokens, where a foreign namespace must
 *     never pass for the real element.
 */
import type { Document, Element, Node } from '@xmldom/xmldom';

const ELEMENT_NODE = 1;

export function childElements(parent: Element | Document | null | undefined): Element[] {
  const out: Element[] = [];
  if (!parent) return out;
  for (let n: Node | null = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE) out.push(n as Element);
  }
  return out;
}

/** First child element with the given local name (any namespace). */
export function child(parent: Element | null | undefined, localName: string): Element | undefined {
  return childElements(parent).find((e) => e.localName === localName);
}

/** First child element with any of the given local names. */
export function childOf(parent: Element | null | undefined, ...localNames: string[]): Element | undefined {
  return childElements(parent).find((e) => localNames.includes(e.localName ?? ''));
}

export function children(parent: Element | null | undefined, localName: string): Element[] {
  return childElements(parent).filter((e) => e.localName === localName);
}

/** Trimmed text content, or undefined when absent or empty. */
export function text(el: Element | null | undefined): string | undefined {
  if (!el) return undefined;
  const t = (el.textContent ?? '').trim();
  return t === '' ? undefined : t;
}

export function childText(parent: Element | null | undefined, ...path: string[]): string | undefined {
  let cur: Element | undefined = parent ?? undefined;
  for (const name of path) {
    cur = child(cur, name);
    if (!cur) return undefined;
  }
  return text(cur);
}

/** First descendant (depth-first) with the given local name. */
export function descendant(root: Element | null | undefined, localName: string): Element | undefined {
  for (const c of childElements(root)) {
    if (c.localName === localName) return c;
    const d = descendant(c, localName);
    if (d) return d;
  }
  return undefined;
}

export function isElement(node: Node | null | undefined, ns: string, localName: string): node is Element {
  return !!node && node.nodeType === ELEMENT_NODE && (node as Element).namespaceURI === ns && (node as Element).localName === localName;
}

export function childrenNS(parent: Element | null | undefined, ns: string, localName: string): Element[] {
  return childElements(parent).filter((e) => isElement(e, ns, localName));
}

/** Every element in document order. */
export function allElements(root: Element): Element[] {
  const out: Element[] = [];
  const walk = (el: Element) => {
    out.push(el);
    for (const c of childElements(el)) walk(c);
  };
  walk(root);
  return out;
}
