/** Readable paths for validation errors: dotted (`data.items[0].navn`) and JSON pointer (`/data/items/0/navn`). */

const IDENT = /^[\p{L}_$][\p{L}\p{N}_$]*$/u;

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Both forms of a path given as segments (numbers are array indexes). */
export function pathText(segments: Array<string | number>): { path: string; pointer: string } {
  let path = '';
  let pointer = '';
  for (const seg of segments) {
    pointer += '/' + escapePointer(String(seg));
    if (typeof seg === 'number') path += `[${seg}]`;
    else if (IDENT.test(seg)) path += (path ? '.' : '') + seg;
    else path += `[${JSON.stringify(seg)}]`;
  }
  return { path, pointer };
}

/**
 * Segments of an ajv instancePath (a JSON pointer). A segment of only digits is taken as an array index:
 * ajv does not say whether the parent was an array, and `items[0]` reads better than `items["0"]`.
 */
export function pointerSegments(pointer: string): Array<string | number> {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => unescapePointer(s))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}
