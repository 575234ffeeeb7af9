// os2forms site config node: base URL + API key (credential) → a client that GETs with the api-key header.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import helper from 'node-red-node-test-helper';
import siteNode from '../../nodes/os2forms-site/os2forms-site';
import type { Os2formsSite } from '../../lib/webform/os2forms-client';
import { FakeOs2formsApi } from '../support/os2forms-api';

describe('os2forms site (config node)', function () {
  let api: FakeOs2formsApi;
  beforeEach(async () => (api = await new FakeOs2formsApi('k-123').start()));
  afterEach(async () => {
    await helper.unload();
    await api.stop();
  });

  const load = (baseUrl: string, timeout: number, creds: object) =>
    helper.load(siteNode, [{ id: 's1', type: 'os2-os2forms-site', baseUrl, timeout } as never], creds);
  const site = () => helper.getNode('s1') as unknown as Os2formsSite;

  it('GETs with the api-key header and parses JSON', async function () {
    api.add('kontakt', { sid: 1, uuid: '0f8fad5b-d9cb-469f-a165-70867728950e', created: 1700000000, data: {} });
    await load(api.baseUrl + '/', 5, { s1: { apiKey: 'k-123' } });
    assert.equal(site().configError, undefined);
    assert.equal(site().baseUrl, api.baseUrl + '/');
    assert.equal(site().timeoutMs, 5000);
    const list = (await site().client().getJson('/webform_rest/kontakt/submissions')) as { submissions: Record<string, string> };
    assert.deepEqual(Object.keys(list.submissions), ['1']);
    assert.equal(api.requests[0]!.apiKey, 'k-123');
  });

  it('never sends the key to another origin', async function () {
    await load(api.baseUrl, 5, { s1: { apiKey: 'k-123' } });
    await assert.rejects(site().client().get('http://127.0.0.2:1/x'), /refusing to send the API key/);
    assert.equal(api.requests.length, 0);
  });

  it('reports a missing key or base URL as one clear line, and a wrong key as HTTP 403', async function () {
    await load(api.baseUrl, 5, {});
    assert.match(site().configError ?? '', /no API key/);
    assert.throws(() => site().client(), /no API key/);
    await helper.unload();
    await load('ftp://x', 5, { s1: { apiKey: 'k' } });
    assert.match(site().configError ?? '', /http\(s\)/);
    await helper.unload();
    await load(api.baseUrl, 5, { s1: { apiKey: 'wrong' } });
    await assert.rejects(site().client().getJson('/webform_rest/kontakt/submissions'), /HTTP 403 \(check the API key/);
  });

  it('times out a request that does not answer', async function () {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as { port: number }).port;
      await load(`http://127.0.0.1:${port}`, 0.2, { s1: { apiKey: 'k' } });
      await assert.rejects(site().client().get('/x'), /timed out after 200 ms/);
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });
});
