/**
 * Small namespace-tolerant DOM helpers for reading Serviceplatform messages.
 * Elements are matched by local name: SP is known to deviate from its own schemas (sf2900.md §7.3),
 * so a reader looks for the element it needs wherever its namespace puts it.
 */
import type { Element, Node } from '@xmldom/xmldom';

const ELEMENT_NODE = 1;

export function childElements(parent: Element | null | undefined): Element[] {
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
