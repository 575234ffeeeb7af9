// os2-map: submission → FordelingsObject (FORMULAR/JOURNALPOST/DOKUMENT), form XML checked against the KP form schemas.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import mapNode from '../../nodes/map/map';
import type { FordelingsObject } from '../../lib/sf2900/model';
import { loadXsd } from '../../lib/xml/xsd';
import { parseXmlSafely } from '../../lib/xml/safe-xml';
import { loadSubmission, readTemplate, SP241_TABLE } from '../fixtures/submissions';

const FORMS = path.join(process.env.SF2900_CONTRACT_DIR!, 'forms');
const KP_CVR = '14814833';

async function assertValid(form: string, xml: string) {
  const schema = await loadXsd(path.join(FORMS, `${form}.xsd`));
  const r = schema.validate(xml);
  assert.ok(r.valid, `${form} XML is not valid: ${JSON.stringify(r.errors)}\n${xml}`);
}

type Def = Record<string, unknown>;
type Emitter = { on(event: string, cb: (...args: never[]) => void): void };
const flowOf = (nodes: unknown[]) => nodes as Parameters<typeof helper.load>[1];

function formular(extra: Def = {}): Def {
  return {
    id: 'm1',
    type: 'os2-map',
    name: '',
    objektType: 'FORMULAR',
    routingMode: 'kle',
    routingCvr: 'DK 1481 4833',
    routingCvrType: 'str',
    kle: '320312',
    kleType: 'str',
    handlingFacet: 'g01',
    handlingFacetType: 'str',
    formType: 'HelbredstillægAnsøgningFormular_1',
    formTypeType: 'str',
    fileSpecification: 'HelbredstillægAnsøgningBilag_1',
    fileSpecificationType: 'str',
    pdf: 'attachment_pdf',
    pdfType: 'element',
    files: [
      { element: 'dokumenter_overslag', role: 'Overslag' },
      { element: 'dokumenter_faktura', role: 'Faktura' },
      { element: '*', role: 'Bilag' },
    ],
    xmlMode: 'template',
    xmlTemplate: readTemplate('sp241.template.xml'),
    wires: [['out']],
    ...extra,
  };
}

interface Outcome {
  msg?: Record<string, unknown> & { payload: FordelingsObject };
  error?: string;
}

/** Loads the node, sends one message, resolves with the output message or the error given to done(err). */
async function run(def: Def, msg: Record<string, unknown>, before?: () => void): Promise<Outcome> {
  await helper.load(mapNode, flowOf([def, { id: 'out', type: 'helper' }]));
  before?.();
  const n = helper.getNode(String(def.id)) as unknown as Emitter & { receive(m: unknown): void };
  const out = helper.getNode('out') as unknown as Emitter;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ error: 'timeout: neither output nor error' }), 4000);
    out.on('input', (m: Outcome['msg']) => {
      clearTimeout(timer);
      resolve({ msg: m });
    });
    n.on('call:error', (call: { args: unknown[] }) => {
      const e = call.args[0];
      if (call.args.length > 1) {
        clearTimeout(timer);
        resolve({ error: e instanceof Error ? e.message : String(e) });
      }
    });
    n.receive(msg);
  });
}

function dokumentnamen(xml: string): string[] {
  const doc = parseXmlSafely(xml);
  return Array.from(doc.getElementsByTagName('Dokumentnavn')).map((e) => e.textContent ?? '');
}

describe('os2-map node', () => {
  afterEach(() => helper.unload());

  it('SP241 submission → FORMULAR whose form XML validates against SP241.xsd', async () => {
    const sub = loadSubmission('sp241');
    const { msg, error } = await run(formular(), { payload: sub, topic: 't' });
    assert.equal(error, undefined);
    const o = msg!.payload;
    assert.equal(o.objektType, 'FORMULAR');
    assert.equal(o.submissionId, '3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c');
    assert.equal(o.webformId, 'sp241_helbredstillaeg');
    assert.deepEqual(o.context.routing, { receivingAuthorityCvr: KP_CVR, kle: '32.03.12', handlingFacet: 'G01' });
    assert.equal(o.kleProposal, '32.03.12');
    assert.equal(o.handlingFacetProposal, 'G01');
    assert.equal(o.fileSpecification, 'HelbredstillægAnsøgningBilag_1');
    assert.match(o.registeredAt!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    const f = o.formular!;
    assert.equal(f.formType, 'HelbredstillægAnsøgningFormular_1');
    assert.equal(f.title, 'ansøgning helbredstillæg.pdf');
    assert.equal(f.formatName, 'pdf');
    assert.ok(Buffer.from(f.pdfBase64, 'base64').subarray(0, 5).equals(Buffer.from('%PDF-')));
    assert.ok(!f.formXml.startsWith('<?xml'), 'no XML declaration in FormularXML');
    await assertValid('SP241', f.formXml);
    // the files that go along, with roles, and the same SFTP names in the object and the XML
    assert.deepEqual(
      o.files.map((x) => [x.element, x.role, x.name]),
      [
        ['dokumenter_overslag', 'Overslag', 'overslag briller.pdf'],
        ['dokumenter_faktura', 'Faktura', 'faktura.pdf'],
        ['dokumenter_bilag', 'Bilag', 'kvittering å.jpg'],
      ],
    );
    assert.ok(Buffer.isBuffer(o.files[0].content));
    assert.equal(o.files[1].url, 'https://selvbetjening.example.dk/system/files/webform/faktura.pdf');
    assert.deepEqual(
      dokumentnamen(f.formXml),
      o.files.map((x) => x.sftpName),
    );
    assert.equal(o.files[2].sftpName, 'os2forms_3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c_2_kvittering_aa.jpg');
    // contract forms without user effort, and escaping of <&"' with Danish letters intact
    assert.match(f.formXml, /<Myndighed>urn:oio:cvr-nr:14814833<\/Myndighed>/);
    assert.match(f.formXml, /<Personnummer>urn:oio:cpr:0102031234<\/Personnummer>/);
    assert.match(f.formXml, /<Efternavn>Østergård &amp; Søn &lt;Hansen&gt;<\/Efternavn>/);
    assert.match(f.formXml, /<Underskrift>Ida &quot;Æblerød&quot; O&apos;Østergård<\/Underskrift>/);
    assert.match(f.formXml, /<ModtagetDato>2026-11-22<\/ModtagetDato>/, 'submitted 23:15 UTC = 22 Nov in Denmark');
    assert.match(f.formXml, /<Telefonnummer>4512345678<\/Telefonnummer>/);
    assert.equal(msg!.topic, 't', 'the message is passed on, payload replaced');
  });

  it('Anmodning submission → FORMULAR valid against Anmodning.xsd (choice by condition, remark escaped)', async () => {
    const def = formular({
      pdf: 'pdf',
      formType: 'AnmodningOmRefusion_1',
      files: [{ element: 'faktura', role: 'Faktura' }],
      xmlTemplate: readTemplate('anmodning.template.xml'),
    });
    const { msg, error } = await run(def, { payload: loadSubmission('anmodning') });
    assert.equal(error, undefined);
    const xml = msg!.payload.formular!.formXml;
    await assertValid('Anmodning', xml);
    assert.match(xml, /<AlmindeligtHelbredstillaeg>Tandbehandling<\/AlmindeligtHelbredstillaeg>/);
    assert.match(xml, /<Bemaerkning>Regning fra tandlæge &lt;Ølby&gt; &amp; co\.<\/Bemaerkning>/);
    assert.match(xml, /<Underskriftsdato>2026-07-01<\/Underskriftsdato>/);
  });

  it('SP246 submission → FORMULAR valid against SP246.xsd (Danish decimals, nested scopes)', async () => {
    const def = formular({ pdf: 'overslag_pdf', formType: 'SpecificeretOverslag_1', files: [], xmlTemplate: readTemplate('sp246.template.xml') });
    const { msg, error } = await run(def, { payload: loadSubmission('sp246') });
    assert.equal(error, undefined);
    const xml = msg!.payload.formular!.formXml;
    await assertValid('SP246', xml);
    assert.match(xml, /<Pris>1234\.50<\/Pris>/);
    assert.match(xml, /<Navn>Stel &quot;Nørd&quot;<\/Navn>/);
    assert.deepEqual(msg!.payload.files, []);
  });

  it('SP241 from a mapping table (XML path ← expression) is valid too', async () => {
    const def = formular({
      xmlMode: 'table',
      xmlTemplate: '',
      xmlTable: SP241_TABLE,
    });
    const { msg, error } = await run(def, { payload: loadSubmission('sp241') });
    assert.equal(error, undefined);
    const xml = msg!.payload.formular!.formXml;
    await assertValid('SP241', xml);
    assert.deepEqual(
      dokumentnamen(xml),
      msg!.payload.files.map((x) => x.sftpName),
    );
    assert.equal(dokumentnamen(xml).length, 3);
    assert.match(xml, /Østergård &amp; Søn &lt;Hansen&gt;/);
  });

  it("JOURNALPOST note: routing to an IT-system, plain text kept (escaping is the serialiser's job)", async () => {
    const def = {
      id: 'j1',
      type: 'os2-map',
      objektType: 'JOURNALPOST',
      routingMode: 'system',
      routingCvr: '29189919',
      routingCvrType: 'str',
      receivingSystemUuid: 'A1B2C3D4-E5F6-4789-ABCD-EF0123456789',
      receivingSystemUuidType: 'str',
      kle: '32.03.12',
      kleType: 'str',
      noteTitle: 'Henvendelse fra {{data.navn}}: {{data.emne}}',
      noteTitleType: 'template',
      noteText: 'payload.data.besked',
      noteTextType: 'msg',
      title: 'Henvendelse',
      titleType: 'str',
      files: [],
      wires: [['out']],
    };
    const { msg, error } = await run(def, { payload: loadSubmission('journalpost') });
    assert.equal(error, undefined);
    const o = msg!.payload;
    assert.equal(o.objektType, 'JOURNALPOST');
    assert.deepEqual(o.context.routing, { receivingAuthorityCvr: '29189919', receivingSystemUuid: 'a1b2c3d4-e5f6-4789-abcd-ef0123456789' });
    assert.equal(o.kleProposal, '32.03.12');
    assert.deepEqual(o.journalpost, {
      noteText: 'Hej <kommune> & co. — "tak" \'på forhånd\'',
      noteTitle: 'Henvendelse fra Kaj Æbelø: Spørgsmål om tillæg',
      documentTitle: 'Henvendelse',
    });
    assert.equal(o.formular, undefined);
  });

  it('DOKUMENT with two files: the document file first, ITK defaults for the attributes', async () => {
    const def = {
      id: 'd1',
      type: 'os2-map',
      objektType: 'DOKUMENT',
      routingMode: 'kle',
      routingCvr: '29189919',
      routingCvrType: 'str',
      kle: '27.24.00',
      kleType: 'str',
      title: '{{data.titel}}',
      titleType: 'template',
      description: 'payload.data.beskrivelse',
      descriptionType: 'msg',
      direction: 'indgående',
      directionType: 'str',
      pdf: 'dokument',
      pdfType: 'element',
      fileSpecification: 'Laegeerklaering_1',
      fileSpecificationType: 'str',
      files: [{ element: 'bilag', role: 'Bilag' }],
      wires: [['out']],
    };
    const { msg, error } = await run(def, { payload: loadSubmission('dokument') });
    assert.equal(error, undefined);
    const o = msg!.payload;
    const d = o.dokument!;
    assert.equal(o.files.length, 2);
    assert.equal(d.file, o.files[0], 'the document file is the first of the files');
    assert.equal(o.files[0].name, 'lægeerklæring.pdf');
    assert.equal(o.files[1].name, 'bilag 1.pdf');
    assert.equal(d.file.sftpName, o.files[0].sftpName);
    assert.equal(d.file.sftpName, 'os2forms_11111111-2222-4333-8444-555555555555_0_laegeerklaering.pdf');
    assert.equal(o.files[1].sftpName, 'os2forms_11111111-2222-4333-8444-555555555555_1_bilag_1.pdf');
    assert.equal(d.title, 'Lægeerklæring');
    assert.equal(d.description, 'Erklæring fra egen læge');
    assert.equal(d.userKey, '11111111-2222-4333-8444-555555555555');
    assert.equal(d.documentType, 'Anden');
    assert.equal(d.direction, 'Indgaaende');
    assert.match(d.letterDate, /^\d{4}-\d\d-\d\d$/);
    assert.equal(d.progress, 'Endeligt');
    assert.equal(d.variantType, 'PDF');
    assert.equal(d.partText, 'Hele dokumentet');
  });

  it('every field source type: str, msg, flow, global, env, template, jsonata', async () => {
    process.env.OS2_MAP_TEST_FACET = 'g02';
    process.env.OS2_MAP_TEST_SENDER = 'DK 11 22 33 44';
    try {
      const def = {
        id: 's1',
        type: 'os2-map',
        z: 'tab1',
        objektType: 'JOURNALPOST',
        routingMode: 'kle',
        routingCvr: 'routingCvr',
        routingCvrType: 'global',
        kle: 'kle',
        kleType: 'flow',
        handlingFacet: 'OS2_MAP_TEST_FACET',
        handlingFacetType: 'env',
        senderCvr: 'OS2_MAP_TEST_SENDER',
        senderCvrType: 'env',
        senderSystemUuid: 'system.uuid',
        senderSystemUuidType: 'msg',
        noteTitle: 'Fra {{data.navn}} ({{msg.topic}})',
        noteTitleType: 'template',
        noteText: '$uppercase(payload.data.emne) & " / " & $string($count(payload.files))',
        noteTextType: 'jsonata',
        title: 'Fast titel',
        titleType: 'str',
        files: [],
        wires: [['out']],
      };
      const flow = [
        { id: 'tab1', type: 'tab' },
        { ...def, z: 'tab1' },
        { id: 'out', type: 'helper', z: 'tab1' },
      ];
      await helper.load(mapNode, flowOf(flow));
      const n = helper.getNode('s1');
      n.context().flow.set('kle', '32 03 12');
      n.context().global.set('routingCvr', 'DK29189919');
      const got = new Promise<FordelingsObject>((resolve, reject) => {
        (helper.getNode('out') as unknown as Emitter).on('input', (m: { payload: FordelingsObject }) => resolve(m.payload));
        (n as unknown as Emitter).on('call:error', (c: { args: unknown[] }) => reject(c.args[0]));
      });
      n.receive({ payload: loadSubmission('journalpost'), topic: 'emne-1', system: { uuid: 'FFFFFFFF-0000-4000-8000-000000000000' } });
      const o = await got;
      assert.deepEqual(o.context, {
        routing: { receivingAuthorityCvr: '29189919', kle: '32.03.12', handlingFacet: 'G02' },
        senderAuthorityCvr: '11223344',
        senderSystemUuid: 'ffffffff-0000-4000-8000-000000000000',
      });
      assert.equal(o.journalpost!.noteTitle, 'Fra Kaj Æbelø (emne-1)');
      assert.equal(o.journalpost!.noteText, 'SPØRGSMÅL OM TILLÆG / 0');
      assert.equal(o.journalpost!.documentTitle, 'Fast titel');
    } finally {
      delete process.env.OS2_MAP_TEST_FACET;
      delete process.env.OS2_MAP_TEST_SENDER;
    }
  });

  it('invalid settings are shown at deploy (red status, node.error) and every message fails with them', async () => {
    const cases: [Def, RegExp][] = [
      [formular({ routingCvr: '1234' }), /routingCvr: CVR number must be 8 digits/],
      [formular({ kle: '32.03' }), /kle: KLE must look like dd\.dd\.dd/],
      [formular({ routingCvr: '', kle: '' }), /no receiving authority.*routing by KLE needs a KLE/],
      [formular({ routingMode: 'system', receivingSystemUuid: '' }), /routing to an IT-system needs its UUID/],
      [
        formular({ routingMode: 'system', receivingSystemUuid: 'a1b2c3d4-e5f6-4789-abcd-ef0123456789', kle: '' }),
        /kle: a KLE subject .* is needed for KLEEmneForslag/,
      ],
      [formular({ xmlTemplate: '<SP241><Header></SP241>' }), /xmlTemplate: .*not well-formed/],
      [formular({ xmlTemplate: '<SP241>{{#each files}}</SP241>' }), /xmlTemplate: .*never closed/],
      [formular({ noteText: '$$$(', noteTextType: 'jsonata', objektType: 'JOURNALPOST' }), /noteText: JSONata expression is invalid/],
    ];
    for (const [def, re] of cases) {
      await helper.load(mapNode, flowOf([def, { id: 'out', type: 'helper' }]));
      const n = helper.getNode('m1');
      const errors = (n.error as unknown as { args: unknown[][] }).args ?? [];
      const statuses = (n.status as unknown as { args: { fill?: string }[][] }).args ?? [];
      assert.ok(
        errors.some((a) => re.test(String(a[0]))),
        `${re} not in ${JSON.stringify(errors)}`,
      );
      assert.ok(
        statuses.some((a) => a[0].fill === 'red'),
        'red status',
      );
      await helper.unload();
      const { error } = await run(def, { payload: loadSubmission('sp241') });
      assert.match(error ?? '', re);
      await helper.unload();
    }
  });

  it('a message that cannot be mapped ends in done(err) naming the field', async () => {
    const cases: [Def, Record<string, unknown>, RegExp][] = [
      [formular({ kle: 'kle', kleType: 'msg' }), { payload: loadSubmission('sp241') }, /^kle: has no value/],
      [formular({ kle: 'kle', kleType: 'msg' }), { payload: loadSubmission('sp241'), kle: '3203' }, /^kle: KLE must look like/],
      [formular(), { payload: 'not a submission' }, /^payload: /],
      [
        formular(),
        { payload: { ...loadSubmission('sp241'), data: { ...loadSubmission('sp241').data, ansoeger_cpr: '12' } } },
        /^xmlTemplate: template line \d+: \{\{cprUrn data\.ansoeger_cpr\}\}: CPR number must be 10 digits/,
      ],
      [
        formular(),
        { payload: { ...loadSubmission('sp241'), data: { ansoeger_fornavn: 'Ida' } } },
        /^xmlTemplate: template line 18: \{\{data\.ansoeger_efternavn\}\} has no value/,
      ],
      [formular({ pdf: 'dokumenter_bilag' }), { payload: loadSubmission('sp241') }, /^pdf: must be application\/pdf/],
      [formular({ pdf: 'dokumenter_faktura' }), { payload: loadSubmission('sp241') }, /^pdf: has no content/],
      [formular({ pdf: 'mangler' }), { payload: loadSubmission('sp241') }, /^pdf: the submission has no file in element "mangler"/],
      [
        formular({ xsdPath: path.join(FORMS, 'SP241.xsd'), xmlTemplate: '<SP241><Header/></SP241>' }),
        { payload: loadSubmission('sp241') },
        /^formXml: does not match the form schema/,
      ],
    ];
    for (const [def, m, re] of cases) {
      const { error, msg } = await run(def, m);
      assert.equal(msg, undefined);
      assert.match(error ?? '', re);
      assert.ok(!/0102031234|010203-1234/.test(error ?? ''), 'no CPR number in the error');
      await helper.unload();
    }
  });

  it('the PDF rendering can come from a msg property (a Buffer made earlier in the flow)', async () => {
    const pdf = Buffer.from('%PDF-1.7\nrendered by the flow\n%%EOF\n');
    const { msg, error } = await run(formular({ pdf: 'rendered', pdfType: 'msg' }), { payload: loadSubmission('sp241'), rendered: pdf });
    assert.equal(error, undefined);
    const f = msg!.payload.formular!;
    assert.equal(f.pdfBase64, pdf.toString('base64'));
    assert.equal(f.title, 'formular.pdf');
    assert.equal(f.formatName, 'pdf');
    // with the PDF element not consumed, '*' now takes it along as Bilag
    assert.ok(msg!.payload.files.some((x) => x.element === 'attachment_pdf' && x.role === 'Bilag'));
  });

  it('with an XSD path set, valid form XML passes', async () => {
    const { error, msg } = await run(formular({ xsdPath: path.join(FORMS, 'SP241.xsd') }), { payload: loadSubmission('sp241') });
    assert.equal(error, undefined);
    assert.ok(msg!.payload.formular!.formXml.startsWith('<SP241>'));
  });
});

describe('os2-map preview endpoint', () => {
  const sample = JSON.parse(JSON.stringify(loadSubmission('sp241'), (_k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('base64') : v)));
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
  });

  it('returns the object and the XML for a pasted sample; settings and mapping errors as errors on their fields', async () => {
    await helper.load(mapNode, []);
    const res = await helper.request().post('/os2-map/preview').send({ config: formular(), sample }).expect(200);
    assert.equal(res.body.object.objektType, 'FORMULAR');
    assert.match(res.body.object.formular.pdfBase64, /characters\)$/);
    assert.match(res.body.object.files[0].content, /^<\d+ bytes>$/);
    // every string of the preview has CPR numbers masked; with a number in that place the XML is valid SP241
    assert.match(res.body.xml, /<Personnummer>urn:oio:cpr:\*{6}-\*{4}<\/Personnummer>/);
    await assertValid('SP241', res.body.xml.replace('urn:oio:cpr:******-****', 'urn:oio:cpr:0000000000'));
    const bad = await helper
      .request()
      .post('/os2-map/preview')
      .send({ config: formular({ kle: 'x' }), sample })
      .expect(200);
    assert.equal(bad.body.object, undefined);
    assert.equal(bad.body.errors[0].field, 'kle');
    assert.match(bad.body.errors[0].message, /kle: KLE must look like/);
    const unmappable = await helper
      .request()
      .post('/os2-map/preview')
      .send({ config: formular(), sample: { nope: 1 } })
      .expect(200);
    assert.equal(unmappable.body.errors[0].field, 'sample');
    assert.match(unmappable.body.errors[0].message, /^payload:/);
  });

  it('refuses an unauthenticated call when admin auth is on', async () => {
    // The test helper stubs RED.auth; install Node-RED's real admin auth as the runtime does.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const auth = require('@node-red/editor-api/lib/auth');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tokens = require('@node-red/editor-api/lib/auth/tokens');
    const storage = { getSessions: async () => ({}), saveSessions: async () => undefined };
    const adminAuth = {
      type: 'credentials' as const,
      users: [{ username: 'admin', password: '$2b$08$wuAqPiKJlVN27eF5qJp.RuQYuy6ZYONW7a/UWYxDTtwKFCdB8F19y', permissions: '*' as const }],
    };
    const settings = helper.settings({ adminAuth });
    auth.init(settings, storage);
    try {
      const wrapped = (RED: NodeAPI) => {
        (RED as unknown as { auth: unknown }).auth = { needsPermission: auth.needsPermission };
        return mapNode(RED);
      };
      await helper.load(wrapped, []);
      await helper.request().post('/os2-map/preview').send({ config: formular(), sample }).expect(401);
      const readOnly = await tokens.create('admin', 'node-red-editor', ['read']);
      await helper.request().post('/os2-map/preview').set('Authorization', `Bearer ${readOnly.accessToken}`).send({ config: formular(), sample }).expect(401);
      const writer = await tokens.create('admin', 'node-red-editor', ['*']);
      const ok = await helper
        .request()
        .post('/os2-map/preview')
        .set('Authorization', `Bearer ${writer.accessToken}`)
        .send({ config: formular(), sample })
        .expect(200);
      assert.equal(ok.body.object.submissionId, '3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c');
    } finally {
      auth.init({}, storage);
    }
  });
});

describe('example "03 - Map an SP241 application"', () => {
  afterEach(() => helper.unload());
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const flow: Def[] = require('../../examples/03 - Map an SP241 application.json');
  const byType = (t: string) => flow.find((n) => n.type === t)!;

  it('has no credentials and wires webform in → validate → map → debug', () => {
    assert.ok(!JSON.stringify(flow).includes('"credentials"'));
    const ids = (n: Def) => (n.wires as string[][])[0];
    assert.deepEqual(ids(byType('os2-webform-in')), [byType('os2-validate').id]);
    assert.deepEqual(ids(byType('os2-validate')), [byType('os2-map').id]);
    assert.equal(flow.find((n) => n.id === ids(byType('os2-map'))[0])!.type, 'debug');
  });

  it('its sample passes the validate schema (ajv strict) and its map node yields SP241-valid XML', async () => {
    const inject = byType('inject');
    const sample = JSON.parse(String(inject.payload));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = require('ajv').default;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addFormats = require('ajv-formats').default;
    const ajv = new Ajv({ strict: true, allErrors: true });
    addFormats(ajv);
    const valid = ajv.compile(JSON.parse(String(byType('os2-validate').schema)));
    assert.ok(valid(sample), JSON.stringify(valid.errors));
    const { x: _x, y: _y, ...mapDef } = byType('os2-map'); // a node with x/y but no z is not started by the runtime
    const { msg, error } = await run({ ...mapDef, id: 'm1', wires: [['out']] }, { payload: sample });
    assert.equal(error, undefined);
    await assertValid('SP241', msg!.payload.formular!.formXml);
    assert.equal(msg!.payload.files.length, 2);
  });
});
