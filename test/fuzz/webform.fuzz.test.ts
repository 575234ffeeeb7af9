// Fuzzing what webform in does with a remote post (lib/node-red/webform-push.ts step 4): the body as JSON
// (JSON.parse) or form-encoded (lib/webform/form-decode.ts decodeForm), then lib/webform/normalise.ts
// normaliseRemotePost; and normaliseRestSubmission for the REST API's answers. Clear errors: SyntaxError from
// JSON.parse (answered 400 "malformed JSON"), FormDecodeError, SubmissionError — the ones the route answers with 400;
// anything else would be a 500.
import assert from 'node:assert';
import fc from 'fast-check';
import { FormDecodeError, decodeForm } from '../../lib/webform/form-decode';
import { BASE_FIELDS, SubmissionError, normaliseRemotePost, normaliseRestSubmission, toIsoTimestamp } from '../../lib/webform/normalise';
import { WEIGHT, attempt, fuzz } from './fuzz-support';
import { anyText, mutateText, textMutation } from './xml-arbitraries';

const SUITE = 'webform (remote post)';

// ---------- encoding as OS2forms sends it ----------

/** PHP's urlencode (what http_build_query uses): RFC 3986 unreserved kept, space as +. */
function phpUrlencode(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** http_build_query: nested arrays/objects as name[key][0]=value pairs. */
function phpBuildQuery(entries: readonly [string, unknown][]): string {
  const out: string[] = [];
  const walk = (name: string, v: unknown) => {
    if (v === null || v === undefined) return; // http_build_query skips null
    if (Array.isArray(v)) for (const [i, x] of v.entries()) walk(`${name}[${i}]`, x);
    else if (typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(`${name}[${k}]`, x);
    else out.push(`${phpUrlencode(name)}=${phpUrlencode(typeof v === 'boolean' ? (v ? '1' : '0') : String(v))}`);
  };
  for (const [k, v] of entries) walk(k, v);
  return out.join('&');
}

/** A JSON object text from entries, keeping every key as given (also "__proto__", also repeated keys). */
function jsonObject(entries: readonly [string, unknown][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

// ---------- arbitraries ----------

/** Text without lone surrogates (encodeURIComponent and UTF-8 bodies cannot carry them). */
const wellFormedText = (max = 20) => anyText(max).map((s) => s.replace(/[\uD800-\uDFFF]/g, (c, i, all: string) => (isPaired(all, i) ? c : '\uFFFD')));
function isPaired(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) return i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
  return i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff;
}

const uuidArb = fc.oneof(
  { weight: 6, arbitrary: fc.uuid().map((u) => u) },
  { weight: 1, arbitrary: fc.uuid().map((u) => u.toUpperCase()) },
  { weight: 1, arbitrary: fc.uuid().map((u) => ` ${u}`) },
  { weight: 1, arbitrary: wellFormedText(40) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({})) },
);

const timestampArb = fc.oneof(
  fc.integer({ min: -1e13, max: 1e13 }),
  fc.double(),
  fc.integer({ min: 0, max: 4e9 }).map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('', '0', '-1', '1e400', '9'.repeat(40), 'NaN', '2026-02-30', '2026-11-22T08:00:00+01:00', 'Sat, 21 Nov 2026 10:00:00 GMT'),
  wellFormedText(20),
);

const base64Arb = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64'));

/** File contents as posted: base64 (as PHP's chunk_split writes it, or not), and broken ones with long white space. */
const fileDataArb = fc.oneof(
  { weight: 4, arbitrary: base64Arb },
  { weight: 2, arbitrary: base64Arb.map((b) => (b.match(/.{1,76}/g) ?? []).join('\r\n')) },
  { weight: 1, arbitrary: fc.tuple(base64Arb, wellFormedText(4)).map(([b, junk]) => b + junk) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(base64Arb, fc.constantFrom(' ', '\n', '\r\n', '\t'), fc.integer({ min: 1000, max: 100_000 }), fc.constantFrom('!', '-', '===', '=A', '='))
      .map(([b, ws, n, tail]) => b + ws.repeat(n) + tail),
  },
  { weight: 1, arbitrary: fc.oneof(fc.constant(''), fc.integer(), fc.constant(null)) },
);

const fileArb = fc.record(
  {
    id: fc.oneof(fc.nat().map(String), fc.nat(), wellFormedText(5)),
    name: fc.oneof({ weight: 5, arbitrary: wellFormedText(20) }, { weight: 1, arbitrary: fc.integer() }),
    uri: fc.oneof(fc.webUrl(), fc.constantFrom('private://webform/x/1/a.pdf', 'javascript:alert(1)'), wellFormedText(10)),
    mime: fc.constantFrom('application/pdf', 'image/png', '', 'text/html'),
    uuid: fc.uuid(),
    size: fc.oneof(fc.nat(), fc.double(), wellFormedText(4)),
    data: fileDataArb,
  },
  { requiredKeys: ['name'] },
);

/** Field names: plain, Drupal base fields, prototype names, bracket-y and unicode ones. */
const fieldName = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/) },
  { weight: 1, arbitrary: fc.constantFrom(...BASE_FIELDS) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '_', '') },
  { weight: 1, arbitrary: wellFormedText(8) },
);

const valueArb = fc.oneof({ weight: 3, arbitrary: wellFormedText(30) }, { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) });

/** A remote-post body as entries: uuid, webform_id, base fields, element values, file elements (_x beside x). */
const bodyEntries: fc.Arbitrary<[string, unknown][]> = fc
  .record({
    uuid: fc.option(uuidArb, { nil: undefined }),
    webformId: fc.option(fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), wellFormedText(10), fc.integer()), { nil: undefined }),
    times: fc.array(fc.tuple(fc.constantFrom('created', 'completed', 'changed'), timestampArb), { maxLength: 3 }),
    inDraft: fc.option(fc.oneof(fc.boolean(), fc.constantFrom(0, 1, '0', '1', 'true', 'false', 'ja', 2)), { nil: undefined }),
    fields: fc.array(fc.tuple(fieldName, valueArb), { maxLength: 8 }),
    files: fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), fc.oneof(fileArb, fc.array(fileArb, { minLength: 1, maxLength: 3 }))), {
      maxLength: 3,
    }),
  })
  .chain((b) => {
    const entries: [string, unknown][] = [];
    if (b.uuid !== undefined) entries.push(['uuid', b.uuid]);
    if (b.webformId !== undefined) entries.push(['webform_id', b.webformId]);
    for (const t of b.times) entries.push(t);
    if (b.inDraft !== undefined) entries.push(['in_draft', b.inDraft]);
    entries.push(...b.fields);
    for (const [el, f] of b.files) entries.push([el, Array.isArray(f) ? f.map((x) => x.id ?? '') : (f.id ?? '')], [`_${el}`, f]);
    return fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length });
  });

// ---------- the pipeline ----------

type Decoded = { ok: true; body: unknown } | { ok: false };

/** Step 4 of the push route: JSON.parse or decodeForm, each failure checked to be the clear one. */
function decode(type: 'json' | 'form', text: string): Decoded {
  if (type === 'json') {
    const r = attempt('JSON.parse', () => JSON.parse(text) as unknown, [SyntaxError]);
    return r.ok ? { ok: true, body: r.value } : { ok: false };
  }
  const r = attempt('decodeForm', () => decodeForm(text), [FormDecodeError]);
  return r.ok ? { ok: true, body: r.value } : { ok: false };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function looksLikeFile(v: unknown): boolean {
  return isRecord(v) && typeof v.name === 'string' && ('uri' in v || 'id' in v || 'fid' in v) && ('mime' in v || 'uri' in v || 'data' in v);
}
function isFileElement(key: string, value: unknown): boolean {
  if (!key.startsWith('_') || key.length < 2) return false;
  if (Array.isArray(value)) return value.length > 0 && value.every(looksLikeFile);
  return looksLikeFile(value);
}

/** What a normalised submission must say about the body it came from. */
function checkSubmission(body: unknown, hint: string | undefined): void {
  const r = attempt('normaliseRemotePost', () => normaliseRemotePost(body, { webformId: hint }), [SubmissionError]);
  if (!r.ok) return;
  const s = r.value;
  assert.ok(isRecord(body));
  assert.strictEqual(s.submission.uuid, String(body.uuid).toLowerCase());
  assert.match(s.submission.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const webformId =
    typeof body.webform_id === 'string' && body.webform_id !== ''
      ? body.webform_id
      : typeof body.webform_id === 'number' && Number.isFinite(body.webform_id)
        ? String(body.webform_id)
        : hint;
  assert.strictEqual(s.webform?.id, webformId);
  for (const k of ['created', 'completed', 'changed'] as const) {
    const iso = s.submission[k];
    if (iso !== undefined) assert.strictEqual(new Date(iso).toISOString(), iso, `${k} is an ISO 8601 instant`);
  }
  // every element value is passed on as it came, under its own name; nothing else is in data
  const expected = Object.keys(body).filter((k) => !BASE_FIELDS.has(k) && !isFileElement(k, body[k]));
  assert.deepStrictEqual(Object.keys(s.data).sort(), [...expected].sort(), 'data holds exactly the element values');
  for (const k of expected) {
    assert.ok(Object.hasOwn(s.data, k), `data has its own "${k}"`);
    assert.strictEqual(s.data[k], body[k], `data.${k} is the posted value`);
  }
  assert.strictEqual(Object.getPrototypeOf(s.data), Object.prototype, 'data is a plain object');
  // one file per posted file object, with its content when it came with any
  const posted = Object.keys(body)
    .filter((k) => isFileElement(k, body[k]))
    .flatMap((k) => (Array.isArray(body[k]) ? (body[k] as unknown[]) : [body[k]]).map((f) => ({ element: k.slice(1), f: f as Record<string, unknown> })));
  assert.strictEqual(s.files.length, posted.length);
  posted.forEach(({ element, f }, i) => {
    const file = s.files[i]!;
    assert.strictEqual(file.element, element);
    assert.strictEqual(file.name, String(f.name));
    if (typeof f.data === 'string' && f.data.length > 0) assert.deepStrictEqual(file.content, Buffer.from(f.data, 'base64'));
    if (file.url !== undefined) assert.match(file.url, /^https?:\/\//i);
  });
}

describe('fuzz: webform in (remote-post decoding and normalising)', () => {
  it('JSON and form-encoded bodies: a submission that keeps every posted value, or a clear 400 error', () => {
    fuzz(
      SUITE,
      fc.record({
        entries: bodyEntries,
        type: fc.constantFrom('json' as const, 'form' as const),
        hint: fc.option(fc.constantFrom('sp241', 'x'), { nil: undefined }),
        mutations: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(textMutation, { minLength: 1, maxLength: 3 }) }),
      }),
      ({ entries, type, hint, mutations }) => {
        const text = mutateText(type === 'json' ? jsonObject(entries) : phpBuildQuery(entries), mutations);
        const decoded = decode(type, text);
        if (decoded.ok) checkSubmission(decoded.body, hint);
      },
      WEIGHT.cheap,
    );
  });

  it('any decoded JSON value: a submission or SubmissionError', () => {
    const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown); // as JSON.parse makes them
    fuzz(SUITE, fc.oneof(json, fc.constantFrom(null, [], 'x', 1)), (body) => checkSubmission(body, undefined));
  });

  it('decodeForm: PHP http_build_query output decodes to what was encoded', () => {
    const key = fc.stringMatching(/^[a-zA-Z_æøå][a-zA-Z0-9_ æøå.-]{0,8}$/).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k));
    const leaf = wellFormedText(20);
    const { tree } = fc.letrec<{ tree: Record<string, unknown>; value: unknown }>((tie) => ({
      tree: fc.dictionary(key, tie('value'), { minKeys: 1, maxKeys: 4 }),
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('tree'), fc.array(tie('value'), { minLength: 1, maxLength: 3 })),
    }));
    const depthOf = (v: unknown): number => (typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    fuzz(
      SUITE,
      tree.filter((t) => depthOf(t) <= 10),
      (t) => {
        const decoded = decodeForm(phpBuildQuery(Object.entries(t)));
        assert.deepStrictEqual(decoded, JSON.parse(JSON.stringify(t)));
      },
    );
  });

  it('decodeForm on hostile text: an object of plain objects/arrays/strings, or FormDecodeError; no prototype reached', () => {
    const segment = fc.oneof(
      fc.constantFrom('[]', '[0]', '[1]', '[__proto__]', '[constructor]', '[prototype]', '[', ']', '[[', ']]', '%5B', '%5D', '%5B__proto__%5D', '[x]'),
      fc.nat({ max: 12 }).map((n) => '[x]'.repeat(n)),
      wellFormedText(4).map(phpUrlencode),
    );
    const pair = fc
      .tuple(fc.array(segment, { maxLength: 5 }), fc.constantFrom('=', '', '=='), wellFormedText(6))
      .map(([k, eq, v]) => k.join('') + eq + phpUrlencode(v));
    const text = fc.oneof(
      fc.array(pair, { maxLength: 12 }).map((p) => p.join('&')),
      anyText(80),
      fc.tuple(pair, fc.integer({ min: 1, max: 12_000 })).map(([p, n]) => `${p}&`.repeat(n)),
    );
    const plain = (v: unknown): void => {
      if (typeof v === 'string') return;
      assert.ok(typeof v === 'object' && v !== null);
      assert.ok([Object.prototype, Array.prototype].includes(Object.getPrototypeOf(v)), 'plain object or array');
      for (const x of Object.values(v)) plain(x);
    };
    fuzz(SUITE, text, (t) => {
      const r = attempt('decodeForm', () => decodeForm(t), [FormDecodeError]);
      if (r.ok) plain(r.value);
      assert.strictEqual(({} as Record<string, unknown>).x, undefined, 'Object.prototype untouched');
    });
  });

  it('toIsoTimestamp: undefined or an ISO 8601 instant', () => {
    fuzz(SUITE, fc.oneof(timestampArb, fc.anything()), (v) => {
      const iso = toIsoTimestamp(v);
      if (iso !== undefined) assert.strictEqual(new Date(iso).toISOString(), iso);
    });
  });

  it('REST submissions: a submission or SubmissionError', () => {
    const field = (v: fc.Arbitrary<unknown>) =>
      fc.oneof(
        v,
        v.map((x) => [{ value: x }]),
        v.map((x) => [{ target_id: x }]),
        fc.constant([]),
      );
    const linkedFile = fc.record(
      {
        id: fc.oneof(fc.nat(), wellFormedText(4)),
        url: fc.oneof(fc.webUrl(), wellFormedText(10)),
        mime_type: fc.string(),
        size: fc.oneof(fc.nat(), fc.double(), fc.string()),
        name: wellFormedText(10),
      },
      { requiredKeys: [] },
    );
    const rest = fc.record(
      {
        entity: fc.record(
          { uuid: field(uuidArb), webform_id: field(fc.oneof(fc.string(), fc.integer())), created: field(timestampArb), in_draft: field(fc.boolean()) },
          { requiredKeys: [] },
        ),
        data: fc.record(
          {
            navn: valueArb,
            linked: fc.oneof(
              fc.dictionary(fc.string(), fc.oneof(fc.dictionary(fc.nat().map(String), fc.oneof(linkedFile, fc.jsonValue())), fc.jsonValue())),
              fc.jsonValue(),
            ),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    fuzz(SUITE, fc.oneof(rest, fc.jsonValue({ maxDepth: 3 })), (json) => {
      const r = attempt('normaliseRestSubmission', () => normaliseRestSubmission(json), [SubmissionError]);
      if (r.ok) {
        assert.match(r.value.submission.uuid, /^[0-9a-f-]{36}$/);
        for (const f of r.value.files) assert.ok(typeof f.name === 'string' && f.name.length > 0);
      }
    });
  });
});
