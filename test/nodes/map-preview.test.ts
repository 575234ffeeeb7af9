// The map dialog's "see before sending" API (issue 18): recent real submissions from webform in, the preview with the
// request fordeling out would send checked against the official contract, and the routing checks against the simulator.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import request from 'supertest';
import type { NodeAPI } from 'node-red';
import webformInNode from '../../nodes/webform-in/webform-in';
import mapNode from '../../nodes/map/map';
import certificateNode from '../../nodes/certificate/certificate';
import serviceplatformNode from '../../nodes/serviceplatform/serviceplatform';
import { DEFAULT_RECEIVERS, type Simulator } from '../../simulator';
import { STAND_IN_PDF } from '../../lib/webform/samples';
import { readTemplate } from '../fixtures/submissions';
import type { SimulatorCerts } from '../support/certs';
import { freshDefaultLedgerPerTest } from '../support/default-ledger';
import { serviceplatformNode as spNode, useSimulator } from '../support/platform';

let RED: NodeAPI;
const webformIn = (r: NodeAPI) => {
  RED = r;
  return webformInNode(r);
};
const SECRET = 'preview-secret';
const PDF = Buffer.from('%PDF-1.7\n% ansøgning\n%%EOF\n', 'utf8');
const UUID = '5c1e8a34-7f0b-4d7a-9a40-1d2b3c4d5e6f';
const CPR = '010203-1234';
const CONTRACT = path.join(process.env.SF2900_CONTRACT_DIR!, 'contract', 'DistributionServiceMsg.xsd');

/** The least a pasted sample needs for a FORMULAR. */
const tinySample = {
  webform: { id: 'w' },
  submission: { uuid: UUID },
  data: {},
  files: [{ element: 'attachment_pdf', name: 'a.pdf', content: PDF.toString('base64') }],
};

/** A Webform remote post of an SP241-like application with a PDF. */
function body(): Record<string, unknown> {
  return {
    sid: '4711',
    uuid: UUID.toUpperCase(),
    webform_id: 'helbredstillaeg_sp241',
    created: '1763798400',
    completed: '1763798460',
    in_draft: '0',
    langcode: 'da',
    ansoeger_fornavn: 'Åse',
    ansoeger_efternavn: 'Sørensen',
    ansoeger_cpr: CPR,
    underskrift: 'Åse Sørensen',
    attachment_pdf: '17',
    _attachment_pdf: { id: '17', name: 'ansøgning.pdf', uri: 'private://webform/x/17/ansøgning.pdf', mime: 'application/pdf', data: PDF.toString('base64') },
  };
}

/** The map node's settings as the dialog posts them: FORMULAR SP241 routed by KLE. */
function formular(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'm1',
    type: 'os2-map',
    objektType: 'FORMULAR',
    routingMode: 'kle',
    routingCvr: '14814833',
    kle: '32.03.12',
    handlingFacet: 'G01',
    formType: 'HelbredstillægAnsøgningFormular_1',
    pdf: 'attachment_pdf',
    pdfType: 'element',
    files: [],
    xmlMode: 'template',
    xmlTemplate: readTemplate('sp241.template.xml'),
    ...extra,
  };
}

function xmllint(xml: string): { ok: boolean; output: string } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'os2-map-preview-')), 'request.xml');
  fs.writeFileSync(file, xml);
  try {
    execFileSync('xmllint', ['--noout', '--schema', CONTRACT, file], { stdio: 'pipe' });
    return { ok: true, output: '' };
  } catch (err) {
    return { ok: false, output: String((err as { stderr?: Buffer }).stderr) };
  }
}

/** The shown request with the left-out file content put back (its size and digest checked against `content`). */
function unelided(requestXml: string, content: Buffer): string {
  const m = /<!-- os2: file contents left out of the preview: (\d+) bytes, sha256 ([0-9a-f]{64}) -->/.exec(requestXml);
  assert.ok(m, 'the file content is left out of the request shown');
  assert.equal(Number(m[1]), content.length);
  assert.equal(m[2], createHash('sha256').update(content).digest('hex'));
  return requestXml.replace(m[0], content.toString('base64'));
}

describe('map preview API (samples, contract, routing)', function () {
  this.timeout(20_000);
  let sim: Simulator;
  let certs: SimulatorCerts;
  useSimulator((p) => ({ sim, certs } = p));
  freshDefaultLedgerPerTest();
  afterEach(() => helper.unload());

  const flow = () => [
    { id: 'w1', type: 'os2-webform-in', mode: 'push', path: '/os2forms/sp241', auth: 'header', authHeader: 'X-Webform-Secret', wires: [['out'], []] },
    { id: 'out', type: 'helper' },
    { id: 'c1', type: 'os2-certificate' },
    spNode(sim, certs),
  ];
  const load = () =>
    helper.load([webformIn, mapNode, certificateNode, serviceplatformNode] as never, flow(), {
      w1: { secret: SECRET },
      c1: { keyPem: certs.client.key, certPem: certs.client.cert },
      sp: { ca: certs.ca.cert },
    });

  async function postSubmission(b = body()): Promise<void> {
    await request(RED.httpNode as never)
      .post('/os2forms/sp241')
      .set('X-Webform-Secret', SECRET)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(b))
      .expect(202);
  }

  async function samples(): Promise<Array<{ id: string; webformId: string; receivedAt: string; label: string }>> {
    for (let i = 0; i < 50; i++) {
      const res = await helper.request().get('/os2-map/samples').expect(200);
      if (res.body.samples.length) return res.body.samples;
      await new Promise((r) => setTimeout(r, 40));
    }
    return [];
  }

  it('a submission posted to webform in appears in the samples: label without personal data, CPR masked, no file content', async () => {
    await load();
    assert.deepEqual((await helper.request().get('/os2-map/samples').expect(200)).body, { samples: [] });
    await postSubmission();
    const list = await samples();
    assert.equal(list.length, 1);
    const [s] = list;
    assert.equal(s.webformId, 'helbredstillaeg_sp241');
    assert.match(s.label, /^helbredstillaeg_sp241 · \d{4}-\d\d-\d\d \d\d:\d\d UTC · 5c1e8a34$/);
    assert.ok(Date.now() - Date.parse(s.receivedAt) < 60_000);
    const one = await helper
      .request()
      .get(`/os2-map/samples/${encodeURIComponent(s.id)}`)
      .expect(200);
    assert.equal(one.body.id, s.id);
    assert.equal(one.body.webformId, 'helbredstillaeg_sp241');
    assert.equal(one.body.sample.data.ansoeger_cpr, '******-****');
    assert.equal(one.body.sample.data.ansoeger_fornavn, 'Åse');
    assert.deepEqual(one.body.sample.files, [
      { element: 'attachment_pdf', name: 'ansøgning.pdf', mime: 'application/pdf', id: '17', size: PDF.length, contentElided: true },
    ]);
    const text = JSON.stringify(one.body);
    assert.ok(!text.includes('0102031234') && !text.includes(CPR) && !text.includes(PDF.toString('base64')));
    await helper.request().get('/os2-map/samples/helbredstillaeg_sp241:99').expect(404);
    await helper.request().get('/os2-map/samples/nonsense').expect(404);
  });

  it('preview by sampleId: object, form XML and the exact request, CPR masked, checked against the contract (xmllint agrees)', async () => {
    await load();
    await postSubmission();
    const [s] = await samples();
    const res = await helper.request().post('/os2-map/preview').send({ config: formular(), sampleId: s.id, serviceplatform: 'sp' }).expect(200);
    const a = res.body;
    assert.deepEqual(a.errors, []);
    assert.equal(a.contract, 'checked');
    assert.equal(a.object.objektType, 'FORMULAR');
    assert.equal(a.object.submissionId, UUID);
    assert.match(a.xml, /<Personnummer>urn:oio:cpr:\*{6}-\*{4}<\/Personnummer>/);
    assert.match(a.request, /^<v3:FordelingsobjektAfsendRequest /);
    assert.ok(a.request.split('\n').length > 30, 'pretty-printed');
    assert.match(a.request, /<v2:AfsendendeMyndighed>\d{8}<\/v2:AfsendendeMyndighed>/);
    assert.match(a.request, /<v2:RoutingKLEEmne>32\.03\.12<\/v2:RoutingKLEEmne>/);
    assert.ok(
      a.notes.some((n: string) => /stand-in/.test(n)),
      'says the PDF is a stand-in',
    );
    const text = JSON.stringify(a);
    assert.ok(!text.includes('0102031234') && !text.includes(CPR), 'no CPR number anywhere in the answer');
    // the request with its content (the stand-in PDF, the sample has none) validates with libxml2's own xmllint
    const full = unelided(a.request, STAND_IN_PDF);
    const lint = xmllint(full);
    assert.ok(lint.ok, lint.output);

    // a pasted sample: the real PDF goes into the request
    const pasted = await helper
      .request()
      .post('/os2-map/preview')
      .send({
        config: formular(),
        serviceplatform: 'sp',
        sample: {
          webform: { id: 'helbredstillaeg_sp241' },
          submission: { uuid: UUID, completed: '2026-11-21T23:15:00Z' },
          data: { ansoeger_fornavn: 'Åse', ansoeger_efternavn: 'S', ansoeger_cpr: CPR, underskrift: 'Å' },
          files: [{ element: 'attachment_pdf', name: 'a.pdf', mime: 'application/pdf', content: PDF.toString('base64') }],
        },
      })
      .expect(200);
    assert.equal(pasted.body.contract, 'checked');
    assert.ok(xmllint(unelided(pasted.body.request, PDF)).ok);
    assert.equal(pasted.body.notes, undefined);
  });

  it('a request the contract refuses comes back with the error on the field that produced it', async () => {
    await load();
    // a file size of 1e21 from the remote post: a number to the mapping and the dialog, "1e+21" in Filstoerrelse,
    // which is no xs:integer
    const sample = {
      webform: { id: 'indsend_dokument' },
      submission: { uuid: '11111111-2222-4333-8444-555555555555' },
      data: {},
      files: [{ element: 'dokument', name: 'brev.pdf', mime: 'application/pdf', size: 1e21, url: 'https://selvbetjening.example.dk/brev.pdf' }],
    };
    const config = {
      id: 'd1',
      type: 'os2-map',
      objektType: 'DOKUMENT',
      routingMode: 'kle',
      routingCvr: '29189919',
      kle: '27.24.00',
      pdf: 'dokument',
      pdfType: 'element',
    };
    const res = await helper.request().post('/os2-map/preview').send({ config, sample, serviceplatform: 'sp' }).expect(200);
    assert.equal(res.body.contract, 'checked');
    const e = res.body.errors.find((x: { element?: string }) => x.element === 'Filstoerrelse');
    assert.ok(e, JSON.stringify(res.body.errors));
    assert.equal(e.field, 'pdf');
    assert.match(res.body.request.split('\n')[e.line - 1], /<v2:Filstoerrelse>1e\+21<\/v2:Filstoerrelse>/);
    assert.equal(xmllint(res.body.request).ok, false, 'xmllint refuses it too');
    assert.equal(res.body.object.objektType, 'DOKUMENT', 'the object is still shown');
  });

  it('mapping failures are a 200 with errors on fields; a malformed request is a 400; no serviceplatform skips the contract', async () => {
    await load();
    // (settings problems on their fields: map.test.ts)
    const unmappable = await helper
      .request()
      .post('/os2-map/preview')
      .send({ config: formular(), sample: { nope: 1 } })
      .expect(200);
    assert.equal(unmappable.body.object, undefined);
    assert.equal(unmappable.body.errors[0].field, 'sample');
    await helper.request().post('/os2-map/preview').send({ sample: tinySample }).expect(400);
    await helper.request().post('/os2-map/preview').send({ config: formular(), sample: 'text' }).expect(400);
    await helper.request().post('/os2-map/preview').send({ config: formular(), sampleId: 'helbredstillaeg_sp241:1' }).expect(404);
    const config = formular({ xmlTemplate: '<SP241/>' });
    const skipped = await helper.request().post('/os2-map/preview').send({ config, sample: tinySample }).expect(200);
    assert.equal(skipped.body.contract, 'skipped');
    assert.equal(skipped.body.request, undefined);
    const notDeployed = await helper.request().post('/os2-map/preview').send({ config, sample: tinySample, serviceplatform: 'nope' }).expect(200);
    assert.equal(notDeployed.body.contract, 'skipped');
    assert.match(notDeployed.body.contractNote, /not deployed/);
  });

  it('the contract is "unavailable" with a note when the XSD cannot be found', async () => {
    await load();
    const saved = process.env.SF2900_CONTRACT_DIR;
    process.env.SF2900_CONTRACT_DIR = path.join(os.tmpdir(), 'no-such-contract');
    try {
      const res = await helper
        .request()
        .post('/os2-map/preview')
        .send({ config: formular({ xmlTemplate: '<SP241/>' }), sample: tinySample, serviceplatform: 'sp' })
        .expect(200);
      assert.equal(res.body.contract, 'unavailable');
      assert.match(res.body.contractNote, /SF2900_CONTRACT_DIR/);
      assert.match(res.body.request, /FordelingsobjektAfsendRequest/);
    } finally {
      process.env.SF2900_CONTRACT_DIR = saved;
    }
  });

  describe('routing against the simulator', () => {
    const kp = DEFAULT_RECEIVERS[0];
    const esdh = DEFAULT_RECEIVERS[1];

    it('receivers: the systems for authority + KLE + facet, or none', async () => {
      await load();
      const res = await helper
        .request()
        .post('/os2-serviceplatform/sp/receivers')
        .send({ routingCvr: kp.authorityCvr, kle: kp.kle, handlingFacet: 'g01' })
        .expect(200);
      assert.equal(res.body.ok, true);
      assert.deepEqual(
        res.body.systems.map((s: { systemUuid: string }) => s.systemUuid),
        [kp.systemUuid],
      );
      const none = await helper.request().post('/os2-serviceplatform/sp/receivers').send({ routingCvr: kp.authorityCvr, kle: '01.02.03' }).expect(200);
      assert.deepEqual(none.body, { ok: true, systems: [] });
      await helper.request().post('/os2-serviceplatform/sp/receivers').send({ routingCvr: kp.authorityCvr, kle: 'x' }).expect(400);
      await helper.request().post('/os2-serviceplatform/nope/receivers').send({ kle: kp.kle }).expect(404);
    });

    it('check-routing by KLE: deliverable to the receiver the platform confirms, or a reason why not', async () => {
      await load();
      const ok = await helper
        .request()
        .post('/os2-serviceplatform/sp/check-routing')
        .send({ routingCvr: kp.authorityCvr, kle: kp.kle, handlingFacet: 'G01' })
        .expect(200);
      assert.deepEqual(ok.body, {
        ok: true,
        deliverable: true,
        receivers: [{ systemUuid: kp.systemUuid, systemName: kp.systemName, authorityCvr: kp.authorityCvr, canReceive: true }],
        reason: `Would be delivered to ${kp.systemName} (${kp.systemUuid})`,
      });
      const none = await helper.request().post('/os2-serviceplatform/sp/check-routing').send({ routingCvr: '29189846', kle: '32.03.12' }).expect(200);
      assert.equal(none.body.ok, true);
      assert.equal(none.body.deliverable, false);
      assert.deepEqual(none.body.receivers, []);
      assert.equal(none.body.reason, 'No system receives KLE 32.03.12 for authority 29189846');
    });

    it('check-routing by IT-system: FordelingsmodtagerValider says yes or no', async () => {
      await load();
      const ok = await helper
        .request()
        .post('/os2-serviceplatform/sp/check-routing')
        .send({ routingCvr: esdh.authorityCvr, receivingSystemUuid: esdh.systemUuid.toUpperCase() })
        .expect(200);
      assert.equal(ok.body.deliverable, true);
      assert.deepEqual(ok.body.receivers, [{ systemUuid: esdh.systemUuid, authorityCvr: esdh.authorityCvr, canReceive: true }]);
      assert.match(ok.body.reason, new RegExp(esdh.systemUuid));
      const other = await helper
        .request()
        .post('/os2-serviceplatform/sp/check-routing')
        .send({ routingCvr: '29189846', receivingSystemUuid: esdh.systemUuid })
        .expect(200);
      assert.equal(other.body.deliverable, false);
      assert.deepEqual(other.body.receivers, [{ systemUuid: esdh.systemUuid, authorityCvr: '29189846', canReceive: false }]);
      assert.equal(other.body.reason, `IT-system ${esdh.systemUuid} cannot receive for authority 29189846`);
      await helper.request().post('/os2-serviceplatform/sp/check-routing').send({ routingCvr: '29189846' }).expect(400);
      await helper.request().post('/os2-serviceplatform/sp/check-routing').send({ routingCvr: '29189846', receivingSystemUuid: 'x' }).expect(400);
      await helper.request().post('/os2-serviceplatform/nope/check-routing').send({ routingCvr: '29189846', kle: '32.03.12' }).expect(404);
    });

    it('a platform error is {ok:false, error, class}', async () => {
      await load();
      sim.faults = { httpStatus: 503 };
      const res = await helper.request().post('/os2-serviceplatform/sp/check-routing').send({ routingCvr: kp.authorityCvr, kle: kp.kle }).expect(200);
      assert.equal(res.body.ok, false);
      assert.equal(res.body.class, 'transient');
      assert.match(res.body.error, /503/);
    });
  });
});
