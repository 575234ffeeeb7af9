/**
 * Decoding of application/x-www-form-urlencoded bodies as PHP's http_build_query writes them
 * (what the Drupal Webform remote-post handler sends): bracket keys such as `_bilag[0][name]`
 * become nested objects, and objects whose keys are exactly 0..n-1 become arrays.
 *
 * Bounded: at most `maxParameters` pairs and `maxDepth` bracket levels; keys that could reach
 * Object.prototype (`__proto__`, `constructor`, `prototype`) are refused.
 */

export class FormDecodeError extends Error {
  override name = 'FormDecodeError';
}

export interface FormDecodeOptions {
  /** Maximum number of name=value pairs (default 10000). */
  maxParameters?: number;
  /** Maximum nesting below the top-level name (default 10). */
  maxDepth?: number;
}

type Tree = { [key: string]: Tree | string };

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Splits `a[b][0][]` into ['a', 'b', '0', ''] (an empty segment means "append"). */
export function splitKey(key: string, maxDepth: number): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return [key];
  const parts = [key.slice(0, open)];
  let rest = key.slice(open);
  while (rest.length > 0) {
    const m = /^\[([^\[\]]*)\]/.exec(rest);
    if (!m) {
      // PHP keeps an unbalanced remainder as part of the last name; we do the same for the rest.
      parts[parts.length - 1] += rest;
      break;
    }
    parts.push(m[1]!);
    rest = rest.slice(m[0].length);
    if (parts.length - 1 > maxDepth) throw new FormDecodeError(`form field "${parts[0]}" is nested deeper than ${maxDepth} levels`);
  }
  return parts;
}

function newTree(): Tree {
  return Object.create(null) as Tree;
}

/** Turns objects with keys 0..n-1 into arrays (recursively) and null-prototype objects into plain ones. */
function finish(value: Tree | string): unknown {
  if (typeof value === 'string') return value;
  const keys = Object.keys(value);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = finish(value[k]!);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => out[k]);
  return out;
}

export function decodeForm(text: string, options: FormDecodeOptions = {}): Record<string, unknown> {
  const maxParameters = options.maxParameters ?? 10000;
  const maxDepth = options.maxDepth ?? 10;
  const root = newTree();
  let count = 0;
  for (const [rawKey, value] of new URLSearchParams(text)) {
    if (++count > maxParameters) throw new FormDecodeError(`form body has more than ${maxParameters} fields`);
    if (rawKey === '') continue;
    const parts = splitKey(rawKey, maxDepth);
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      let part = parts[i]!;
      if (FORBIDDEN.has(part)) throw new FormDecodeError(`form field name "${rawKey}" is not allowed`);
      const last = i === parts.length - 1;
      if (part === '' && i > 0) part = String(Object.keys(node).length);
      if (last) {
        node[part] = value;
      } else {
        const next = node[part];
        if (next === undefined || typeof next === 'string') {
          const t = newTree();
          node[part] = t;
          node = t;
        } else {
          node = next;
        }
      }
    }
  }
  return finish(root) as Record<string, unknown>;
}
