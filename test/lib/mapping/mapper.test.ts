import { strict as assert } from 'node:assert';
import { ConfigError, Mapper, MappingError, type Evaluator, type FieldSpec, type MapConfig } from '../../../lib/mapping/mapper';
import { loadSubmission } from '../../fixtures/submissions';

/** Literal and msg-path values only (the node supplies Node-RED's evaluator). */
const evaluate: Evaluator = async (spec, msg) => {
  if (spec.type === 'str') return spec.value;
  if (spec.type === 'msg') return spec.value.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], msg);
  throw new Error(`type ${spec.type} not in this test`);
};
const s = (value: string, type = 'str'): FieldSpec => ({ value, type });
const routing = { routingCvr: s('14814833'), kle: s('32.03.12') };

describe('lib/mapping/mapper', () => {
  it('evaluates settings as plain values or promises; a failing one fails the message only where it is used, by name', async () => {
    const mixed: Evaluator = (spec, msg) => {
      if (spec.value === 'boom') throw new Error('cannot read boom');
      if (spec.value === 'late') return Promise.resolve('Sen titel');
      if (spec.value === 'rejects') return Promise.reject(new Error('the store is down'));
      return evaluate(spec, msg) as Promise<unknown>;
    };
    const config = (fields: MapConfig['fields']): MapConfig => ({ objektType: 'JOURNALPOST', routingMode: 'kle', xmlMode: 'template', files: [], fields });
    const base = { ...routing, noteText: s('payload.data.besked', 'msg'), noteTitle: s('late', 'flow') };
    // a DOKUMENT-only setting left over in a JOURNALPOST's configuration is never used: its error does not matter
    const ok = await new Mapper(config({ ...base, description: s('boom', 'msg'), partText: s('rejects', 'flow') })).map(
      { payload: loadSubmission('journalpost') },
      mixed,
    );
    assert.equal(ok.object.journalpost!.noteTitle, 'Sen titel', 'a promised value is awaited');
    await assert.rejects(
      new Mapper(config({ ...base, noteText: s('boom', 'msg') })).map({ payload: loadSubmission('journalpost') }, mixed),
      (e: Error) => e instanceof MappingError && e.field === 'noteText' && /cannot read boom/.test(e.message),
    );
    await assert.rejects(
      new Mapper(config({ ...base, noteTitle: s('rejects', 'flow') })).map({ payload: loadSubmission('journalpost') }, mixed),
      (e: Error) => e instanceof MappingError && e.field === 'noteTitle' && /the store is down/.test(e.message),
    );
  });

  it('DOKUMENT without a file setting takes the first selected file; unselected files stay behind', async () => {
    const m = new Mapper({ objektType: 'DOKUMENT', routingMode: 'kle', xmlMode: 'template', fields: routing, files: [{ element: 'bilag', role: 'Bilag' }] });
    const { object } = await m.map({ payload: loadSubmission('dokument') }, evaluate, { now: new Date('2026-01-15T12:00:00Z') });
    assert.equal(object.files.length, 1);
    assert.equal(object.dokument!.file, object.files[0]);
    assert.equal(object.dokument!.title, 'bilag 1.pdf', 'title defaults to the file name');
    assert.equal(object.dokument!.letterDate, '2026-01-15');
    assert.equal(object.registeredAt, '2026-01-15T13:00:00+01:00');
  });

  it('DOKUMENT whose document element is not in the files list puts it first and numbers the SFTP names again', async () => {
    const m = new Mapper({
      objektType: 'DOKUMENT',
      routingMode: 'kle',
      xmlMode: 'template',
      fields: { ...routing, pdf: s('dokument', 'element') },
      files: [{ element: 'bilag', role: 'Bilag' }],
    });
    const { object } = await m.map({ payload: loadSubmission('dokument') }, evaluate);
    assert.deepEqual(
      object.files.map((f) => f.sftpName!.replace(/^os2forms_[0-9a-f-]+_/, '')),
      ['0_laegeerklaering.pdf', '1_bilag_1.pdf'],
    );
    assert.equal(object.dokument!.file.name, 'lægeerklæring.pdf');
  });

  it('"*" takes every file not yet selected except the FORMULAR PDF', async () => {
    const cfg: MapConfig = {
      objektType: 'FORMULAR',
      routingMode: 'kle',
      xmlMode: 'template',
      xmlTemplate: '<A>{{#each files}}<F r="{{role}}">{{sftpName}}</F>{{/each}}</A>',
      fields: { ...routing, formType: s('X_1'), pdf: s('attachment_pdf', 'element') },
      files: [
        { element: 'dokumenter_bilag', role: 'Bilag' },
        { element: '*', role: 'Andet' },
      ],
    };
    const { object, xml } = await new Mapper(cfg).map({ payload: loadSubmission('sp241') }, evaluate);
    assert.deepEqual(
      object.files.map((f) => [f.element, f.role]),
      [
        ['dokumenter_bilag', 'Bilag'],
        ['dokumenter_overslag', 'Andet'],
        ['dokumenter_faktura', 'Andet'],
      ],
    );
    assert.equal((xml!.match(/<F /g) ?? []).length, 3);
  });

  it('non-strict templates render a missing value as empty text', async () => {
    const base: MapConfig = {
      objektType: 'FORMULAR',
      routingMode: 'kle',
      xmlMode: 'template',
      xmlTemplate: '<A><B>{{data.mangler}}</B></A>',
      fields: { ...routing, formType: s('X_1'), pdf: s('attachment_pdf', 'element') },
      files: [],
    };
    await assert.rejects(
      new Mapper(base).map({ payload: loadSubmission('sp241') }, evaluate),
      (e: Error) => e instanceof MappingError && e.field === 'xmlTemplate',
    );
    const { xml } = await new Mapper({ ...base, strict: false }).map({ payload: loadSubmission('sp241') }, evaluate);
    assert.equal(xml, '<A><B></B></A>');
  });

  it('collects every settings problem at once and refuses to map with them', async () => {
    const m = new Mapper({
      objektType: 'FORMULAR',
      routingMode: 'kle',
      xmlMode: 'table',
      xmlTable: [{ path: 'SP241/1x', value: 'a', type: 'str' }],
      fields: { routingCvr: s('12'), kle: s('1.2') },
      files: [{ element: ' ' }],
    });
    const text = m.problems.join('\n');
    for (const re of [/routingCvr/, /kle/, /formType/, /pdf/, /xmlTable row 1/, /files row 1/]) assert.match(text, re);
    await assert.rejects(m.map({ payload: loadSubmission('sp241') }, evaluate), ConfigError);
  });

  it('normalises values that arrive at run time (msg) into contract form', async () => {
    const m = new Mapper({
      objektType: 'JOURNALPOST',
      routingMode: 'system',
      xmlMode: 'template',
      files: [],
      fields: {
        routingCvr: s('r.cvr', 'msg'),
        kle: s('r.kle', 'msg'),
        handlingFacet: s('r.facet', 'msg'),
        receivingSystemUuid: s('r.sys', 'msg'),
        noteText: s('payload.data.besked', 'msg'),
      },
    });
    const { object } = await m.map(
      { payload: loadSubmission('journalpost'), r: { cvr: 'DK-14 81 48 33', kle: '320312', facet: 'g01', sys: '{A1B2C3D4-E5F6-4789-ABCD-EF0123456789}' } },
      evaluate,
    );
    assert.deepEqual(object.context.routing, { receivingAuthorityCvr: '14814833', receivingSystemUuid: 'a1b2c3d4-e5f6-4789-abcd-ef0123456789' });
    assert.equal(object.kleProposal, '32.03.12');
    assert.equal(object.handlingFacetProposal, 'G01');
  });
});
