/**
 * @xmldom/xmldom 0.9.x (the newest release, 0.9.12) builds a fresh regular expression from its grammar for every end
 * tag it parses (`sax.js` calls `grammar.reg('^', QName_group, S_OPT, '$')`; the Unicode-aware QName pattern is
 * several kilobytes of source). Measured: `reg` alone was 2.5 % of signing a token-model envelope and 1.2 % of
 * Node-RED's CPU in the end-to-end bench (docs/performance.md). The expressions depend only on their arguments, which
 * are the grammar's own constants, and carry no `g`/`y` flag (no `lastIndex` state), so the same instance serves
 * every call: this module makes `reg` remember what it built. It changes nothing else of the parser; if a later
 * xmldom has no `reg` on its grammar module, it does nothing.
 */
const MAX_ENTRIES = 256;

let done = false;

export function rememberXmldomRegExps(): void {
  if (done) return;
  done = true;
  let grammar: { reg?: (...parts: Array<string | RegExp>) => RegExp };
  try {
    grammar = require('@xmldom/xmldom/lib/grammar');
  } catch {
    return;
  }
  const original = grammar.reg;
  if (typeof original !== 'function') return;
  const ids = new WeakMap<RegExp, number>();
  let nextId = 0;
  const cache = new Map<string, RegExp>();
  grammar.reg = function remembered(this: unknown, ...parts: Array<string | RegExp>): RegExp {
    let key = '';
    for (const p of parts) {
      if (typeof p === 'string') key += `s${p.length}:${p}`;
      else {
        let id = ids.get(p);
        if (id === undefined) ids.set(p, (id = nextId++));
        key += `r${id};`;
      }
    }
    let re = cache.get(key);
    if (!re) {
      re = original.apply(this, parts);
      if (re.global || re.sticky) return re; // stateful: never shared
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(key, re);
    }
    return re;
  };
}
