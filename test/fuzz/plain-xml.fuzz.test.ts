// Fuzzing lib/xml/plain-xml.ts against xmldom (the second implementation): whatever text the plain reader accepts,
// xmldom (parseXmlSafely) accepts too and builds the same tree — element names, local names, namespaces and text, in
// order; plain documents are accepted; anything else is declined (undefined), never thrown, never slowly.
import assert from 'node:assert';
import fc from 'fast-check';
import { PLAIN_XML_MAX_CHARS, parsePlainXml } from '../../lib/xml/plain-xml';
import { XmlError, parseXmlSafely } from '../../lib/xml/safe-xml';
import { WEIGHT, attempt, fuzz } from './fuzz-support';
import { XML_ILLEGAL, XML_TOKEN, anyChar, anyText, mutatedXml, nested } from './xml-arbitraries';

const SUITE = 'xml/plain-xml';

interface Shape {
  name: string;
  local: string | null;
  ns: string | null;
  kids: Array<Shape | string>;
}

interface DomLike {
  nodeType: number;
  nodeName?: string;
  localName?: string | null;
  namespaceURI?: string | null;
  data?: string;
  firstChild: DomLike | null;
  nextSibling: DomLike | null;
}

/** A tree as both readers see it: elements and text (adjacent text joined, empty text dropped); any other node fails. */
function shape(el: DomLike): Shape {
  const kids: Array<Shape | string> = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) kids.push(shape(n));
    else if (n.nodeType === 3) {
      if (!n.data) continue;
      if (typeof kids[kids.length - 1] === 'string') kids[kids.length - 1] += n.data;
      else kids.push(n.data);
    } else assert.fail(`node type ${n.nodeType} in a document the plain reader accepted`);
  }
  return { name: el.nodeName!, local: el.localName ?? null, ns: el.namespaceURI ?? null, kids };
}

/** The plain reader agrees with xmldom on `text`; returns whether it accepted it. */
function agrees(text: string): boolean {
  const plain = parsePlainXml(text);
  if (!plain) return false;
  const dom = attempt('parseXmlSafely', () => parseXmlSafely(text), [XmlError]);
  assert.ok(dom.ok, `the plain reader accepted what xmldom refuses (${dom.ok ? '' : dom.error.message}):\n${text}`);
  assert.deepStrictEqual(shape(plain as unknown as DomLike), shape(dom.value.documentElement as unknown as DomLike), text);
  return true;
}

const asciiName = fc
  .tuple(fc.constantFrom(...'abcxyzABCXYZ_'.split('')), fc.string({ unit: fc.constantFrom(...'abcxyzABC0129_-.'.split('')), maxLength: 8 }))
  .map(([a, b]) => a + b)
  .filter((n) => !/^xml/i.test(n));
/** Character data the plain reader takes: no markup, references, CR or other rewritten line ends, surrogates, ']]>'. */
const plainText = fc.string({ unit: fc.oneof(anyChar, fc.constantFrom('>', '"', "'")), maxLength: 20 }).map(
  (s) =>
    s
      .replace(XML_ILLEGAL, '')
      .replace(/[<&\r\u0085\u2028\u2029\uD800-\uDFFF]/g, '')
      .replace(/]/g, ''), // ']]>' (refused here, read by xmldom) could form across adjacent texts
);
const space = fc.constantFrom('', ' ', '\n', '\t ', '  \n');

interface Tree {
  name: string;
  prefix: string;
  /** '' declares nothing; a URI declares it for the prefix (or as the default namespace). */
  declare: string;
  kids: Array<Tree | string>;
  empty: boolean;
  tail: string;
}

/** Plain documents: prefixes declared here or above (or the default namespace), text, white space in tags. */
const plainDocument: fc.Arbitrary<string> = (() => {
  const { tree } = fc.letrec<{ tree: Tree; node: Tree | string }>((tie) => ({
    tree: fc.record({
      name: asciiName,
      prefix: fc.constantFrom('', '', 'p', 'q', 'soapenv'),
      // ' ' stands for xmlns="" (undeclaring the default namespace; a prefix cannot be undeclared in XML 1.0)
      declare: fc.constantFrom('', 'urn:a', 'urn:b', 'http://schemas.xmlsoap.org/soap/envelope/', ' '),
      kids: fc.array(tie('node'), { maxLength: 4 }),
      empty: fc.boolean(),
      tail: space,
    }),
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, plainText, tie('tree')),
  }));
  // a prefix used but declared nowhere above is declared on the element itself
  const write = (t: Tree | string, inScope: ReadonlySet<string>): string => {
    if (typeof t === 'string') return t;
    const scope = new Set(inScope);
    let decl = '';
    if (t.declare === ' ') {
      if (t.prefix && !scope.has(t.prefix)) {
        decl = ` xmlns:${t.prefix}="urn:${t.prefix}"`;
        scope.add(t.prefix);
      } else if (!t.prefix) decl = ' xmlns=""';
    } else if (t.declare) {
      decl = t.prefix ? ` xmlns:${t.prefix}="${t.declare}"` : ` xmlns="${t.declare}"`;
      scope.add(t.prefix);
    } else if (t.prefix && !scope.has(t.prefix)) {
      decl = ` xmlns:${t.prefix}="urn:${t.prefix}"`;
      scope.add(t.prefix);
    }
    const q = t.prefix ? `${t.prefix}:${t.name}` : t.name;
    if (t.empty && !t.kids.length) return `<${q}${decl}${t.tail}/>`;
    return `<${q}${decl}${t.tail}>${t.kids.map((k) => write(k, scope)).join('')}</${q}${t.tail}>`;
  };
  const declaration = fc.constantFrom(
    '',
    '<?xml version="1.0" encoding="UTF-8"?>',
    "<?xml version='1.0'?>",
    '<?xml version = "1.0" encoding="utf-8" standalone="yes" ?>',
    "<?xml\tversion='1.0'\nstandalone='no'?>",
  );
  return fc.tuple(tree, declaration, space, space).map(([t, decl, before, after]) => `${decl}${before}${write(t, new Set())}${after}`);
})();

describe('fuzz: lib/xml/plain-xml against xmldom', () => {
  it('accepts every plain document, with the tree xmldom builds', () => {
    fuzz(SUITE, plainDocument, (xml) => {
      assert.ok(agrees(xml), `a plain document was declined:\n${xml}`);
    });
  });

  it('any other text: declined, or the tree xmldom builds (never accepts what xmldom refuses)', () => {
    let accepted = 0;
    fuzz(
      SUITE,
      fc.oneof(
        mutatedXml(plainDocument),
        anyText(120),
        fc
          .array(
            fc.oneof(
              XML_TOKEN,
              asciiName,
              fc.constantFrom(
                '<a>',
                '</a>',
                '<p:a xmlns:p="urn:p">',
                '</p:a>',
                ' xmlns="u"',
                ' xmlns=""',
                '/>',
                '<xmlns/>',
                ']]>',
                '>',
                '\u00A0',
                '\uFEFF',
                '\u3000',
              ),
            ),
            { maxLength: 30 },
          )
          .map((a) => a.join('')),
        // something other than XML white space before or after the root
        fc
          .tuple(plainDocument, fc.constantFrom('\u00A0', '\uFEFF', '\u3000', '\u2028', 'x'), fc.boolean())
          .map(([d, c, after]) => (after ? d + c : d.replace(/^(<\?xml[^>]*>)?/, `$1${c}`))),
      ),
      (text) => {
        if (agrees(text)) accepted++;
      },
      WEIGHT.cheap,
    );
    assert.ok(accepted > 0, 'some mutated documents stay plain and are compared');
  });

  it('declines documents nested deeper than parseXmlSafely allows, and long texts', () => {
    fuzz(
      SUITE,
      fc.integer({ min: 1, max: 600 }),
      (depth) => {
        // the innermost element holding text, and an empty element one level deeper
        for (const [xml, levels] of [
          [nested(depth, 'a', 'x'), depth],
          [nested(depth, 'a', '<b/>'), depth + 1],
        ] as const) {
          if (levels <= 256) assert.ok(agrees(xml), `depth ${levels} declined`);
          else assert.strictEqual(parsePlainXml(xml), undefined, `depth ${levels} accepted`);
        }
      },
      WEIGHT.normal,
    );
    assert.strictEqual(parsePlainXml(`<a>${'x'.repeat(PLAIN_XML_MAX_CHARS)}</a>`), undefined, 'longer than PLAIN_XML_MAX_CHARS');
  });
});
