// validate: JSON Schema (node / file / msg.schema) and XSD checks, two outputs, errors in Danish and English.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import validateNode from '../../nodes/validate/validate';
import { compileCount } from '../../lib/validation/json-schema';

const contract = process.env.SF2900_CONTRACT_DIR as string;
const SP241_XSD = path.join(contract, 'forms', 'SP241.xsd');
const SP241_XML = fs.readFileSync(path.join(contract, 'forms', 'SP241.xml'), 'utf8');

const SCHEMA = {
  type: 'object',
  required: ['data'],
  properties: {
    data: {
      type: 'object',
      required: ['fornavn', 'cpr'],
      properties: {
        fornavn: { type: 'string', minLength: 1, maxLength: 40 },
        cpr: { type: 'string', format: 'cpr' },
        email: { type: 'string', format: 'email' },
        antal: { type: 'integer', minimum: 1 },
        udgifter: { type: 'array', maxItems: 3, items: { enum: ['tand', 'fod'] } },
      },
    },
  },
};

const GOOD = { data: { fornavn: 'Åse', cpr: '0101901234', email: 'aase@example.dk', antal: 2, udgifter: ['tand'] } };
const BAD = { data: { fornavn: '', email: 'ikke-en-mail', antal: 0, udgifter: ['tand', 'hår'] } };

interface Outputs {
  valid: Array<Record<string, any>>;
  invalid: Array<Record<string, any>>;
}

function flow(cfg: Record<string, unknown>, extra: object[] = []) {
  return [
    { id: 'tab', type: 'tab' },
    {
      id: 'v1',
      z: 'tab',
      type: 'os2-validate',
      property: 'payload',
      propertyType: 'msg',
      language: 'en',
      schemaSource: 'node',
      schema: JSON.stringify(SCHEMA),
      xsdFile: '',
      wires: [['ok'], ['bad']],
      ...cfg,
    },
    { id: 'ok', z: 'tab', type: 'helper' },
    { id: 'bad', z: 'tab', type: 'helper' },
    ...extra,
  ];
}

async function load(cfg: Record<string, unknown>, extra: object[] = []): Promise<Outputs> {
  await helper.load(validateNode as never, flow(cfg, extra) as never);
  const out: Outputs = { valid: [], invalid: [] };
  helper.getNode('ok').on('input', (m: Record<string, any>) => out.valid.push(m));
  helper.getNode('bad').on('input', (m: Record<string, any>) => out.invalid.push(m));
  return out;
}

/** Sends a message and waits until the node called done() or done(err) (the runtime's _complete). */
function send(msg: Record<string, unknown>): Promise<Error | undefined> {
  const n = helper.getNode('v1') as any;
  return new Promise((resolve) => {
    const complete = n._complete;
    n._complete = function (m: unknown, err?: Error) {
      n._complete = complete;
      complete.call(n, m, err);
      // messages are delivered asynchronously (setImmediate); let them arrive before resolving
      setImmediate(() => setImmediate(() => resolve(err)));
    };
    n.receive(msg);
  });
}

function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => (cond() ? resolve() : Date.now() > end ? reject(new Error('timed out')) : setTimeout(tick, 5));
    tick();
  });
}

describe('os2-validate', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-node-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => helper.unload());

  it('sends valid data to output 1 and invalid data to output 2 with done() (not an error)', async () => {
    const out = await load({});
    assert.equal(await send({ payload: GOOD, _msgid: 'a' }), undefined);
    assert.equal(await send({ payload: BAD, _msgid: 'b' }), undefined);
    assert.equal(out.valid.length, 1);
    assert.equal(out.valid[0]._msgid, 'a');
    assert.equal(out.valid[0].validationErrors, undefined);
    assert.equal(out.invalid.length, 1);
    assert.equal(out.invalid[0]._msgid, 'b');
    assert.ok(Array.isArray(out.invalid[0].validationErrors));
  });

  it('reports every error with a readable path, keyword and English text', async () => {
    const out = await load({ language: 'en' });
    await send({ payload: BAD });
    const errs = out.invalid[0].validationErrors as Array<{ path: string; message: string; keyword: string }>;
    const byPath = Object.fromEntries(errs.map((e) => [e.path, e]));
    assert.deepEqual(byPath['data.cpr'], { path: 'data.cpr', pointer: '/data/cpr', message: 'is required', keyword: 'required' });
    assert.equal(byPath['data.fornavn'].message, 'must not be empty');
    assert.equal(byPath['data.email'].message, 'must be a valid e-mail address');
    assert.equal(byPath['data.antal'].message, 'must be at least 1');
    assert.equal(byPath['data.udgifter[1]'].keyword, 'enum');
    assert.equal(byPath['data.udgifter[1]'].message, 'must be one of the allowed values: "tand", "fod"');
  });

  it('reports the same errors in Danish', async () => {
    const out = await load({ language: 'da' });
    await send({ payload: BAD });
    await send({ payload: { data: { fornavn: 'x'.repeat(41), cpr: '3213991234', antal: 'to', udgifter: ['tand', 'fod', 'tand', 'fod'] } } });
    const msgs = (i: number) => Object.fromEntries((out.invalid[i].validationErrors as any[]).map((e) => [e.path, e.message]));
    assert.deepEqual(msgs(0), {
      'data.cpr': 'skal udfyldes',
      'data.fornavn': 'må ikke være tom',
      'data.email': 'skal være en gyldig e-mailadresse',
      'data.antal': 'skal være mindst 1',
      'data.udgifter[1]': 'skal være en af de tilladte værdier: "tand", "fod"',
    });
    assert.deepEqual(msgs(1), {
      'data.fornavn': 'må højst være på 40 tegn',
      'data.cpr': 'skal være et gyldigt CPR-nummer (10 cifre, DDMMÅÅXXXX)',
      'data.antal': 'skal være et helt tal',
      'data.udgifter': 'må højst have 3 elementer',
    });
  });

  it('validates another msg property chosen in the node', async () => {
    const out = await load({ property: 'submission', schema: JSON.stringify({ type: 'object', required: ['id'] }) });
    await send({ payload: 'ignored', submission: { id: 1 } });
    await send({ payload: { id: 1 }, submission: {} });
    assert.equal(out.valid.length, 1);
    assert.equal(out.invalid[0].validationErrors[0].path, 'id');
  });

  it('reads the schema from a file at deploy', async () => {
    const file = path.join(tmp, 'schema.json');
    fs.writeFileSync(file, JSON.stringify(SCHEMA));
    const out = await load({ schemaSource: 'file', schemaFile: file, schema: '' });
    await send({ payload: GOOD });
    await send({ payload: BAD });
    assert.equal(out.valid.length, 1);
    assert.equal(out.invalid.length, 1);
  });

  it('compiles a repeated msg.schema once (cached by the hash of its JSON)', async () => {
    const out = await load({ schemaSource: 'msg', schema: '' });
    const before = compileCount();
    for (let i = 0; i < 5; i++) {
      // a fresh but identical object each time, as it would arrive from upstream
      await send({ payload: i % 2 ? BAD : GOOD, schema: JSON.parse(JSON.stringify(SCHEMA)) });
    }
    assert.equal(compileCount() - before, 1);
    await send({ payload: GOOD, schema: { type: 'string' } });
    assert.equal(compileCount() - before, 2);
    assert.equal(out.valid.length, 3);
    assert.equal(out.invalid.length, 3);
  });

  it('a missing or broken msg.schema ends in done(err), caught by a Catch node', async () => {
    const caught: any[] = [];
    await load({ schemaSource: 'msg', schema: '' }, [
      { id: 'c1', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['cx']] },
      { id: 'cx', z: 'tab', type: 'helper' },
    ]);
    helper.getNode('cx').on('input', (m: any) => caught.push(m));
    const e1 = await send({ payload: GOOD });
    assert.match(String(e1?.message), /msg\.schema is missing/);
    const e2 = await send({ payload: GOOD, schema: { type: 'object', propertis: {} } });
    assert.match(String(e2?.message), /JSON Schema is invalid: strict mode: unknown keyword: "propertis"/);
    await waitFor(() => caught.length === 2);
    assert.match(caught[1].error.message, /unknown keyword/);
    assert.equal(caught[1].error.source.id, 'v1');
  });

  it('a broken schema in the node is shown at deploy (error + red status) and every message ends in done(err)', async () => {
    const errors: string[] = [];
    const statuses: any[] = [];
    const caught: any[] = [];
    await helper.load(
      validateNode as never,
      flow({ schema: '{"type": "object", ' }, [
        { id: 'c1', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['cx']] },
        { id: 'cx', z: 'tab', type: 'helper' },
      ]) as never,
    );
    const n = helper.getNode('v1') as any;
    // the error and status were emitted in the constructor; the helper's spies record them
    for (const c of n.error.getCalls?.() ?? []) errors.push(String(c.args[0]));
    for (const c of n.status.getCalls?.() ?? []) statuses.push(c.args[0]);
    assert.ok(
      errors.some((e) => /JSON Schema is not valid JSON/.test(e)),
      errors.join(),
    );
    assert.equal(statuses.at(-1)?.fill, 'red');
    helper.getNode('cx').on('input', (m: any) => caught.push(m));
    const err = await send({ payload: GOOD });
    assert.match(String(err?.message), /not valid JSON/);
    await waitFor(() => caught.length === 1);
  });

  it('a missing schema file is a deploy error', async () => {
    await load({ schemaSource: 'file', schemaFile: path.join(tmp, 'nope.json') });
    const err = await send({ payload: GOOD });
    assert.match(String(err?.message), /nope\.json cannot be read: ENOENT/);
  });

  it('validates XML against an XSD file (SP241) and reports XSD errors with line and element path', async () => {
    const out = await load({ schemaSource: 'none', xsdFile: SP241_XSD, xmlProperty: 'payload' });
    await send({ payload: SP241_XML });
    await send({ payload: Buffer.from(SP241_XML, 'utf8') });
    await send({ payload: SP241_XML.replace('<Erklaering>Accepteret</Erklaering>', '<Erklaering>Nej</Erklaering>') });
    await send({ payload: { not: 'xml' } });
    assert.equal(out.valid.length, 2);
    assert.equal(out.invalid.length, 2);
    const e = out.invalid[0].validationErrors[0];
    assert.equal(e.keyword, 'xsd');
    assert.equal(e.path, '/SP241/Erklaering');
    assert.match(e.message, /^line \d+: .*Erklaering/);
    assert.equal(out.invalid[1].validationErrors[0].keyword, 'type');
  });

  it('checks JSON and XML in one node (XML in another property), Danish line prefix', async () => {
    const out = await load({ language: 'da', xsdFile: SP241_XSD, xmlProperty: 'xml' });
    await send({ payload: GOOD, xml: SP241_XML });
    await send({ payload: BAD, xml: '<SP241/>' });
    assert.equal(out.valid.length, 1);
    const errs = out.invalid[0].validationErrors as any[];
    assert.ok(errs.some((e) => e.keyword === 'required' && e.path === 'data.cpr'));
    assert.ok(errs.some((e) => e.keyword === 'xsd' && /^linje 1: /.test(e.message)));
  });

  it('validates against an XSD with xs:import and xs:include (relative paths)', async () => {
    const out = await load({ schemaSource: 'none', xsdFile: path.join(contract, 'contract', 'DistributionServiceMsg.xsd') });
    const ns = 'http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/types';
    await send({ payload: `<x:FordelingsobjektAfsendResponse xmlns:x="${ns}"/>` });
    await send({ payload: `<x:Unknown xmlns:x="${ns}"/>` });
    assert.equal(out.invalid.length, 2);
    // the first fails on missing content declared in an included/imported schema, the second as an unknown element
    assert.ok(!out.invalid[0].validationErrors.some((e: any) => /No matching global/.test(e.message)));
    assert.ok(out.invalid[1].validationErrors.some((e: any) => /No matching global/.test(e.message)));
  });

  it('refuses XML with a DOCTYPE / external entity on output 2', async () => {
    const out = await load({ schemaSource: 'none', xsdFile: SP241_XSD });
    await send({ payload: '<!DOCTYPE SP241 [<!ENTITY x SYSTEM "file:///etc/passwd">]><SP241>&x;</SP241>' });
    assert.match(out.invalid[0].validationErrors[0].message, /DOCTYPE/);
  });

  it('an unusable XSD file is a deploy error and messages end in done(err)', async () => {
    const bad = path.join(tmp, 'bad.xsd');
    fs.writeFileSync(bad, '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:nosuch"/></xs:schema>');
    await load({ schemaSource: 'none', xsdFile: bad });
    const err = await send({ payload: '<a/>' });
    assert.match(String(err?.message), /cannot be compiled/);
  });

  it('refuses hostile input quickly on output 2 with keyword "limit"', async () => {
    const out = await load({ schema: JSON.stringify({ type: 'array', uniqueItems: true, items: { type: 'object' } }) });
    const huge = Array.from({ length: 200_000 }, (_, i) => ({ i }));
    let t = Date.now();
    await send({ payload: huge });
    assert.ok(Date.now() - t < 1000);
    let deep: any = {};
    const root = deep;
    for (let i = 0; i < 10_000; i++) deep = deep.a = {};
    const circular: any = [{}];
    circular[0].self = circular;
    t = Date.now();
    await send({ payload: [root] });
    await send({ payload: ['x'.repeat(5_000_000)] });
    await send({ payload: circular });
    assert.ok(Date.now() - t < 1000);
    assert.equal(out.invalid.length, 4);
    const [arr, nest, str, circ] = out.invalid.map((m) => m.validationErrors[0]);
    assert.deepEqual([arr.keyword, nest.keyword, str.keyword, circ.keyword], ['limit', 'limit', 'limit', 'limit']);
    assert.match(arr.message, /more than 1000 items/);
    assert.match(nest.message, /nested more than 32 levels/);
    assert.equal(str.path, '[0]');
    assert.match(str.message, /longer than 1000000 characters/);
    // within the limits, a quadratic keyword still finishes fast
    const ok = Array.from({ length: 1000 }, (_, i) => ({ i }));
    t = Date.now();
    await send({ payload: ok });
    assert.ok(Date.now() - t < 1000);
    assert.equal(out.valid.length, 1);
  });

  it('refuses XML above the size limit and honours os2ValidateLimits from settings', async () => {
    (helper as any).settings({ os2ValidateLimits: { maxXmlBytes: 1000, maxArrayItems: 2 } });
    try {
      const out = await load({ xsdFile: SP241_XSD, xmlProperty: 'xml', schema: '{"type":"array"}' });
      await send({ payload: [1, 2, 3], xml: SP241_XML });
      const errs = out.invalid[0].validationErrors as any[];
      assert.deepEqual(
        errs.map((e) => e.keyword),
        ['limit', 'limit'],
      );
      assert.match(errs[1].message, /larger than 1000 bytes/);
    } finally {
      (helper as any).settings({});
    }
  });

  it('survives a redeploy: the new configuration applies and close() completes', async () => {
    const out = await load({ schema: JSON.stringify({ type: 'string' }) });
    await send({ payload: 'x' });
    assert.equal(out.valid.length, 1);
    await (helper as any).setFlows(flow({ schema: JSON.stringify({ type: 'number' }) }), 'full');
    const out2: Outputs = { valid: [], invalid: [] };
    helper.getNode('ok').on('input', (m: any) => out2.valid.push(m));
    helper.getNode('bad').on('input', (m: any) => out2.invalid.push(m));
    await send({ payload: 'x' });
    assert.equal(out2.invalid.length, 1);
    assert.equal(out2.invalid[0].validationErrors[0].message, 'must be a number');
  });

  it('checks a schema from the editor through the admin endpoint (same strict compile as at deploy)', async () => {
    await load({});
    const ok = await helper
      .request()
      .post('/os2-validate/check-schema')
      .send({ schema: JSON.stringify(SCHEMA) })
      .expect(200);
    assert.deepEqual(ok.body, { valid: true, warnings: [] });
    const strict = await helper.request().post('/os2-validate/check-schema').send({ schema: '{"type":"string","format":"postnummer"}' }).expect(200);
    assert.equal(strict.body.valid, false);
    assert.match(strict.body.error, /unknown format "postnummer"/);
    const notJson = await helper.request().post('/os2-validate/check-schema').send({ schema: '{"type":' }).expect(200);
    assert.match(notJson.body.error, /not valid JSON/);
  });

  it('shows the running counts in the status: green while all valid, yellow once one was invalid', async () => {
    await load({});
    const n = helper.getNode('v1') as any;
    const statuses: any[] = [];
    n.on('call:status', (c: { args: any[] }) => statuses.push(c.args[0]));
    await send({ payload: GOOD });
    await send({ payload: BAD });
    await waitFor(() => statuses.length >= 2);
    assert.equal(statuses[0].fill, 'green');
    assert.equal(statuses[1].fill, 'yellow');
  });

  it('refuses a hostile msg.schema before hashing or compiling it', async () => {
    await load({ schemaSource: 'msg', schema: '' });
    const before = compileCount();
    const wide = { type: 'object', properties: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`p${i}`, { type: 'string' }])) };
    const err = await send({ payload: {}, schema: wide });
    assert.match(String(err?.message), /msg\.schema at properties has more than 1000 fields/);
    assert.equal(compileCount(), before);
  });
});
