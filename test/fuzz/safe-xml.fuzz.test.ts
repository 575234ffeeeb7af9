// Fuzzing lib/xml/safe-xml.ts: parseXmlSafely returns a document with a root element or throws XmlError (never
// another error, never slowly), refuses every DTD/entity declaration, and escapeXml round-trips through it.
import assert from 'node:assert';
import fc from 'fast-check';
import { MAX_XML_DEPTH, XmlError, escapeXml, parseXmlSafely } from '../../lib/xml/safe-xml';
import { WEIGHT, attempt, fuzz } from './fuzz-support';
import { XML_TOKEN, anyText, mutatedXml, ncName, nested, xmlTextOf } from './xml-arbitraries';

const SUITE = 'xml/safe-xml';
const parse = (text: string) => attempt('parseXmlSafely', () => parseXmlSafely(text), [XmlError]);

interface Tree {
  name: string;
  prefix: string;
  ns: string;
  attrs: [string, string][];
  kids: (Tree | string)[];
}

/** Well-formed documents: elements (optionally namespaced), attributes, escaped text, comments, CDATA. */
const documentArb: fc.Arbitrary<string> = (() => {
  const { tree } = fc.letrec<{ tree: Tree; node: Tree | string }>((tie) => ({
    tree: fc.record({
      name: ncName,
      prefix: fc.oneof(
        fc.constant(''),
        ncName.filter((p) => !/^xml/i.test(p)),
      ),
      ns: fc.constantFrom('', 'urn:a', 'urn:b'),
      attrs: fc.uniqueArray(fc.tuple(ncName, anyText(10)), { maxLength: 3, selector: ([k]) => k }),
      kids: fc.array(tie('node'), { maxLength: 4 }),
    }),
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, anyText(20), tie('tree')),
  }));
  const write = (t: Tree | string): string => {
    if (typeof t === 'string') return escapeXml(t);
    const q = t.ns && t.prefix ? `${t.prefix}:${t.name}` : t.name;
    const decl = t.ns ? (t.prefix ? ` xmlns:${t.prefix}="${t.ns}"` : ` xmlns="${t.ns}"`) : '';
    const attrs = t.attrs.map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
    return `<${q}${decl}${attrs}>${t.kids.map(write).join('')}</${q}>`;
  };
  return fc
    .tuple(tree, fc.boolean(), fc.constantFrom('', '<!-- c -->', '<?pi x?>', '\n'))
    .map(([t, decl, misc]) => `${decl ? '<?xml version="1.0" encoding="UTF-8"?>' : ''}${misc}${write(t)}${misc}`);
})();

describe('fuzz: lib/xml/safe-xml', () => {
  it('any text: a document with a root element, or XmlError', () => {
    fuzz(
      SUITE,
      fc.oneof(
        anyText(200),
        fc.array(fc.oneof(XML_TOKEN, anyText(8)), { maxLength: 30 }).map((a) => a.join('')),
      ),
      (text) => {
        const r = parse(text);
        if (r.ok) assert.ok(r.value.documentElement, 'a parsed document has a root element');
      },
      WEIGHT.cheap,
    );
  });

  it('well-formed documents parse; mutated ones parse or throw XmlError, never with a DTD', () => {
    fuzz(SUITE, documentArb, (xml) => {
      const r = parse(xml);
      assert.ok(r.ok, `a well-formed document is refused: ${r.ok ? '' : r.error.message}\n${xml}`);
    });
    fuzz(
      SUITE,
      mutatedXml(documentArb),
      (xml) => {
        const r = parse(xml);
        if (r.ok) assert.strictEqual(r.value.doctype, null, 'no document type node');
      },
      WEIGHT.cheap,
    );
  });

  it('refuses any input with <!DOCTYPE or <!ENTITY, in any case, anywhere', () => {
    const keyword = fc
      .tuple(fc.constantFrom('<!DOCTYPE', '<!ENTITY'), fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }))
      .map(([k, upper]) => [...k].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
    fuzz(
      SUITE,
      fc.record({
        doc: fc.oneof(documentArb, anyText(40)),
        at: fc.nat(),
        keyword,
        tail: fc.oneof(fc.constant(' x>'), fc.constant(' x [<!ENTITY e "v">]>'), anyText(10)),
      }),
      ({ doc, at, keyword: k, tail }) => {
        const p = at % (doc.length + 1);
        const text = doc.slice(0, p) + k + tail + doc.slice(p);
        const r = parse(text);
        assert.ok(!r.ok, `accepted a document with ${k}: ${text}`);
        assert.match(r.error.message, /DTD or entity declaration/);
      },
    );
  });

  it('escapeXml round-trips any text through element content and attributes', () => {
    fuzz(SUITE, anyText(200), (s) => {
      const doc = parseXmlSafely(`<r a="${escapeXml(s)}">${escapeXml(s)}</r>`);
      const expected = xmlTextOf(s);
      assert.strictEqual(doc.documentElement!.textContent, expected);
      // attribute values: line ends and tabs read back as spaces (attribute-value normalisation)
      assert.strictEqual(doc.documentElement!.getAttribute('a'), expected.replace(/[\t\n]/g, ' '));
    });
  });

  it('large inputs stay fast: long text, many siblings, deep nesting (refused past MAX_XML_DEPTH)', () => {
    fuzz(
      SUITE,
      fc.oneof(
        fc.record({ kind: fc.constant('text' as const), n: fc.integer({ min: 1, max: 300_000 }), unit: anyText(3) }),
        fc.record({ kind: fc.constant('wide' as const), n: fc.integer({ min: 1, max: 50_000 }), unit: ncName }),
        fc.record({
          kind: fc.constant('deep' as const),
          n: fc.oneof(fc.integer({ min: 1, max: 2 * MAX_XML_DEPTH }), fc.integer({ min: 1, max: 12_000 })),
          unit: ncName,
        }),
      ),
      ({ kind, n, unit }) => {
        if (kind === 'text') {
          const r = parse(`<r>${escapeXml(unit.repeat(Math.ceil(n / Math.max(1, unit.length))))}</r>`);
          assert.ok(r.ok, r.ok ? '' : r.error.message);
        } else if (kind === 'wide') {
          const r = parse(`<r>${`<${unit}/>`.repeat(n)}</r>`);
          assert.ok(r.ok, r.ok ? '' : r.error.message);
          assert.strictEqual(r.value.documentElement!.childNodes.length, n);
        } else {
          const r = parse(nested(n, unit, 'x'));
          if (n <= MAX_XML_DEPTH) assert.ok(r.ok, r.ok ? '' : r.error.message);
          else assert.ok(!r.ok && /deeper than/.test(r.error.message), `depth ${n} accepted`);
        }
      },
      WEIGHT.huge,
    );
  });
});
