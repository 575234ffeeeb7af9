// "Test connection" of the os2forms site config node: one GET of a form's submission list with the deployed settings.
import { strict as assert } from 'node:assert';
import helper from 'node-red-node-test-helper';
import siteNode from '../../nodes/os2forms-site/os2forms-site';
import { FakeOs2formsApi } from '../support/os2forms-api';

describe('os2forms site: test connection (admin endpoint)', function () {
  let api: FakeOs2formsApi;
  beforeEach(async () => (api = await new FakeOs2formsApi('k-secret-123').start()));
  afterEach(async () => {
    await helper.unload();
    await api.stop();
  });
  const load = (apiKey?: string) =>
    helper.load(siteNode, [{ id: 's1', type: 'os2-os2forms-site', baseUrl: api.baseUrl, timeout: 5 } as never], apiKey ? { s1: { apiKey } } : {});

  it('answers how many submissions the API user may read, without ever returning the key', async () => {
    api.add('sp241_helbredstillaeg', { sid: 1, uuid: '0f8fad5b-d9cb-469f-a165-70867728950e', created: 1700000000, data: {} });
    api.add('sp241_helbredstillaeg', { sid: 2, uuid: '1f8fad5b-d9cb-469f-a165-70867728950e', created: 1700000001, data: {} });
    await load('k-secret-123');
    const r = await helper.request().post('/os2-os2forms-site/s1/test').send({ webformId: 'sp241_helbredstillaeg' }).expect(200);
    assert.deepEqual(r.body, { ok: true, submissions: 2 });
    assert.equal(api.requests[0]!.path, '/webform_rest/sp241_helbredstillaeg/submissions');
    assert.equal(api.requests[0]!.apiKey, 'k-secret-123');
  });

  it('reports a wrong key, a missing key, an undeployed node and a bad form name clearly', async () => {
    await load('wrong-key');
    const wrong = await helper.request().post('/os2-os2forms-site/s1/test').send({ webformId: 'kontakt' }).expect(200);
    assert.equal(wrong.body.ok, false);
    assert.match(wrong.body.error, /HTTP 403.*API key/);
    assert.ok(!JSON.stringify(wrong.body).includes('wrong-key'));
    const bad = await helper.request().post('/os2-os2forms-site/s1/test').send({ webformId: '../x' }).expect(400);
    assert.match(bad.body.error, /machine name of a form/);
    await helper.request().post('/os2-os2forms-site/nope/test').send({ webformId: 'kontakt' }).expect(404);
    await helper.unload();
    await load();
    const none = await helper.request().post('/os2-os2forms-site/s1/test').send({ webformId: 'kontakt' }).expect(200);
    assert.deepEqual(none.body, { ok: false, error: 'os2forms site: no API key (credentials)' });
  });
});
