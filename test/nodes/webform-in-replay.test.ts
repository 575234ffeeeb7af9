// webform in, push mode, HMAC with a timestamp: the timestamp and the request target (path + ?operation=) are signed, a
// timestamp outside the window is refused, and a signed request is taken once — remembered in the ledger, so a replay
// is refused after a restart (embedded ledger) and by another instance (PostgreSQL). The signatures here are made with
// node:crypto, independently of the product's own functions.
import { strict as assert } from 'node:assert';
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express from 'express';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import request from 'supertest';
import webformInNode from '../../nodes/webform-in/webform-in';
import { closeDefaultLedger, defaultLedger } from '../../lib/ledger/default-ledger';
import { PgLedger } from '../../lib/ledger/pg-ledger';
import { IntakeCounts } from '../../lib/node-red/webform-intake';
import { type Res, pushHandler, pushSettings } from '../../lib/node-red/webform-push';
import { Intake } from '../../lib/webform/intake';
import { ReplayMemory } from '../../lib/webform/replay';
import { freshDefaultLedgerPerTest } from '../support/default-ledger';
import { type PostgresServer, startPostgres } from '../support/postgres';

const SECRET = 'replay-secret-æøå-0123456789';
const PATH = '/os2forms/replay';
const UUID = '6a1f0c2e-5b7d-4e8f-9a01-23456789abcd';

let RED: NodeAPI;
const wrapper = (r: NodeAPI) => {
  RED = r;
  return webformInNode(r);
};

const flow = (extra: Record<string, unknown> = {}) => [
  { id: 'w1', type: 'os2-webform-in', mode: 'push', path: PATH, auth: 'hmac', hmacHeader: 'X-Webform-Signature', wires: [['out'], ['changed']], ...extra },
  { id: 'out', type: 'helper' },
  { id: 'changed', type: 'helper' },
];

const bodyOf = (navn = 'Åse Ærø') => JSON.stringify({ uuid: UUID, webform_id: 'replay_form', sid: '12', navn });
const nowS = () => Math.floor(Date.now() / 1000);

/** The documented scheme: hex HMAC-SHA256 of `<timestamp>\n<path?query>\n<raw body>`. */
function sign(ts: number | string, target: string, body: string, secret = SECRET): string {
  return createHmac('sha256', secret).update(`${ts}\n${target}\n`).update(Buffer.from(body, 'utf8')).digest('hex');
}

interface Signed {
  target: string;
  body: string;
  ts?: number | string;
  sig: string;
}

function signed(operation = 'completed', ts: number = nowS(), body = bodyOf()): Signed {
  const target = `${PATH}?operation=${operation}`;
  return { target, body, ts, sig: sign(ts, target, body) };
}

function send(app: unknown, s: Signed, target = s.target) {
  const r = request(app as never)
    .post(target)
    .set('content-type', 'application/json')
    .set('x-webform-signature', `sha256=${s.sig}`);
  return (s.ts === undefined ? r : r.set('x-webform-timestamp', String(s.ts))).send(s.body);
}

describe('webform in (push): HMAC with a timestamp, replays refused', function () {
  let passed: unknown[];
  let changed: unknown[];
  const settle = () => new Promise((r) => setTimeout(r, 80));
  async function load(extra: Record<string, unknown> = {}): Promise<void> {
    await helper.load(wrapper, flow(extra), { w1: { secret: SECRET } });
    passed = [];
    changed = [];
    (helper.getNode('out') as unknown as NodeJS.EventEmitter).on('input', (m: unknown) => passed.push(m));
    (helper.getNode('changed') as unknown as NodeJS.EventEmitter).on('input', (m: unknown) => changed.push(m));
  }
  const statusSpy = () => (helper.getNode('w1') as unknown as { status: { args: [{ fill?: string; text?: string }][] } }).status;
  const warnSpy = () => (helper.getNode('w1') as unknown as { warn: { args: [string][] } }).warn;

  afterEach(() => helper.unload());
  freshDefaultLedgerPerTest();

  it('a signed, timestamped post is answered 202 and passed on once; the same request again is refused with 409 and goes nowhere', async function () {
    await load();
    const s = signed();
    const first = await send(RED.httpNode, s).expect(202);
    assert.deepEqual(first.body, { uuid: UUID, state: 'completed', outcome: 'passed on' });
    await settle();
    assert.equal(passed.length, 1);

    const again = await send(RED.httpNode, s).expect(409);
    assert.match(again.body.error, /replayed request/);
    assert.equal(again.text.trim().split('\n').length, 1, 'one line of JSON');
    await settle();
    assert.equal(passed.length + changed.length, 1, 'the replay is not passed on');
    assert.match(statusSpy().args.at(-1)![0].text ?? '', /1 passed, 0 drafts, 0 changed, 0 skipped/, 'and not counted as a new submission');

    // what the ledger keeps: a digest of the MAC as key, the expiry as value — no body, no MAC
    const mac = Buffer.from(s.sig, 'hex');
    const record = await defaultLedger().getRecord(`webform-in:replay:${createHash('sha256').update(mac).digest('hex')}`);
    assert.ok(record, 'remembered under a digest of the MAC');
    assert.deepEqual(Object.keys(record.value as object), ['expiresAt']);
    assert.equal((record.value as { expiresAt: string }).expiresAt, new Date(((s.ts as number) + 300) * 1000).toISOString());
  });

  it('a new post of the same submission (new timestamp, new signature) is taken, and the intake calls it a repeat', async function () {
    await load();
    await send(RED.httpNode, signed('completed', nowS() - 1)).expect(202);
    const repost = await send(RED.httpNode, signed('completed', nowS())).expect(202);
    assert.equal(repost.body.outcome, 'skipped: repeat');
    await settle();
    assert.equal(passed.length, 1);
  });

  it('401 for a timestamp outside the window (default ±300 s), either way; 202 just inside it', async function () {
    await load();
    for (const ts of [nowS() - 330, nowS() + 330]) {
      const res = await send(RED.httpNode, signed('completed', ts)).expect(401);
      assert.match(res.body.error, /timestamp in header x-webform-timestamp is \d+ s (old|in the future) \(allowed ±300 s\)/);
    }
    const malformed = { ...signed(), ts: '17e8' };
    malformed.sig = sign(malformed.ts, malformed.target, malformed.body);
    assert.match((await send(RED.httpNode, malformed).expect(401)).body.error, /not a time in Unix seconds/);
    await settle();
    assert.equal(passed.length, 0);
    await send(RED.httpNode, signed('completed', nowS() - 280)).expect(202);
  });

  it('the window and the timestamp header are configurable', async function () {
    await load({ hmacWindowS: 60, timestampHeader: 'X-Signed-At' });
    const old = signed('completed', nowS() - 90);
    const res = await request(RED.httpNode as never)
      .post(old.target)
      .set('content-type', 'application/json')
      .set('x-webform-signature', old.sig)
      .set('x-signed-at', String(old.ts))
      .send(old.body)
      .expect(401);
    assert.match(res.body.error, /x-signed-at .*allowed ±60 s/);
    const fresh = signed('completed', nowS() - 30);
    await request(RED.httpNode as never)
      .post(fresh.target)
      .set('content-type', 'application/json')
      .set('x-webform-signature', fresh.sig)
      .set('x-signed-at', String(fresh.ts))
      .send(fresh.body)
      .expect(202);
  });

  it('401 for the signed body sent with another ?operation= (or none), or to another path', async function () {
    await load();
    const s = signed('completed');
    for (const target of [`${PATH}?operation=deleted`, `${PATH}?operation=updated`, PATH, `${PATH}?operation=completed&x=1`]) {
      const res = await send(RED.httpNode, s, target).expect(401);
      assert.match(res.body.error, /wrong HMAC-SHA256 signature/);
    }
    // the same bytes, signed for another path, are not valid here either
    const elsewhere = { ...s, sig: sign(s.ts!, `/other?operation=completed`, s.body) };
    await send(RED.httpNode, elsewhere).expect(401);
    await settle();
    assert.equal(passed.length + changed.length, 0);
    await send(RED.httpNode, s).expect(202); // and the untouched request still works
  });

  it('Timestamp required: a signature without a timestamp is refused (401), even one of the old scheme', async function () {
    await load({ hmacTimestamp: 'required' });
    const body = bodyOf();
    const oldScheme = createHmac('sha256', SECRET).update(body).digest('hex');
    const res = await send(RED.httpNode, { target: `${PATH}?operation=completed`, body, sig: oldScheme }).expect(401);
    assert.match(res.body.error, /missing header x-webform-timestamp \(a timestamp is required\)/);
    await settle();
    assert.equal(passed.length, 0);
    await send(RED.httpNode, signed()).expect(202);
  });

  it('Timestamp optional (default, and a node saved before the setting): the old scheme is still accepted, with a warning that replay protection is off', async function () {
    await load(); // no hmacTimestamp, hmacWindowS or timestampHeader, as a node saved by an earlier version
    const body = bodyOf();
    const oldScheme = createHmac('sha256', SECRET).update(body).digest('hex');
    const s = { target: `${PATH}?operation=completed`, body, sig: oldScheme };
    assert.equal((await send(RED.httpNode, s).expect(202)).body.outcome, 'passed on');
    await settle();
    assert.equal(passed.length, 1);
    assert.equal(warnSpy().args.filter(([w]) => /without header x-webform-timestamp.*without replay protection/.test(w)).length, 1);
    const last = statusSpy().args.at(-1)![0];
    assert.equal(last.fill, 'yellow');
    assert.match(last.text ?? '', /no timestamp: replay protection off/);
    // a header with a timestamp is always checked with it: a body-only signature plus a fresh timestamp is refused
    await send(RED.httpNode, { ...s, ts: nowS() }).expect(401);
    await new Promise((r) => setTimeout(r, 300)); // past the status rate limit
    await send(RED.httpNode, signed('updated')).expect(202);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(statusSpy().args.at(-1)![0].fill, 'green', 'a timestamped request turns the status green again');
    assert.equal(warnSpy().args.length, 1, 'warned once');
  });

  it('a replay is refused after a restart: the flow loaded again on the same embedded ledger', async function () {
    await load();
    const s = signed();
    await send(RED.httpNode, s).expect(202);
    await settle();
    assert.equal(passed.length, 1);
    await helper.unload();
    await closeDefaultLedger(); // as a restart would: the next use opens the same directory again
    await load();
    const res = await send(RED.httpNode, s).expect(409);
    assert.match(res.body.error, /replayed request/);
    await settle();
    assert.equal(passed.length + changed.length, 0, 'nothing passed on after the restart');
    await send(RED.httpNode, signed('completed', nowS() + 1, bodyOf('Bo'))).expect(202); // a new request is taken
  });
});

describe('ReplayMemory', function () {
  freshDefaultLedgerPerTest();

  it('takes a MAC once until it expires; a request given back may come again', async function () {
    const memory = new ReplayMemory(defaultLedger());
    const mac = createHmac('sha256', 'k').update('x').digest();
    const until = new Date(Date.now() + 60_000);
    const claim = await memory.claim(mac, until);
    assert.ok(claim);
    assert.equal(await memory.claim(mac, until), undefined, 'seen');
    await claim.release();
    const again = await memory.claim(mac, until);
    assert.ok(again, 'given back: taken again');
    assert.equal(await memory.claim(mac, until), undefined);
    assert.ok(await memory.claim(mac, until, until.getTime() + 1), 'after its expiry the record is reused (the timestamp check refuses such a request anyway)');
  });
});

describe('webform in (push): two instances on one PostgreSQL ledger', function () {
  this.timeout(120_000);
  let server: PostgresServer | undefined;
  let ledgers: PgLedger[] = [];
  before(async () => {
    server = await startPostgres();
  });
  after(async () => server?.release());
  beforeEach(function () {
    if (!server) this.skip();
  });
  afterEach(async () => {
    await Promise.all(ledgers.map((l) => l.close()));
    ledgers = [];
  });

  /** One instance: the push route as webform-route.ts builds it, on its own express app and its own ledger connection. */
  function instance(ledger: PgLedger, passed: unknown[]) {
    const app = express();
    const handler = pushHandler({
      settings: pushSettings({ auth: 'hmac', hmacHeader: 'x-webform-signature' }),
      secret: SECRET,
      keepInbox: false,
      needsInbox: false,
      intake: new Intake(ledger),
      replay: new ReplayMemory(ledger),
      counts: new IntakeCounts(),
      out: { pass: (s) => passed.push(s), changed: (s) => passed.push(s), log: () => {} },
      accepted: () => {},
      storeFailed: (err) => assert.fail(err),
      error: (text) => assert.fail(text),
    });
    app.post(PATH, (req, res, next) => handler(req as IncomingMessage, res as unknown as Res, next));
    return app;
  }

  it('a request taken by one instance is refused by the other (409), also when both get it at the same moment', async function () {
    const schema = `replay_${process.pid}`;
    ledgers = await Promise.all([0, 1].map(() => PgLedger.open({ connectionString: server!.connectionString, schema, max: 4 })));
    const passedA: unknown[] = [];
    const passedB: unknown[] = [];
    const a = instance(ledgers[0]!, passedA);
    const b = instance(ledgers[1]!, passedB);

    const s = signed();
    await send(a, s).expect(202);
    assert.match((await send(b, s).expect(409)).body.error, /replayed request/);
    assert.equal(passedA.length + passedB.length, 1);

    for (let i = 0; i < 10; i++) {
      const t = signed('completed', nowS(), bodyOf(`samtidig ${i}`));
      const answers = (await Promise.all([send(a, t), send(b, t)])).map((r) => r.status).sort();
      assert.deepEqual(answers, [202, 409], `round ${i}: exactly one instance takes it`);
    }
  });
});
