/**
 * Bounds checked before any schema runs, so that the cost of validation stays proportional to a small input
 * whatever a caller sends (ajv with allErrors, regular expressions in `pattern`, uniqueItems' pairwise comparison).
 * A value beyond a limit is reported as one validation error with keyword `limit`, never parsed further.
 */
import type { Language, ValidationError } from './types';
import { pathText } from './paths';

export interface InputLimits {
  /** Deepest nesting of objects/arrays (a circular structure hits this too). */
  maxDepth: number;
  /** Longest single string, in UTF-16 code units. */
  maxStringLength: number;
  /** Most items in one array. Keeps `uniqueItems` (quadratic for objects) cheap. */
  maxArrayItems: number;
  /** Most keys in one object. */
  maxProperties: number;
  /** Most values (objects, arrays, scalars) in the whole structure. */
  maxNodes: number;
  /** Sum of all string lengths and key lengths. */
  maxTotalChars: number;
  /** Largest XML text validated against an XSD, in UTF-8 bytes. */
  maxXmlBytes: number;
}

/**
 * Defaults, generous for a webform submission (file contents are Buffers and are not walked):
 * depth 32, strings 1,000,000 characters, 1,000 array items, 1,000 keys per object, 100,000 values,
 * 10,000,000 characters in total, XML 10 MiB.
 */
export const DEFAULT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxDepth: 32,
  maxStringLength: 1_000_000,
  maxArrayItems: 1_000,
  maxProperties: 1_000,
  maxNodes: 100_000,
  maxTotalChars: 10_000_000,
  maxXmlBytes: 10 * 1024 * 1024,
});

/** Merges overrides (e.g. from settings.js) into the defaults, ignoring anything that is not a positive integer. */
export function resolveLimits(overrides?: Partial<Record<keyof InputLimits, unknown>>): InputLimits {
  const out: InputLimits = { ...DEFAULT_LIMITS };
  if (overrides && typeof overrides === 'object') {
    for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof InputLimits>) {
      const v = overrides[key];
      if (typeof v === 'number' && Number.isInteger(v) && v > 0) out[key] = v;
    }
  }
  return out;
}

const TEXT = {
  en: {
    depth: (n: number) => `is nested more than ${n} levels deep (or circular) and was not validated`,
    string: (n: number) => `is longer than ${n} characters and was not validated`,
    array: (n: number) => `has more than ${n} items and was not validated`,
    props: (n: number) => `has more than ${n} fields and was not validated`,
    nodes: (n: number) => `contains more than ${n} values and was not validated`,
    chars: (n: number) => `contains more than ${n} characters in total and was not validated`,
    xml: (n: number) => `XML is larger than ${n} bytes and was not validated`,
  },
  da: {
    depth: (n: number) => `er indlejret mere end ${n} niveauer (eller cirkulær) og blev ikke valideret`,
    string: (n: number) => `er længere end ${n} tegn og blev ikke valideret`,
    array: (n: number) => `har mere end ${n} elementer og blev ikke valideret`,
    props: (n: number) => `har mere end ${n} felter og blev ikke valideret`,
    nodes: (n: number) => `indeholder mere end ${n} værdier og blev ikke valideret`,
    chars: (n: number) => `indeholder mere end ${n} tegn i alt og blev ikke valideret`,
    xml: (n: number) => `XML er større end ${n} bytes og blev ikke valideret`,
  },
};

function limitError(segments: Array<string | number>, message: string): ValidationError {
  const { path, pointer } = pathText(segments);
  return { path, pointer, message, keyword: 'limit' };
}

function isLeafObject(v: object): boolean {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp;
}

/** An object or array to walk into (Buffers, typed arrays, Dates and RegExps count as single values). */
function isContainer(v: unknown): v is object {
  return v !== null && typeof v === 'object' && !isLeafObject(v);
}

/** One value still to look at; its path is kept as a link to its parent, built only for an error. */
interface Pending {
  v: unknown;
  depth: number;
  parent: Pending | undefined;
  key: string | number | undefined;
}

function pathOf(p: Pending): Array<string | number> {
  const out: Array<string | number> = [];
  for (let at: Pending | undefined = p; at && at.key !== undefined; at = at.parent) out.push(at.key);
  return out.reverse();
}

/**
 * Walks the value iteratively (no recursion, so no stack overflow) and returns the first limit it exceeds,
 * or undefined when the value is within all limits. Buffers, typed arrays and Dates count as single values.
 * Paths are linked, not copied per value (copying them was most of validating a submission, bench/map.bench.ts).
 */
export function checkLimits(value: unknown, limits: InputLimits, lang: Language): ValidationError | undefined {
  const t = TEXT[lang];
  let nodes = 0;
  let chars = 0;
  // A scalar is checked where it is met (no entry on the stack: most of a submission is scalars); undefined = within limits.
  const scalar = (v: unknown, at: () => Array<string | number>): ValidationError | undefined => {
    if (++nodes > limits.maxNodes) return limitError([], t.nodes(limits.maxNodes));
    if (typeof v !== 'string') return undefined;
    if (v.length > limits.maxStringLength) return limitError(at(), t.string(limits.maxStringLength));
    chars += v.length;
    return chars > limits.maxTotalChars ? limitError([], t.chars(limits.maxTotalChars)) : undefined;
  };
  if (!isContainer(value)) return scalar(value, () => []);
  const stack: Pending[] = [{ v: value, depth: 0, parent: undefined, key: undefined }];
  while (stack.length) {
    const p = stack.pop()!;
    const { v, depth } = p;
    if (++nodes > limits.maxNodes) return limitError([], t.nodes(limits.maxNodes));
    if (depth >= limits.maxDepth) return limitError(pathOf(p), t.depth(limits.maxDepth));
    if (Array.isArray(v)) {
      if (v.length > limits.maxArrayItems) return limitError(pathOf(p), t.array(limits.maxArrayItems));
      for (let i = v.length - 1; i >= 0; i--) {
        const item: unknown = v[i];
        if (isContainer(item)) stack.push({ v: item, depth: depth + 1, parent: p, key: i });
        else {
          const over = scalar(item, () => [...pathOf(p), i]);
          if (over) return over;
        }
      }
      continue;
    }
    const keys = Object.keys(v as object);
    if (keys.length > limits.maxProperties) return limitError(pathOf(p), t.props(limits.maxProperties));
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      chars += key.length;
      const item = (v as Record<string, unknown>)[key];
      if (isContainer(item)) stack.push({ v: item, depth: depth + 1, parent: p, key });
      else {
        const over = scalar(item, () => [...pathOf(p), key]);
        if (over) return over;
      }
    }
    if (chars > limits.maxTotalChars) return limitError(pathOf(p), t.chars(limits.maxTotalChars));
  }
  return undefined;
}

/** The error for XML text beyond maxXmlBytes, or undefined. */
export function checkXmlSize(xml: string | Buffer, limits: InputLimits, lang: Language): ValidationError | undefined {
  // UTF-8 never has fewer bytes than UTF-16 units, so the cheap length test first avoids scanning huge strings.
  if (xml.length > limits.maxXmlBytes || (typeof xml === 'string' && Buffer.byteLength(xml, 'utf8') > limits.maxXmlBytes)) {
    return { path: '', pointer: '', message: TEXT[lang].xml(limits.maxXmlBytes), keyword: 'limit' };
  }
  return undefined;
}
