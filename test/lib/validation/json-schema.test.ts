import { strict as assert } from 'node:assert';
import type { ErrorObject } from 'ajv';
import { compileSchema, compileCount, SchemaCache, SchemaError, toValidationErrors, validateValue } from '../../../lib/validation/json-schema';
import { checkLimits, DEFAULT_LIMITS, resolveLimits } from '../../../lib/validation/limits';
import { messageDa } from '../../../lib/validation/messages-da';
import { messageEn } from '../../../lib/validation/messages-en';
import { pathText, pointerSegments } from '../../../lib/validation/paths';

describe('lib/validation', () => {
  describe('compileSchema', () => {
    it('keeps strict mode: unknown keywords and unknown formats are schema errors', () => {
      assert.throws(
        () => compileSchema({ type: 'object', propertis: {} }),
        (e: Error) => e instanceof SchemaError && /unknown keyword: "propertis"/.test(e.message),
      );
      assert.throws(() => compileSchema({ type: 'string', format: 'no-such-format' }), /unknown format "no-such-format"/);
      assert.throws(() => compileSchema('{not json'), /not valid JSON/);
      assert.throws(() => compileSchema([1]), /must be an object/);
    });

    it('does not enable $data', () => {
      assert.throws(
        () => compileSchema({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number', maximum: { $data: '1/a' } } } }),
        /maximum value must be number|schema is invalid/,
      );
    });

    it('does not fetch remote $refs', () => {
      assert.throws(() => compileSchema({ $ref: 'https://example.invalid/schema.json' }), /can't resolve reference/);
    });

    it('knows the formats of ajv-formats and the Danish cpr, cvr and kle', () => {
      const c = compileSchema({
        type: 'object',
        properties: {
          d: { type: 'string', format: 'date' },
          cpr: { type: 'string', format: 'cpr' },
          cvr: { type: 'string', format: 'cvr' },
          kle: { type: 'string', format: 'kle' },
        },
      });
      assert.equal(validateValue(c, { d: '2026-04-24', cpr: '240426-1234', cvr: '12345678', kle: '29.09.04' }, 'en', DEFAULT_LIMITS).valid, true);
      const bad = validateValue(c, { d: '2026-13-01', cpr: '3201901234', cvr: '1234567', kle: '29.9.4' }, 'en', DEFAULT_LIMITS);
      assert.deepEqual(bad.errors.map((e) => e.path).sort(), ['cpr', 'cvr', 'd', 'kle']);
    });

    it('understands draft 2020-12 and 2019-09 schemas when $schema names them', () => {
      const c = compileSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'array',
        prefixItems: [{ type: 'string' }, { type: 'integer' }],
        items: false,
      });
      assert.equal(validateValue(c, ['a', 1], 'en', DEFAULT_LIMITS).valid, true);
      assert.equal(validateValue(c, ['a', 1, 2], 'en', DEFAULT_LIMITS).valid, false);
      const d = compileSchema({ $schema: 'https://json-schema.org/draft/2019-09/schema', type: 'object', properties: { a: {} }, unevaluatedProperties: false });
      const r = validateValue(d, { a: 1, b: 2 }, 'da', DEFAULT_LIMITS);
      assert.deepEqual(
        r.errors.map((e) => [e.path, e.keyword, e.message]),
        [['b', 'unevaluatedProperties', 'er ikke tilladt her']],
      );
    });

    it('two schemas with the same $id do not clash', () => {
      const a = compileSchema({ $id: 'https://os2.eu/s.json', type: 'string' });
      const b = compileSchema({ $id: 'https://os2.eu/s.json', type: 'number' });
      assert.equal(a.validate('x'), true);
      assert.equal(b.validate('x'), false);
    });
  });

  describe('SchemaCache', () => {
    it('compiles each distinct schema once and evicts the least recently used', () => {
      const cache = new SchemaCache(2);
      const start = compileCount();
      const s1 = { type: 'string' };
      cache.get(s1);
      cache.get({ type: 'string' });
      cache.get(JSON.stringify(s1));
      assert.equal(compileCount() - start, 1, 'object, equal copy and JSON text share the same hash');
      cache.get({ type: 'number' });
      cache.get(s1); // s1 becomes most recent
      cache.get({ type: 'boolean' }); // evicts number
      assert.equal(cache.size, 2);
      assert.equal(compileCount() - start, 3);
      cache.get(s1);
      assert.equal(compileCount() - start, 3);
      cache.get({ type: 'number' });
      assert.equal(compileCount() - start, 4);
    });

    it('rejects circular and oversized schemas with a clear error', () => {
      const cache = new SchemaCache();
      const circ: Record<string, unknown> = { type: 'object' };
      circ.self = circ;
      assert.throws(() => cache.get(circ), /cannot be serialised/);
      assert.throws(() => cache.get({ type: 'string', description: 'x'.repeat(1_000_001) }), /larger than/);
    });
  });

  describe('errors', () => {
    const e = (keyword: string, params: Record<string, unknown>, instancePath = '/a'): ErrorObject => ({ keyword, params, instancePath, schemaPath: '#' });

    it('has a Danish and an English text for the common keywords', () => {
      const cases: Array<[ErrorObject, string, string]> = [
        [e('required', { missingProperty: 'x' }), 'skal udfyldes', 'is required'],
        [e('type', { type: 'string' }), 'skal være en tekst', 'must be a text'],
        [e('type', { type: ['string', 'null'] }), 'skal være en tekst eller tom (null)', 'must be a text or empty (null)'],
        [e('format', { format: 'email' }), 'skal være en gyldig e-mailadresse', 'must be a valid e-mail address'],
        [e('pattern', { pattern: '^[0-9]{4}$' }), 'har ikke den krævede form (mønster ^[0-9]{4}$)', 'does not have the required form (pattern ^[0-9]{4}$)'],
        [e('minLength', { limit: 2 }), 'skal være på mindst 2 tegn', 'must be at least 2 characters long'],
        [e('maxLength', { limit: 5 }), 'må højst være på 5 tegn', 'must be at most 5 characters long'],
        [e('minimum', { limit: 1, comparison: '>=' }), 'skal være mindst 1', 'must be at least 1'],
        [e('maximum', { limit: 9, comparison: '<=' }), 'må højst være 9', 'must be at most 9'],
        [e('exclusiveMinimum', { limit: 0, comparison: '>' }), 'skal være større end 0', 'must be greater than 0'],
        [e('enum', { allowedValues: ['ja', 'nej'] }), 'skal være en af de tilladte værdier: "ja", "nej"', 'must be one of the allowed values: "ja", "nej"'],
        [e('const', { allowedValue: 'Accepteret' }), 'skal være "Accepteret"', 'must be "Accepteret"'],
        [e('additionalProperties', { additionalProperty: 'y' }), 'er ikke tilladt her', 'is not allowed here'],
        [e('minItems', { limit: 1 }), 'skal have mindst 1 element', 'must have at least 1 item'],
        [e('maxItems', { limit: 3 }), 'må højst have 3 elementer', 'must have at most 3 items'],
        [e('uniqueItems', { i: 3, j: 1 }), 'må ikke indeholde dubletter (element 1 og 3 er ens)', 'must not contain duplicates (items 1 and 3 are equal)'],
        [e('oneOf', { passingSchemas: null }), 'skal passe til præcis ét af de tilladte alternativer', 'must match exactly one of the allowed alternatives'],
      ];
      for (const [err, da, en] of cases) {
        assert.equal(messageDa(err), da);
        assert.equal(messageEn(err), en);
      }
    });

    it('points required/additionalProperties errors at the field itself', () => {
      const out = toValidationErrors(
        [e('required', { missingProperty: 'fornavn' }, '/data'), e('additionalProperties', { additionalProperty: 'x y' }, '/data/items/2')],
        'da',
      );
      assert.deepEqual(out, [
        { path: 'data.fornavn', pointer: '/data/fornavn', message: 'skal udfyldes', keyword: 'required' },
        { path: 'data.items[2]["x y"]', pointer: '/data/items/2/x y', message: 'er ikke tilladt her', keyword: 'additionalProperties' },
      ]);
    });

    it('caps the number of reported errors', () => {
      const c = compileSchema({ type: 'array', items: { type: 'string' } });
      const r = validateValue(
        c,
        Array.from({ length: 500 }, (_, i) => i),
        'en',
        DEFAULT_LIMITS,
      );
      assert.equal(r.errors.length, 100);
    });
  });

  describe('paths', () => {
    it('renders dotted paths and JSON pointers, escaping ~ and /', () => {
      assert.deepEqual(pathText(['data', 'a/b', 0, 'c~d', 'æble']), { path: 'data["a/b"][0]["c~d"].æble', pointer: '/data/a~1b/0/c~0d/æble' });
      assert.deepEqual(pointerSegments('/data/a~1b/0/c~0d'), ['data', 'a/b', 0, 'c~d']);
      assert.deepEqual(pathText([]), { path: '', pointer: '' });
    });
  });

  describe('limits', () => {
    it('accepts a normal submission, including file contents as Buffers', () => {
      const sub = { data: { navn: 'Åse' }, files: [{ name: 'a.pdf', content: Buffer.alloc(20_000_000) }] };
      assert.equal(checkLimits(sub, DEFAULT_LIMITS, 'en'), undefined);
    });

    it('stops at each limit with keyword "limit" and the path of the offending value', () => {
      const l = resolveLimits({ maxDepth: 3, maxStringLength: 5, maxArrayItems: 2, maxProperties: 2, maxNodes: 10, maxTotalChars: 12 });
      assert.equal(checkLimits({ a: { b: { c: { d: 1 } } } }, l, 'en')?.path, 'a.b.c');
      assert.equal(checkLimits({ a: ['123456'] }, l, 'da')?.message, 'er længere end 5 tegn og blev ikke valideret');
      assert.equal(checkLimits({ x: 1, a: ['ok', '123456'] }, l, 'en')?.pointer, '/a/1', 'the path of a value inside a list');
      assert.equal(checkLimits({ a: [1, 2, 3] }, l, 'en')?.path, 'a');
      assert.match(checkLimits({ a: 1, b: 2, c: 3 }, l, 'en')!.message, /more than 2 fields/);
      assert.match(
        checkLimits(
          [
            [1, 1],
            [1, 1],
            [
              [1, 1],
              [1, 1],
            ],
          ].flat(),
          resolveLimits({ maxNodes: 3 }),
          'en',
        )!.message,
        /more than 3 values/,
      );
      assert.match(checkLimits({ aa: 'xxxxx', bb: 'xxxxx' }, l, 'en')!.message, /more than 12 characters in total/);
    });

    it('ignores overrides that are not positive integers', () => {
      assert.deepEqual(resolveLimits({ maxDepth: -1, maxNodes: 'x', maxArrayItems: 5 }), { ...DEFAULT_LIMITS, maxArrayItems: 5 });
    });
  });
});
