import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadXsd, clearXsdCache, MAX_XSD_INSTANCE_BYTES } from '../../../lib/xml/xsd';

const contract = process.env.SF2900_CONTRACT_DIR as string;
const sp241Xsd = path.join(contract, 'forms', 'SP241.xsd');
const sp241Xml = () => fs.readFileSync(path.join(contract, 'forms', 'SP241.xml'), 'utf8');

describe('lib/xml/xsd', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xsd-test-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('accepts the official SP241 example against SP241.xsd', async () => {
    const xsd = await loadXsd(sp241Xsd);
    const r = xsd.validate(sp241Xml());
    assert.deepEqual(r, { valid: true, errors: [] });
  });

  it('reports a broken SP241 instance as invalid with a message and a line', async () => {
    const xsd = await loadXsd(sp241Xsd);
    const broken = sp241Xml().replace(/<Erklaering>[^<]*<\/Erklaering>/, '<Erklaering>Maaske</Erklaering>');
    const r = xsd.validate(broken);
    assert.equal(r.valid, false);
    assert.ok(r.errors.length >= 1);
    assert.match(r.errors[0].message, /Erklaering/);
    assert.equal(typeof r.errors[0].line, 'number');
    assert.equal(r.errors[0].path, '/SP241/Erklaering');
    const missing = xsd.validate('<SP241><Header/></SP241>');
    assert.equal(missing.valid, false);
    assert.ok(missing.errors.some((e) => /Myndighed/.test(e.message)));
  });

  it('reports malformed XML as invalid, not as a thrown error', async () => {
    const xsd = await loadXsd(sp241Xsd);
    const r = xsd.validate('<SP241><Header></SP241>');
    assert.equal(r.valid, false);
    assert.match(r.errors[0].message, /not well-formed/);
  });

  it('returns the same promise for the same path (cached), and reloads a changed file', async () => {
    const p1 = loadXsd(sp241Xsd);
    const p2 = loadXsd(path.relative(process.cwd(), sp241Xsd));
    assert.equal(p1, p2);
    const f = path.join(tmp, 'changing.xsd');
    fs.writeFileSync(f, '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:string"/></xs:schema>');
    const a = await loadXsd(f);
    assert.equal(a.validate('<a>x</a>').valid, true);
    fs.writeFileSync(f, '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="b" type="xs:int"/></xs:schema>');
    fs.utimesSync(f, new Date(), new Date(Date.now() + 5000));
    const b = await loadXsd(f);
    assert.notEqual(a, b);
    assert.equal(b.validate('<a>x</a>').valid, false);
    assert.equal(b.validate('<b>7</b>').valid, true);
  });

  it('compiles the SF2900 message schema with its xs:import and xs:include (relative paths)', async () => {
    const xsd = await loadXsd(path.join(contract, 'contract', 'DistributionServiceMsg.xsd'));
    const r = xsd.validate('<x:FordelingsobjektAfsendResponse xmlns:x="http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/types"/>');
    assert.equal(r.valid, false); // required children missing — but the element is known from the imported/included types
    assert.ok(!r.errors.some((e) => /No matching global declaration/.test(e.message)), JSON.stringify(r.errors));
  });

  it('refuses relative includes escaping the schema directory tree and non-file locations; allows absolute ones', async () => {
    const inner = path.join(tmp, 'inner');
    fs.mkdirSync(inner, { recursive: true });
    fs.writeFileSync(
      path.join(tmp, 'outside.xsd'),
      '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="o" type="xs:string"/></xs:schema>',
    );
    fs.writeFileSync(
      path.join(inner, 'escape.xsd'),
      '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:include schemaLocation="../outside.xsd"/></xs:schema>',
    );
    fs.writeFileSync(
      path.join(inner, 'net.xsd'),
      '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:include schemaLocation="http://example.invalid/x.xsd"/></xs:schema>',
    );
    await assert.rejects(loadXsd(path.join(inner, 'escape.xsd')), /outside the schema directory/);
    await assert.rejects(loadXsd(path.join(inner, 'net.xsd')), /cannot be compiled/);
    // an absolute schemaLocation may point outside the tree (written by whoever configured the schema)
    fs.writeFileSync(
      path.join(inner, 'abs.xsd'),
      `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:include schemaLocation="${path.join(tmp, 'outside.xsd')}"/></xs:schema>`,
    );
    assert.equal((await loadXsd(path.join(inner, 'abs.xsd'))).validate('<o>x</o>').valid, true);
    // ... but that permission does not leak into a later compile of a relative escape
    await assert.rejects(loadXsd(path.join(inner, 'escape.xsd')), /outside the schema directory/);
    // the same schema is accepted when the included file lies within its tree
    fs.writeFileSync(path.join(tmp, 'ok.xsd'), '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:include schemaLocation="outside.xsd"/></xs:schema>');
    assert.equal((await loadXsd(path.join(tmp, 'ok.xsd'))).validate('<o>x</o>').valid, true);
  });

  it('rejects a missing file, a malformed schema and a schema with a DOCTYPE, and does not cache failures', async () => {
    await assert.rejects(loadXsd(path.join(tmp, 'nope.xsd')), /not found/);
    const bad = path.join(tmp, 'bad.xsd');
    fs.writeFileSync(bad, '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:nosuch"/></xs:schema>');
    await assert.rejects(loadXsd(bad), /cannot be compiled/);
    fs.writeFileSync(bad, '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:string"/></xs:schema>');
    fs.utimesSync(bad, new Date(), new Date(Date.now() + 10000));
    assert.equal((await loadXsd(bad)).validate('<a/>').valid, true);
    const dtd = path.join(tmp, 'dtd.xsd');
    fs.writeFileSync(dtd, '<!DOCTYPE xs:schema [<!ENTITY e "x">]><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>');
    await assert.rejects(loadXsd(dtd), /DOCTYPE/);
  });

  it('refuses an instance with a DOCTYPE or external entity, and oversized input', async () => {
    const xsd = await loadXsd(sp241Xsd);
    const xxe = '<?xml version="1.0"?><!DOCTYPE SP241 [<!ENTITY x SYSTEM "file:///etc/passwd">]><SP241>&x;</SP241>';
    const r = xsd.validate(xxe);
    assert.equal(r.valid, false);
    assert.match(r.errors[0].message, /DOCTYPE/);
    assert.doesNotMatch(JSON.stringify(r), /root:/);
    const big = '<SP241>' + 'a'.repeat(MAX_XSD_INSTANCE_BYTES) + '</SP241>';
    const b = xsd.validate(big);
    assert.equal(b.valid, false);
    assert.match(b.errors[0].message, /larger than/);
  });

  it('frees the parsed instance documents (no wasm allocation kept per call)', async () => {
    const lib = await import('libxml2-wasm');
    clearXsdCache();
    lib.diag.configure({ enabled: true });
    try {
      const xsd = await loadXsd(sp241Xsd);
      const before = JSON.stringify(lib.diag.report());
      for (let i = 0; i < 50; i++) {
        xsd.validate(sp241Xml());
        xsd.validate('<SP241/>');
        xsd.validate('<SP241');
      }
      assert.equal(JSON.stringify(lib.diag.report()), before);
    } finally {
      lib.diag.configure({ enabled: false });
    }
  });
});
