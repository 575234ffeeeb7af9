import { strict as assert } from 'node:assert';
import { normaliseRemotePost, normaliseRestSubmission, SubmissionError, toIsoTimestamp } from '../../../lib/webform/normalise';

const UUID = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('lib/webform/normalise', function () {
  it('converts Unix seconds and date strings to ISO 8601', function () {
    assert.equal(toIsoTimestamp('1700000000'), '2023-11-14T22:13:20.000Z');
    assert.equal(toIsoTimestamp(1700000000), '2023-11-14T22:13:20.000Z');
    assert.equal(toIsoTimestamp('2023-11-14T23:13:20+01:00'), '2023-11-14T22:13:20.000Z');
    assert.equal(toIsoTimestamp(''), undefined);
    assert.equal(toIsoTimestamp('not a date'), undefined);
  });

  it('remote post: base fields out of data, file elements (object or array) into files', function () {
    const s = normaliseRemotePost({
      uuid: UUID,
      sid: 3,
      serial: 2,
      token: 't',
      webform_id: 'f',
      in_draft: 0,
      uid: 0,
      langcode: 'da',
      remote_addr: '1.2.3.4',
      navn: 'Åse',
      bilag: '5',
      _bilag: { id: 5, name: 'x.pdf', uri: 'private://x.pdf', mime: 'application/pdf', uuid: 'u5' },
      flere: ['6', '7'],
      _flere: [
        { id: '6', name: 'a.png', uri: 'private://a.png', mime: 'image/png' },
        { id: '7', name: 'b.png', uri: 'https://site/b.png', mime: 'image/png', data: 'aGVq' },
      ],
      _not_a_file: 'underscore values that are not files stay data',
    });
    assert.deepEqual(s.submission, { uuid: UUID, sid: '3', langcode: 'da', inDraft: false });
    assert.deepEqual(s.data, { navn: 'Åse', bilag: '5', flere: ['6', '7'], _not_a_file: 'underscore values that are not files stay data' });
    assert.deepEqual(
      s.files.map((f) => [f.element, f.name, f.id, f.size, f.url]),
      [
        ['bilag', 'x.pdf', '5', undefined, undefined],
        ['flere', 'a.png', '6', undefined, undefined],
        ['flere', 'b.png', '7', 3, 'https://site/b.png'],
      ],
    );
    assert.equal(s.files[2]!.content!.toString(), 'hej');
  });

  it('remote post: clear errors for what is not a submission', function () {
    assert.throws(() => normaliseRemotePost({ webform_id: 'f' }), /no uuid/);
    assert.throws(() => normaliseRemotePost({ uuid: 'nope', webform_id: 'f' }), /not a UUID/);
    assert.throws(() => normaliseRemotePost({ uuid: UUID }), /no webform_id/);
    assert.equal(normaliseRemotePost({ uuid: UUID }, { webformId: 'hint' }).webform.id, 'hint');
    assert.throws(() => normaliseRemotePost({ uuid: UUID, webform_id: 'f', _x: { name: 'a', uri: 'u', data: '***' } }), SubmissionError);
  });

  it('REST: entity field arrays, linked files with url, mime and size', function () {
    const s = normaliseRestSubmission({
      entity: {
        uuid: [{ value: UUID.toUpperCase() }],
        sid: [{ value: 9 }],
        webform_id: [{ target_id: 'f' }],
        created: [{ value: '2025-11-22T08:00:00+00:00' }],
        completed: [{ value: '1763798460' }],
        langcode: [{ value: 'da' }],
      },
      data: {
        navn: 'Ø',
        dokumenter: ['42'],
        linked: { dokumenter: { 42: { id: '42', url: 'https://s/system/files/b%C3%A6r.pdf', mime_type: 'application/pdf', size: '1234' } } },
      },
    });
    assert.deepEqual(s.webform, { id: 'f' });
    assert.deepEqual(s.submission, { uuid: UUID, sid: '9', created: '2025-11-22T08:00:00.000Z', completed: '2025-11-22T08:01:00.000Z', langcode: 'da' });
    assert.deepEqual(s.data, { navn: 'Ø', dokumenter: ['42'] });
    assert.deepEqual(s.files, [
      { element: 'dokumenter', name: 'bær.pdf', id: '42', mime: 'application/pdf', size: 1234, url: 'https://s/system/files/b%C3%A6r.pdf' },
    ]);
    assert.throws(() => normaliseRestSubmission({ entity: {}, data: {} }, 'f'), /no valid uuid/);
  });
});
