// Fuzzing lib/mapping/template.ts, the form-XML template engine: any template text compiles or throws TemplateError,
// any compiled template renders any submission-like context to text or throws TemplateError (helpers' FormatErrors
// arrive wrapped), always quickly; a placeholder prints its value XML-escaped; loops count as they say.
import assert from 'node:assert';
import fc from 'fast-check';
import { FormatError } from '../../lib/mapping/formats';
import { HELPERS, Template, TemplateError, checkXmlTemplate, toFormXml } from '../../lib/mapping/template';
import { XmlError, escapeXml, parseXmlSafely } from '../../lib/xml/safe-xml';
import { WEIGHT, attempt, fuzz } from './fuzz-support';
import { anyText, xmlTextOf } from './xml-arbitraries';

const SUITE = 'mapping/template';

/** JSON values as JSON.parse makes them (fast-check may build objects without a prototype, which JSON never does). */
const json = (maxDepth: number) => fc.jsonValue({ maxDepth }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

/** Names that exist on every object through its prototype (and the prototype itself). */
const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'];

const pathArb = fc.oneof(
  fc.constantFrom('a', 'xs', 'data.navn', 'data.liste', 'data.obj.a', 'files.0.name', 'files', 'this', '@index', '@last', 'n', 'dato', 'bin', 'x.y.z'),
  fc.constantFrom(...PROTOTYPE_NAMES),
  fc.stringMatching(/^[A-Za-z_$][\w$-]{0,6}(\.[A-Za-z_$0-9][\w$-]{0,4}){0,2}$/),
);
const literalArb = fc.oneof(
  fc.constantFrom('"x"', "'y'", '"a\\"b"', '3', '-1.5', 'true', 'false', 'null', '""', '"', "'", '0'),
  anyText(6).map((s) => JSON.stringify(s)),
);
const helperArb = fc.oneof(fc.constantFrom(...Object.keys(HELPERS)), fc.constantFrom('nosuch', ...PROTOTYPE_NAMES));
const exprArb = fc.oneof(
  pathArb,
  fc.tuple(helperArb, fc.array(fc.oneof(pathArb, literalArb), { maxLength: 3 })).map(([h, args]) => [h, ...args].join(' ')),
  anyText(10),
);

/** Template pieces: text, tags (well-formed or not), blocks and their ends, comments, stray braces. */
const pieceArb = fc.oneof(
  { weight: 3, arbitrary: anyText(12) },
  { weight: 3, arbitrary: exprArb.map((e) => `{{${e}}}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('each', 'if', 'unless', 'with', 'bogus', ''), exprArb).map(([k, e]) => `{{#${k} ${e}}}`) },
  { weight: 2, arbitrary: fc.constantFrom('{{/each}}', '{{/if}}', '{{/unless}}', '{{/with}}', '{{else}}', '{{/}}', '{{/bogus}}') },
  { weight: 1, arbitrary: fc.constantFrom('{{', '}}', '{{{', '}}}', '{', '}', '{{!', '{{! comment }}', '{{ }}', '\n', '<r>', '</r>', '<r a="{{a}}"/>') },
);
const templateTextArb = fc.array(pieceArb, { maxLength: 25 }).map((p) => p.join(''));

/** A submission-like context: JSON values under the names the pieces use, plus Buffers, Dates and long lists. */
const contextArb = fc.record(
  {
    a: json(2),
    n: fc.oneof(fc.integer(), fc.double(), fc.bigInt()),
    xs: fc.oneof(
      fc.array(json(2), { maxLength: 5 }),
      fc.integer({ min: 0, max: 20_000 }).map((k) => Array.from({ length: k }, (_, i) => i)),
    ),
    data: fc.record(
      { navn: anyText(20), liste: fc.array(anyText(5), { maxLength: 4 }), obj: fc.dictionary(fc.string(), json(1), { noNullPrototype: true }) },
      { requiredKeys: [], noNullPrototype: true },
    ),
    files: fc.array(fc.record({ name: anyText(10), size: fc.nat() }, { noNullPrototype: true }), { maxLength: 3 }),
    dato: fc.oneof(fc.date(), fc.constant(new Date(Number.NaN))),
    bin: fc.constant(Buffer.from('secret')),
    constructor: anyText(5),
    toString: anyText(5),
  },
  { requiredKeys: [], noNullPrototype: true },
);

/** A rendering must be text or TemplateError; nothing else escapes render. */
function renderChecked(t: Template, context: unknown, strict: boolean, escaping: boolean): string | undefined {
  const r = attempt('Template.render', () => t.render(context, { strict, escape: escaping }), [TemplateError]);
  if (!r.ok) return undefined;
  assert.strictEqual(typeof r.value, 'string');
  return r.value;
}

describe('fuzz: form-XML template engine', () => {
  it('any template text compiles or throws TemplateError; any compiled one renders any context or throws TemplateError', () => {
    fuzz(
      SUITE,
      fc.record({ text: templateTextArb, context: contextArb, strict: fc.boolean(), escaping: fc.boolean() }),
      ({ text, context, strict, escaping }) => {
        const t = attempt('new Template', () => new Template(text), [TemplateError]);
        if (!t.ok) return;
        assert.strictEqual(typeof t.value.skeleton(), 'string');
        const out = renderChecked(t.value, context, strict, escaping);
        if (out !== undefined && escaping) assert.ok(!out.includes('secret'), 'binary data is never printed');
        attempt('checkXmlTemplate', () => checkXmlTemplate(text), [TemplateError]);
        if (out !== undefined) attempt('toFormXml', () => toFormXml(out), [XmlError, TemplateError]);
      },
      WEIGHT.cheap,
    );
  });

  it('a placeholder prints its value, XML-escaped, whatever the name (also names every object inherits)', () => {
    const name = fc
      .oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.stringMatching(/^[A-Za-z_$][\w$-]{0,10}$/))
      .filter((k) => !Object.hasOwn(HELPERS, k) && k !== 'this');
    fuzz(SUITE, fc.record({ key: name, value: fc.oneof(anyText(30), fc.integer(), fc.boolean()) }), ({ key, value }) => {
      const context = Object.defineProperty({}, key, { value, enumerable: true });
      assert.strictEqual(new Template(`{{${key}}}`).render(context), escapeXml(String(value)));
      assert.strictEqual(new Template(`{{#if ${key}}}y{{else}}n{{/if}}`).render(context), value === '' || value === false || value === 0 ? 'n' : 'y');
    });
  });

  it('loops: @index, @number, @first and @last belong to the innermost {{#each}}', () => {
    const nestedLists = fc.array(fc.array(fc.nat({ max: 9 }), { maxLength: 4 }), { maxLength: 4 });
    fuzz(SUITE, nestedLists, (outer) => {
      const t = new Template('{{#each outer}}[{{@index}}:{{#each this}}{{@index}}/{{@number}}{{#if @first}}F{{/if}}{{#if @last}}L{{/if}},{{/each}}]{{/each}}');
      const expected = outer
        .map((inner, i) => `[${i}:${inner.map((_, j) => `${j}/${j + 1}${j === 0 ? 'F' : ''}${j === inner.length - 1 ? 'L' : ''},`).join('')}]`)
        .join('');
      assert.strictEqual(t.render({ outer }), expected);
    });
  });

  it('rendered values stay text: <r>{{x}}</r> is well-formed and reads back as x', () => {
    fuzz(SUITE, anyText(100), (x) => {
      const out = new Template('<r a="{{x}}">{{x}}</r>').render({ x });
      const xml = toFormXml(out);
      assert.strictEqual(xml, out);
      const root = parseXmlSafely(xml).documentElement!;
      assert.strictEqual(root.childNodes.length <= 1, true, 'one text node, no markup from the value');
      assert.strictEqual(root.textContent, xmlTextOf(x));
    });
  });

  it('helpers: text, a number or a boolean, or a TemplateError; decimal gives two fraction digits, date/dateTime the xs forms', () => {
    const arg = fc.oneof(
      anyText(20),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.constant(undefined),
      fc.date(),
      json(1),
      fc.stringMatching(/^-?[0-9]{1,30}([.,][0-9]{1,5})?$/),
    );
    fuzz(SUITE, fc.record({ helper: fc.constantFrom(...Object.keys(HELPERS)), args: fc.array(arg, { maxLength: 3 }) }), ({ helper, args }) => {
      const context = Object.fromEntries(args.map((v, i) => [`v${i}`, v]));
      const call = `{{${helper}${args.map((_, i) => ` v${i}`).join('')}}}`;
      const r = attempt(call, () => new Template(call).render(context, { strict: false }), [TemplateError]);
      if (!r.ok) return;
      if (helper === 'decimal') assert.match(r.value, /^-?[0-9]+\.[0-9]{2}$/, `decimal of ${String(args[0])}`);
      if (helper === 'date') assert.match(r.value, /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, `date of ${String(args[0])}`);
      if (helper === 'dateTime')
        assert.match(r.value, /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$/, `dateTime of ${String(args[0])}`);
    });
    // amounts as forms post them (digits, Danish thousands separators and decimal comma), also far too large ones
    const amount = fc
      .tuple(
        fc.boolean(),
        fc.array(fc.constantFrom(...'0123456789'), { minLength: 1, maxLength: 40, size: 'max' }).map((d) => `1${d.join('')}`),
        fc.option(fc.stringMatching(/^[0-9]{1,4}$/), { nil: undefined }),
        fc.boolean(),
      )
      .map(
        ([neg, int, frac, danish]) =>
          `${neg ? '-' : ''}${danish ? int.replace(/\B(?=(\d{3})+$)/g, '.') : int}${frac === undefined ? '' : (danish ? ',' : '.') + frac}`,
      );
    fuzz(SUITE, amount, (v) => {
      const r = attempt('{{decimal v}}', () => new Template('{{decimal v}}').render({ v }), [TemplateError]);
      if (r.ok) assert.match(r.value, /^-?[0-9]+\.[0-9]{2}$/, `decimal of ${v}`);
    });
    // instants as a form may carry them, early years and far futures included
    const instant = fc.oneof(
      fc.date(),
      fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('0300-01-01T00:00:00Z') }),
      fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
      fc.integer({ min: -1e11, max: 1e11 }).map(String),
      fc.integer({ min: -1e15, max: 1e15 }),
    );
    fuzz(SUITE, fc.record({ helper: fc.constantFrom('date', 'dateTime'), v: instant }), ({ helper, v }) => {
      const r = attempt(`{{${helper} v}}`, () => new Template(`{{${helper} v}}`).render({ v }), [TemplateError]);
      if (r.ok)
        assert.match(
          r.value,
          helper === 'date' ? /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/ : /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$/,
        );
    });
    // helpers themselves throw FormatError, never a TypeError
    fuzz(SUITE, fc.record({ helper: fc.constantFrom(...Object.keys(HELPERS)), args: fc.array(arg, { maxLength: 3 }) }), ({ helper, args }) => {
      attempt(helper, () => HELPERS[helper]!(...args), [FormatError]);
    });
  });

  it('huge templates and contexts stay fast: brace floods, deep blocks, long loops and outputs are bounded', () => {
    fuzz(
      SUITE,
      fc.oneof(
        fc.record({
          kind: fc.constant('flood' as const),
          unit: fc.constantFrom('{{', '{', '{{#if a}}', '{{!', '{{"', '{{a', '}}{{'),
          n: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 50_000, max: 150_000 })),
        }),
        fc.record({
          kind: fc.constant('blocks' as const),
          unit: fc.constantFrom('{{#if a}}', '{{#each xs}}', '{{#with data}}'),
          n: fc.integer({ min: 1, max: 5_000 }),
        }),
        fc.record({
          kind: fc.constant('loops' as const),
          unit: fc.constantFrom('{{#each xs}}{{#each xs}}{{this}}{{/each}}{{/each}}', '{{#each xs}}{{data.navn}}{{/each}}'),
          n: fc.integer({ min: 1, max: 2_000 }),
        }),
      ),
      ({ kind, unit, n }) => {
        if (kind === 'flood') {
          attempt('new Template', () => new Template(`<r>${unit.repeat(Math.ceil(n / unit.length))}</r>`), [TemplateError]);
        } else if (kind === 'blocks') {
          const close = unit.startsWith('{{#if') ? '{{/if}}' : unit.startsWith('{{#each') ? '{{/each}}' : '{{/with}}';
          attempt('new Template', () => new Template(unit.repeat(n) + close.repeat(n)), [TemplateError]);
        } else {
          const t = new Template(unit);
          const xs = Array.from({ length: n }, (_, i) => i);
          renderChecked(t, { xs, data: { navn: 'x'.repeat(10_000) } }, true, true);
        }
      },
      WEIGHT.huge,
    );
  });
});
