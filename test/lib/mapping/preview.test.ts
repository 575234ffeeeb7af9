// The map preview's request and contract check (lib/mapping/preview.ts), against the official contract XSD.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mapper, type Evaluator } from '../../../lib/mapping/mapper';
import { configFromNodeDef } from '../../../lib/mapping/node-config';
import { contractXsdPath, loadContract, prettyXml, preview, previewRequest } from '../../../lib/mapping/preview';
import { buildAfsendRequest } from '../../../lib/sf2900/afsend';
import { parseXmlSafely } from '../../../lib/xml/safe-xml';
import { loadSubmission } from '../../fixtures/submissions';
import { dokument, formular, journalpost, msgXsd, SENDER_CVR, SYSTEM_UUID, TX_ID } from '../sf2900/fixtures';

const endpoint = { baseUrl: 'https://sim.invalid', senderCvr: SENDER_CVR, senderSystemUuid: SYSTEM_UUID, timeoutMs: 1000 };
const xsd = () => contractXsdPath();
const evaluate: Evaluator = async (spec, msg) => {
  if (spec.type === 'str') return spec.value;
  if (spec.type === 'msg') return spec.value.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], msg);
  throw new Error(`no ${spec.type} here`);
};

function xmllint(xml: string): { ok: boolean; output: string } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'os2-preview-')), 'request.xml');
  fs.writeFileSync(file, xml);
  try {
    return { ok: true, output: execFileSync('xmllint', ['--noout', '--schema', xsd(), file], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (err) {
    return { ok: false, output: String((err as { stderr?: string }).stderr) };
  }
}

describe('map preview (lib/mapping/preview.ts)', () => {
  it('finds the contract from SF2900_CONTRACT_DIR, else ../shared/sf2900 from the working directory', async () => {
    assert.equal(contractXsdPath({ SF2900_CONTRACT_DIR: '/c' }, '/x/y'), '/c/contract/DistributionServiceMsg.xsd');
    assert.equal(contractXsdPath({}, '/x/y'), '/x/shared/sf2900/contract/DistributionServiceMsg.xsd');
    const missing = await loadContract('/nowhere/contract/DistributionServiceMsg.xsd');
    assert.equal(missing.schema, undefined);
    assert.match(missing.note!, /SF2900_CONTRACT_DIR/);
  });

  it('pretty-printing keeps the request valid and its texts unchanged', async () => {
    const schema = await msgXsd();
    for (const obj of [journalpost(), dokument(), formular()]) {
      const raw = buildAfsendRequest(obj, { transactionId: TX_ID, senderCvr: SENDER_CVR, senderSystemUuid: SYSTEM_UUID });
      const pretty = prettyXml(raw);
      assert.ok(pretty.split('\n').length > 20, 'one element per line');
      assert.ok(schema.validate(pretty).valid, JSON.stringify(schema.validate(pretty).errors));
      const texts = (x: string) => (parseXmlSafely(x).documentElement?.textContent ?? '').replace(/\s+/g, '');
      assert.equal(texts(pretty), texts(raw));
      assert.ok(pretty.includes('<v2:Notat>') || pretty.includes('<v2:FormularIndhold>') || pretty.includes('<v2:DelTekst>Hele dokumentet</v2:DelTekst>'));
    }
  });

  it('a FORMULAR: the request shown without the PDF, checked against the contract, CPR numbers masked', async () => {
    const submission = loadSubmission('sp241');
    const mapper = new Mapper(
      configFromNodeDef({
        objektType: 'FORMULAR',
        routingCvr: '14814833',
        kle: '32.03.12',
        formType: 'SP241',
        pdf: 'attachment_pdf',
        pdfType: 'element',
        xmlTemplate: '<SP241><Personnummer>{{data.ansoeger_cpr}}</Personnummer></SP241>',
      }),
    );
    const a = await preview({ mapper, evaluate, msg: { payload: submission }, endpoint });
    assert.equal(a.contract, 'checked');
    assert.deepEqual(a.errors, []);
    assert.ok(a.request!.includes('<!-- os2: file contents left out of the preview'), 'file contents left out');
    assert.ok(!a.request!.includes(submission.files[0].content!.toString('base64')));
    const all = JSON.stringify(a);
    assert.ok(!all.includes('010203-1234') && !all.includes('0102031234'), 'no CPR number anywhere');
    assert.ok(a.xml!.includes('******-****'));
    assert.match(a.request!, /<v2:RoutingMyndighed>14814833<\/v2:RoutingMyndighed>/);
  });

  it('a value the mapping lets through but the contract refuses: an error on the field, with element and line', async () => {
    const submission = loadSubmission('dokument');
    // a file size in exponent form (1e21 is an integer to JavaScript, written "1e+21"): not an xs:integer
    submission.files[0].size = 1e21;
    const mapper = new Mapper(configFromNodeDef({ objektType: 'DOKUMENT', routingCvr: '29189919', kle: '27.24.00', pdf: 'dokument', pdfType: 'element' }));
    const result = await mapper.map({ payload: submission }, evaluate);
    const r = await previewRequest(result.object, mapper.config, endpoint, () => loadContract());
    assert.equal(r.contract, 'checked');
    const e = r.errors.find((x) => x.element === 'Filstoerrelse');
    assert.ok(e, JSON.stringify(r.errors));
    assert.equal(e.field, 'pdf');
    assert.ok(r.request!.split('\n')[e.line! - 1].includes('<v2:Filstoerrelse>1e+21</v2:Filstoerrelse>'), `line ${e.line}`);
    // libxml2's own command line agrees
    assert.equal(xmllint(r.request!).ok, false);
    // and the same object with a real size passes both
    submission.files[0].size = 1234;
    const good = await previewRequest((await mapper.map({ payload: submission }, evaluate)).object, mapper.config, endpoint, () => loadContract());
    assert.deepEqual(good.errors, []);
    const lint = xmllint(good.request!);
    assert.ok(lint.ok, lint.output);
  });

  it('mapping failures are errors tied to fields, with no object; no serviceplatform means no request', async () => {
    const bad = new Mapper(configFromNodeDef({ objektType: 'JOURNALPOST', routingCvr: '29189919', kle: 'x', noteText: 'n' }));
    const a = await preview({ mapper: bad, evaluate, msg: { payload: loadSubmission('journalpost') }, endpoint });
    assert.equal(a.object, undefined);
    assert.equal(a.errors[0].field, 'kle');
    const unmappable = new Mapper(
      configFromNodeDef({ objektType: 'JOURNALPOST', routingCvr: '29189919', kle: '27.24.00', noteText: 'payload.data.nope', noteTextType: 'msg' }),
    );
    const b = await preview({ mapper: unmappable, evaluate, msg: { payload: loadSubmission('journalpost') }, endpoint });
    assert.equal(b.object, undefined);
    assert.deepEqual(
      b.errors.map((e) => e.field),
      ['noteText'],
    );
    const ok = new Mapper(configFromNodeDef({ objektType: 'JOURNALPOST', routingCvr: '29189919', kle: '27.24.00', noteText: 'n' }));
    const c = await preview({ mapper: ok, evaluate, msg: { payload: loadSubmission('journalpost') } });
    assert.equal(c.contract, 'skipped');
    assert.equal(c.request, undefined);
    assert.ok(c.contractNote);
    assert.equal((c.object as { objektType: string }).objektType, 'JOURNALPOST');
  });
});
