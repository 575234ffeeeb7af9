// webform in, push mode: the Webform remote-post handler POSTs to a path on RED.httpNode.
import { strict as assert } from 'node:assert';
import helper from 'node-red-node-test-helper';
import request from 'supertest';
import type { NodeAPI } from 'node-red';
import webformInNode from '../../nodes/webform-in/webform-in';
import { hmacHex } from '../../lib/webform/auth';
import type { Submission } from '../../lib/sf2900/model';
import { freshDefaultLedgerPerTest } from '../support/default-ledger';
import { transactionIdFor } from '../../lib/sf2900/transaction-id';

let RED: NodeAPI;
const wrapper = (r: NodeAPI) => {
  RED = r;
  return webformInNode(r);
};

const SECRET = 's3cret-æøå-123';
const PDF = Buffer.from('%PDF-1.7\n% lægeerklæring\n%%EOF\n', 'utf8');

/** What a Webform remote-post handler sends for an SP241-like application (base fields flattened, files as _<key>). */
function sp241Body(): Record<string, unknown> {
  return {
    sid: '4711',
    serial: '212',
    uuid: '5C1E8A34-7F0B-4D7A-9A40-1D2B3C4D5E6F',
    token: 'AbC123tokEn',
    uri: '/form/helbredstillaeg',
    created: '1763798400',
    completed: '1763798460',
    changed: '1763798461',
    in_draft: '0',
    current_page: '',
    remote_addr: '10.0.0.1',
    uid: '0',
    langcode: 'da',
    webform_id: 'helbredstillaeg_sp241',
    entity_type: null,
    entity_id: null,
    locked: '0',
    sticky: '0',
    notes: '',
    ansoeger_fornavn: 'Åse',
    ansoeger_efternavn: 'Sørensen-Ærø',
    ansoeger_adresse: { address: 'Østergade 12, 2. th.', postal_code: '8000', city: 'Århus C' },
    udgiftstype: ['tandbehandling', 'fodbehandling'],
    beskrivelse: 'Behandling hos tandlæge på Nørrebro; "særlige" behov & <udgifter>',
    overslag: '17',
    _overslag: {
      id: '17',
      name: 'overslag æøå.pdf',
      uri: 'private://webform/helbredstillaeg_sp241/4711/overslag æøå.pdf',
      mime: 'application/pdf',
      uuid: 'a1b2c3d4-0000-4000-8000-000000000017',
      data: PDF.toString('base64'),
    },
    bilag: ['18'],
    _bilag: [
      {
        id: '18',
        name: '../../etc/passwd',
        uri: 'private://webform/helbredstillaeg_sp241/4711/passwd',
        mime: 'image/jpeg',
        uuid: 'a1b2c3d4-0000-4000-8000-000000000018',
      },
    ],
  };
}

function flow(extra: Record<string, unknown> = {}) {
  return [
    {
      id: 'w1',
      type: 'os2-webform-in',
      name: 'sp241',
      mode: 'push',
      path: '/os2forms/sp241',
      auth: 'header',
      authHeader: 'X-Webform-Secret',
      wires: [['out'], ['changed']],
      ...extra,
    },
    { id: 'out', type: 'helper' },
    { id: 'changed', type: 'helper' },
  ];
}

function nextMessage(): Promise<{ payload: Submission; submissionId: string }> {
  return new Promise((resolve) => helper.getNode('out').once('input', resolve));
}

function layersFor(path: string): number {
  const stack = (RED.httpNode as unknown as { _router?: { stack: { route?: { path: string } }[] } })._router?.stack ?? [];
  return stack.filter((l) => l.route?.path === path).length;
}

describe('webform in (push)', function () {
  afterEach(() => helper.unload());
  freshDefaultLedgerPerTest();

  it('accepts a JSON SP241-like submission with Danish letters and two files, emits the normalised submission, answers 202', async function () {
    await helper.load(wrapper, flow(), { w1: { secret: SECRET } });
    const got = nextMessage();
    const res = await request(RED.httpNode as never)
      .post('/os2forms/sp241')
      .set('X-Webform-Secret', SECRET)
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify(sp241Body()))
      .expect(202);
    assert.deepEqual(res.body, { uuid: '5c1e8a34-7f0b-4d7a-9a40-1d2b3c4d5e6f', state: 'completed', outcome: 'passed on' });
    const msg = await got;
    assert.equal(msg.submissionId, '5c1e8a34-7f0b-4d7a-9a40-1d2b3c4d5e6f');
    const p = msg.payload;
    assert.deepEqual(p.webform, { id: 'helbredstillaeg_sp241' });
    assert.deepEqual(p.submission, {
      sid: '4711',
      uuid: '5c1e8a34-7f0b-4d7a-9a40-1d2b3c4d5e6f',
      created: '2025-11-22T08:00:00.000Z',
      completed: '2025-11-22T08:01:00.000Z',
      changed: '2025-11-22T08:01:01.000Z',
      langcode: 'da',
      inDraft: false,
    });
    assert.deepEqual(p.data, {
      ansoeger_fornavn: 'Åse',
      ansoeger_efternavn: 'Sørensen-Ærø',
      ansoeger_adresse: { address: 'Østergade 12, 2. th.', postal_code: '8000', city: 'Århus C' },
      udgiftstype: ['tandbehandling', 'fodbehandling'],
      beskrivelse: 'Behandling hos tandlæge på Nørrebro; "særlige" behov & <udgifter>',
      overslag: '17',
      bilag: ['18'],
    });
    assert.equal(p.files.length, 2);
    const [overslag, bilag] = p.files;
    assert.equal(overslag!.element, 'overslag');
    assert.equal(overslag!.name, 'overslag æøå.pdf');
    assert.equal(overslag!.mime, 'application/pdf');
    assert.ok(Buffer.isBuffer(overslag!.content));
    assert.ok(overslag!.content!.equals(PDF));
    assert.equal(overslag!.size, PDF.length);
    assert.equal(bilag!.element, 'bilag');
    assert.equal(bilag!.name, '../../etc/passwd', 'the citizen file name is kept verbatim, as data');
    assert.equal(bilag!.content, undefined);
    assert.equal(bilag!.uuid, 'a1b2c3d4-0000-4000-8000-000000000018');
  });

  it('accepts a form-encoded body (PHP http_build_query bracket keys)', async function () {
    await helper.load(wrapper, flow(), { w1: { secret: SECRET } });
    const got = nextMessage();
    const form = new URLSearchParams();
    form.append('sid', '12');
    form.append('uuid', '0f8fad5b-d9cb-469f-a165-70867728950e');
    form.append('webform_id', 'kontakt');
    form.append('created', '1700000000');
    form.append('navn', 'Bjørn Ågård');
    form.append('emner[0]', 'æbler');
    form.append('emner[1]', 'pærer');
    form.append('adresse[by]', 'Køge');
    form.append('_bilag[0][id]', '9');
    form.append('_bilag[0][name]', 'kvittering.pdf');
    form.append('_bilag[0][uri]', 'private://webform/kontakt/12/kvittering.pdf');
    form.append('_bilag[0][mime]', 'application/pdf');
    form.append('_bilag[0][uuid]', 'b1b2c3d4-0000-4000-8000-000000000009');
    form.append('_bilag[0][data]', Buffer.from('hej').toString('base64'));
    await request(RED.httpNode as never)
      .post('/os2forms/sp241')
      .set('x-webform-secret', SECRET)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(form.toString())
      .expect(202, { uuid: '0f8fad5b-d9cb-469f-a165-70867728950e', state: 'completed', outcome: 'passed on' });
    const { payload } = await got;
    assert.deepEqual(payload.data, { navn: 'Bjørn Ågård', emner: ['æbler', 'pærer'], adresse: { by: 'Køge' } });
    assert.equal(payload.submission.created, '2023-11-14T22:13:20.000Z');
    assert.equal(payload.files.length, 1);
    assert.equal(payload.files[0]!.name, 'kvittering.pdf');
    assert.equal(payload.files[0]!.content!.toString(), 'hej');
    assert.equal(payload.files[0]!.size, 3);
  });

  describe('errors, each one line of JSON', function () {
    beforeEach(() => helper.load(wrapper, flow({ maxBodyMb: 0.001 }), { w1: { secret: SECRET } }));

    const post = () => request(RED.httpNode as never).post('/os2forms/sp241');
    function assertOneLineError(res: request.Response, status: number, pattern: RegExp) {
      assert.equal(res.status, status);
      assert.match(res.headers['content-type'] ?? '', /application\/json/);
      assert.equal(res.text.trim().split('\n').length, 1);
      assert.match(JSON.parse(res.text).error, pattern);
    }

    it('401 without the secret header, and with a wrong one', async function () {
      assertOneLineError(await post().set('content-type', 'application/json').send('{}'), 401, /missing header x-webform-secret/);
      assertOneLineError(await post().set('x-webform-secret', 'guess').set('content-type', 'application/json').send('{}'), 401, /wrong secret/);
    });

    it('415 for another content type', async function () {
      assertOneLineError(await post().set('x-webform-secret', SECRET).set('content-type', 'text/plain').send('uuid=x'), 415, /content type/);
    });

    it('413 beyond the body limit', async function () {
      const big = JSON.stringify({ uuid: '0f8fad5b-d9cb-469f-a165-70867728950e', webform_id: 'x', pad: 'x'.repeat(5000) });
      assertOneLineError(await post().set('x-webform-secret', SECRET).set('content-type', 'application/json').send(big), 413, /limit/);
    });

    it('400 for malformed JSON, a body without uuid, and too deep form nesting', async function () {
      assertOneLineError(await post().set('x-webform-secret', SECRET).set('content-type', 'application/json').send('{"uuid": '), 400, /malformed JSON/);
      assertOneLineError(
        await post().set('x-webform-secret', SECRET).set('content-type', 'application/json').send('{"webform_id":"x","navn":"Åse"}'),
        400,
        /no uuid/,
      );
      assertOneLineError(await post().set('x-webform-secret', SECRET).set('content-type', 'application/json').send('[1,2]'), 400, /not a JSON object/);
      const deep = 'uuid=0f8fad5b-d9cb-469f-a165-70867728950e&webform_id=x&a' + '[b]'.repeat(30) + '=1';
      assertOneLineError(
        await post().set('x-webform-secret', SECRET).set('content-type', 'application/x-www-form-urlencoded').send(deep),
        400,
        /nested deeper/,
      );
      const proto = 'uuid=0f8fad5b-d9cb-469f-a165-70867728950e&webform_id=x&a[__proto__][polluted]=1';
      assertOneLineError(await post().set('x-webform-secret', SECRET).set('content-type', 'application/x-www-form-urlencoded').send(proto), 400, /not allowed/);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('emits nothing for a refused request', async function () {
      let emitted = 0;
      helper.getNode('out').on('input', () => emitted++);
      await post().set('x-webform-secret', 'wrong').set('content-type', 'application/json').send('{}').expect(401);
      await post().set('x-webform-secret', SECRET).set('content-type', 'application/json').send('{}').expect(400);
      assert.equal(emitted, 0);
    });
  });

  describe('drafts, completions, updates and deletions (Drupal remote post, one URL per operation)', function () {
    const uuid = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    type Out = { payload: Submission; topic?: string; changes?: { state: string; fields: string[]; passedAt: string; revision: number } };
    let passed: Out[];
    let changed: Out[];
    const post = (operation: string | undefined, body: Record<string, unknown>) =>
      request(RED.httpNode as never)
        .post(`/os2forms/sp241${operation ? `?operation=${operation}` : ''}`)
        .set('X-Webform-Secret', SECRET)
        .set('content-type', 'application/json')
        .send(JSON.stringify({ uuid, webform_id: 'ansoegning', sid: '7', ...body }));
    const settle = () => new Promise((r) => setTimeout(r, 60));
    async function load(extra: Record<string, unknown> = {}): Promise<void> {
      await helper.load(wrapper, flow(extra), { w1: { secret: SECRET } });
      passed = [];
      changed = [];
      (helper.getNode('out') as unknown as NodeJS.EventEmitter).on('input', (m: Out) => passed.push(m));
      (helper.getNode('changed') as unknown as NodeJS.EventEmitter).on('input', (m: Out) => changed.push(m));
    }

    it('a draft is not passed on; completed, it is passed on once with the completed data; an update comes out on output 2 with field names only', async function () {
      await load();
      const draft = await post('draft_created', { in_draft: '1', cpr: '0101701234', navn: 'Kladde' }).expect(202);
      assert.equal(draft.body.outcome, 'skipped: draft');
      await post('draft_updated', { in_draft: '1', cpr: '0101701234', navn: 'Kladde 2' }).expect(202);
      await settle();
      assert.equal(passed.length + changed.length, 0, 'a draft goes nowhere');

      const done = await post('completed', { in_draft: '0', cpr: '0101701234', navn: 'Færdig' }).expect(202);
      assert.equal(done.body.outcome, 'passed on');
      await post('completed', { in_draft: '0', cpr: '0101701234', navn: 'Færdig' }).expect(202); // posted again: a repeat
      await settle();
      assert.equal(passed.length, 1, 'passed on once');
      assert.equal(passed[0]!.payload.data.navn, 'Færdig', 'with the completed data');

      const upd = await post('updated', { in_draft: '0', cpr: '0101701235', navn: 'Færdig' }).expect(202);
      assert.equal(upd.body.outcome, 'changed after delivery');
      await post('updated', { in_draft: '0', cpr: '0101701235', navn: 'Færdig' }).expect(202); // saved again unchanged
      await settle();
      assert.equal(passed.length, 1, 'an update is not a second delivery');
      assert.equal(changed.length, 1);
      assert.equal(changed[0]!.topic, 'updated');
      assert.deepEqual(changed[0]!.changes?.fields, ['cpr'], 'which field changed, by name');
      assert.equal(changed[0]!.changes?.revision, 0);
      assert.ok(!JSON.stringify(changed[0]!.changes).includes('0101701'), 'no values in msg.changes');

      await post('deleted', { in_draft: '0', cpr: '0101701235', navn: 'Færdig' }).expect(202);
      await settle();
      assert.equal(changed.length, 2);
      assert.equal(changed[1]!.topic, 'deleted');
      const status = (helper.getNode('w1') as unknown as { status: { args: [{ text?: string }][] } }).status.args.at(-1)![0].text ?? '';
      assert.match(status, /1 passed, 2 drafts, 2 changed, 2 skipped/);
    });

    it('in_draft wins over a URL that says completed; no operation means completed; an unknown one is refused', async function () {
      await load();
      assert.equal((await post('completed', { in_draft: '1', navn: 'x' }).expect(202)).body.outcome, 'skipped: draft');
      assert.match((await post('finished', { navn: 'x' }).expect(400)).body.error, /unknown operation "finished"/);
      assert.equal((await post(undefined, { in_draft: '0', navn: 'x' }).expect(202)).body.outcome, 'passed on');
      await settle();
      assert.equal(passed.length, 1);
    });

    it('updates set to pass on: a changed submission is passed on as revision 1, with an AnvenderTransaktionsID of its own', async function () {
      await load({ updates: 'pass' });
      await post('completed', { navn: 'Første' }).expect(202);
      await post('updated', { navn: 'Anden' }).expect(202);
      await settle();
      assert.equal(changed.length, 0);
      assert.deepEqual(
        passed.map((m) => [m.payload.data.navn, m.payload.submission.revision]),
        [
          ['Første', undefined],
          ['Anden', 1],
        ],
      );
      const ids = passed.map((m) => transactionIdFor(m.payload.submission.uuid, 'ansoegning', undefined, m.payload.submission.revision));
      assert.notEqual(ids[0], ids[1]);
    });

    it('drafts set to pass on: a draft is passed on', async function () {
      await load({ drafts: 'pass' });
      await post('draft_created', { in_draft: '1', navn: 'Kladde' }).expect(202);
      await settle();
      assert.equal(passed.length, 1);
    });
  });

  describe('HMAC-SHA256 of the raw body', function () {
    beforeEach(() => helper.load(wrapper, flow({ auth: 'hmac', hmacHeader: 'X-Signature' }), { w1: { secret: SECRET } }));
    const body = JSON.stringify({ uuid: '0f8fad5b-d9cb-469f-a165-70867728950e', webform_id: 'kontakt', navn: 'Æble' });

    it('accepts a right signature, hex or with sha256= prefix', async function () {
      const got = nextMessage();
      await request(RED.httpNode as never)
        .post('/os2forms/sp241')
        .set('X-Signature', hmacHex(body, SECRET))
        .set('content-type', 'application/json')
        .send(body)
        .expect(202);
      assert.equal((await got).payload.data.navn, 'Æble');
      await request(RED.httpNode as never)
        .post('/os2forms/sp241')
        .set('X-Signature', 'sha256=' + hmacHex(body, SECRET).toUpperCase())
        .set('content-type', 'application/json')
        .send(body)
        .expect(202);
    });

    it('401 for a wrong signature, a signature of another body, a missing one, and the secret itself', async function () {
      const post = (sig?: string) => {
        const r = request(RED.httpNode as never)
          .post('/os2forms/sp241')
          .set('content-type', 'application/json');
        return (sig === undefined ? r : r.set('X-Signature', sig)).send(body);
      };
      assert.equal((await post('0'.repeat(64))).status, 401);
      assert.equal((await post(hmacHex(body + ' ', SECRET))).status, 401);
      assert.equal((await post(hmacHex(body, 'other'))).status, 401);
      assert.equal((await post(SECRET)).status, 401);
      const missing = await post();
      assert.equal(missing.status, 401);
      assert.match(missing.body.error, /missing header x-signature/);
    });
  });

  it('without a secret there is no anonymous access: every request is refused', async function () {
    await helper.load(wrapper, flow(), {});
    const res = await request(RED.httpNode as never)
      .post('/os2forms/sp241')
      .set('content-type', 'application/json')
      .send('{"uuid":"0f8fad5b-d9cb-469f-a165-70867728950e","webform_id":"x"}');
    assert.equal(res.status, 503);
    assert.match(res.body.error, /no secret configured/);
  });

  it('a redeploy leaves exactly one route, and a removed node leaves none', async function () {
    await helper.load(wrapper, flow(), { w1: { secret: SECRET } });
    assert.equal(layersFor('/os2forms/sp241'), 1);
    await helper.setFlows(flow({ name: 'changed' }), 'full');
    assert.equal(layersFor('/os2forms/sp241'), 1);
    await helper.setFlows(flow({ name: 'changed again' }), 'nodes');
    assert.equal(layersFor('/os2forms/sp241'), 1);
    await helper.setFlows(flow({ path: '/other' }), 'full');
    assert.equal(layersFor('/os2forms/sp241'), 0);
    assert.equal(layersFor('/other'), 1);
    await helper.setFlows([{ id: 'out', type: 'helper' }], 'full');
    assert.equal(layersFor('/other'), 0);
  });

  describe('Node-RED HTTP settings', function () {
    afterEach(() => helper.settings({}));

    it('runs httpNodeMiddleware before the node (e.g. an IP allow-list)', async function () {
      helper.settings({
        httpNodeMiddleware: (req: { headers: Record<string, string> }, res: { status(n: number): { send(s: string): void } }, next: () => void) =>
          req.headers['x-allowed'] === 'yes' ? next() : res.status(403).send('blocked by middleware'),
      } as never);
      await helper.load(wrapper, flow(), { w1: { secret: SECRET } });
      const body = JSON.stringify({ uuid: '0f8fad5b-d9cb-469f-a165-70867728950e', webform_id: 'x' });
      const blocked = await request(RED.httpNode as never)
        .post('/os2forms/sp241')
        .set('x-webform-secret', SECRET)
        .set('content-type', 'application/json')
        .send(body);
      assert.equal(blocked.status, 403);
      assert.equal(blocked.text, 'blocked by middleware');
      await request(RED.httpNode as never)
        .post('/os2forms/sp241')
        .set('x-allowed', 'yes')
        .set('x-webform-secret', SECRET)
        .set('content-type', 'application/json')
        .send(body)
        .expect(202);
    });

    it('creates no route when httpNodeRoot is false, and says so in the status', async function () {
      helper.settings({ httpNodeRoot: false });
      await helper.load(wrapper, flow(), { w1: { secret: SECRET } });
      assert.equal(layersFor('/os2forms/sp241'), 0);
      const spy = (helper.getNode('w1') as unknown as { status: { args: [{ fill: string; text: string }][] } }).status;
      assert.deepEqual(spy.args.at(-1)![0], { fill: 'red', shape: 'ring', text: 'HTTP node server disabled' });
    });
  });

  describe('inside a Node-RED-like server (admin app with body parsers mounted first at the same root)', function () {
    let root: import('express').Express;
    const mounted = (r: NodeAPI) => {
      RED = r;
      // What node-red/red.js does: the admin app (parsing JSON and urlencoded bodies, 5 MB) and then the node app, both at '/'.
      const express = require('express') as typeof import('express');
      const bodyParser = require('body-parser') as typeof import('body-parser');
      root = express();
      const admin = express();
      admin.use(bodyParser.json({ limit: '5mb' }));
      admin.use(bodyParser.urlencoded({ limit: '5mb', extended: true }));
      root.use('/', admin);
      root.use('/', r.httpNode as never);
      return webformInNode(r);
    };

    it('still sees the raw body: HMAC verifies, bodies above the admin limit pass, and the hook goes on close', async function () {
      await helper.load(mounted, flow({ auth: 'hmac', hmacHeader: 'x-signature' }), { w1: { secret: SECRET } });
      const big = JSON.stringify({ ...sp241Body(), pad: 'æ'.repeat(3 * 1024 * 1024) }); // 6 MB of UTF-8
      const got = nextMessage();
      await request(root).post('/os2forms/sp241').set('x-signature', hmacHex(big, SECRET)).set('content-type', 'application/json').send(big).expect(202);
      assert.equal(((await got).payload.data.pad as string).length, 3 * 1024 * 1024);
      await request(root).post('/OS2forms/sp241/').set('x-signature', hmacHex('{}', SECRET)).set('content-type', 'application/json').send('{}').expect(400);
      await request(root)
        .post('/os2forms/sp241')
        .set('x-signature', hmacHex('{"a":1}', SECRET))
        .set('content-type', 'application/json')
        .send('{"a": 1}')
        .expect(401);
      const hooks = () =>
        (root as unknown as { _router: { stack: { handle: { name?: string } }[] } })._router.stack.filter((l) => l.handle.name === 'hook').length;
      assert.equal(hooks(), 1);
      await helper.setFlows(flow({ auth: 'hmac', hmacHeader: 'x-signature', name: 'again' }), 'full');
      assert.equal(hooks(), 1, 'a redeploy leaves one hook');
      await helper.setFlows([{ id: 'out', type: 'helper' }], 'full');
      assert.equal(hooks(), 0);
    });
  });
});
