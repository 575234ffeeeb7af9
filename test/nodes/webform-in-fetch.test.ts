// webform in, fetch mode: polls a local stand-in of the OS2forms REST API through an os2forms site config node.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import webformInNode from '../../nodes/webform-in/webform-in';
import siteNode from '../../nodes/os2forms-site/os2forms-site';
import type { Submission } from '../../lib/sf2900/model';
import { FakeOs2formsApi, type FakeSubmission } from '../support/os2forms-api';
import { freshDefaultLedgerPerTest } from '../support/default-ledger';
import { defaultLedger } from '../../lib/ledger/default-ledger';

const API_KEY = 'nøgle-0123456789abcdef'.replace('ø', 'o');
const WEBFORM = 'helbredstillaeg_sp241';

function sub(sid: number, extra: Partial<FakeSubmission> = {}): FakeSubmission {
  const hex = sid.toString(16).padStart(12, '0');
  return {
    sid,
    uuid: `7d9e1f3a-1111-4222-8333-${hex}`,
    created: 1763798400 + sid,
    completed: 1763798460 + sid,
    changed: 1763798460 + sid,
    langcode: 'da',
    data: { ansoeger_fornavn: 'Søren', ansoeger_efternavn: `Ærø ${sid}`, beloeb: String(1000 + sid) },
    ...extra,
  };
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('webform in (fetch)', function () {
  freshDefaultLedgerPerTest();
  let api: FakeOs2formsApi;
  let userDir: string;
  let received: { payload: Submission; submissionId: string }[];

  const flow = () => [
    { id: 's1', type: 'os2-os2forms-site', name: 'selvbetjening', baseUrl: api.baseUrl, timeout: 2 },
    { id: 'w1', type: 'os2-webform-in', mode: 'fetch', site: 's1', webformId: WEBFORM, interval: 0.1, wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];
  const listPolls = () => api.requests.filter((r) => r.path.endsWith('/submissions')).length;

  async function load(apiKey = API_KEY): Promise<void> {
    await helper.load([webformInNode, siteNode], flow(), { s1: { apiKey } });
    (helper.getNode('out') as unknown as NodeJS.EventEmitter).on('input', (msg: (typeof received)[number]) => received.push(msg));
  }
  /** Waits until `n` more list polls have completed. */
  async function polls(n: number): Promise<void> {
    const target = listPolls() + n;
    await waitFor(`${n} polls`, () => listPolls() >= target);
    await new Promise((r) => setTimeout(r, 30));
  }
  function lastStatus(): { fill?: string; text?: string } {
    const spy = (helper.getNode('w1') as unknown as { status: { args: [{ fill?: string; text?: string }][] } }).status;
    return spy.args[spy.args.length - 1]![0];
  }

  beforeEach(async function () {
    received = [];
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webform-in-fetch-'));
    helper.settings({ userDir });
    api = await new FakeOs2formsApi(API_KEY).start();
  });
  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await api.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('emits each new submission once, in order, with its files downloaded with the api-key', async function () {
    const pdf = Buffer.from('%PDF-1.4 overslag æøå', 'utf8');
    api.add(WEBFORM, sub(2, { files: [{ element: 'overslag', fid: '42', name: 'overslag æøå.pdf', mime: 'application/pdf', content: pdf }] }));
    api.add(WEBFORM, sub(1));
    await load();
    await waitFor('two submissions', () => received.length >= 2);
    await polls(3);
    assert.equal(received.length, 2, 'not re-emitted by later polls');
    assert.deepEqual(
      received.map((m) => m.payload.submission.sid),
      ['1', '2'],
    );
    const m = received[1]!;
    assert.equal(m.submissionId, '7d9e1f3a-1111-4222-8333-000000000002');
    assert.deepEqual(m.payload.webform, { id: WEBFORM });
    assert.deepEqual(m.payload.submission, {
      sid: '2',
      uuid: '7d9e1f3a-1111-4222-8333-000000000002',
      created: '2025-11-22T08:00:02.000Z',
      completed: '2025-11-22T08:01:02.000Z',
      changed: '2025-11-22T08:01:02.000Z',
      langcode: 'da',
      inDraft: false,
    });
    assert.deepEqual(m.payload.data, { ansoeger_fornavn: 'Søren', ansoeger_efternavn: 'Ærø 2', beloeb: '1002', overslag: ['42'] });
    assert.equal(m.payload.files.length, 1);
    const f = m.payload.files[0]!;
    assert.equal(f.element, 'overslag');
    assert.equal(f.name, 'overslag æøå.pdf');
    assert.equal(f.mime, 'application/pdf');
    assert.equal(f.size, pdf.length);
    assert.ok(f.content!.equals(pdf));
    assert.match(f.url!, /^http:\/\/127\.0\.0\.1:\d+\/system\/files\//);
    assert.ok(
      api.requests.every((r) => r.apiKey === API_KEY),
      'every request carries the api-key',
    );

    api.add(WEBFORM, sub(3));
    await waitFor('the third submission', () => received.length >= 3);
    await polls(2);
    assert.equal(received.length, 3);
    assert.equal(received[2]!.payload.submission.sid, '3');
    assert.match(lastStatus().text ?? '', /last poll \d\d:\d\d:\d\d/);
    // the cursor, in the ledger: the newest created time seen, and the sids inside the overlap window
    const cursor = (await defaultLedger().getRecord(`webform-in:cursor:s1:${WEBFORM}`))?.value as { hwm: number; recent: Record<string, number> };
    assert.equal(cursor.hwm, 1763798400 + 3);
    assert.deepEqual(Object.keys(cursor.recent).sort(), ['1', '2', '3']);
    const listed = api.requests.filter((r) => r.path.endsWith('/submissions'));
    assert.match(listed[listed.length - 1]!.query ?? '', /^starttime=2025-11-22T07%3A00%3A03%2B00%3A00$/, 'bounded: from the newest created − 60 min');
  });

  it('a draft is not passed on; completed later — when it is no longer listed — it is passed on once, with the completed data', async function () {
    api.add(WEBFORM, sub(1, { inDraft: true, completed: undefined, data: { navn: 'Kladde' } }));
    await load();
    await polls(3);
    assert.equal(received.length, 0, 'a draft is not passed on');
    assert.match(lastStatus().text ?? '', /0 passed, 1 drafts/);
    // a newer submission two days later moves the window on: the draft is no longer listed
    api.add(WEBFORM, sub(2, { created: 1763798400 + 2 * 86400 }));
    await waitFor('the newer submission', () => received.length >= 1);
    await polls(2);
    const listed = api.requests.filter((r) => r.path.endsWith('/submissions')).at(-1)!;
    assert.match(listed.query ?? '', /^starttime=2025-11-24T07/, 'the window starts after the draft was created');
    api.complete(WEBFORM, 1, { navn: 'Færdig' });
    await waitFor('the completed draft', () => received.length >= 2);
    await polls(3);
    assert.deepEqual(
      received.map((m) => [m.payload.submission.sid, m.payload.data.navn ?? m.payload.data.ansoeger_efternavn]),
      [
        ['2', 'Ærø 2'],
        ['1', 'Færdig'],
      ],
    );
    assert.equal(received.filter((m) => m.payload.submission.sid === '1').length, 1, 'once');
  });

  it('does not re-emit after a restart with the same userDir, and picks up what arrived meanwhile', async function () {
    api.add(WEBFORM, sub(1));
    api.add(WEBFORM, sub(2));
    await load();
    await waitFor('two submissions', () => received.length >= 2);
    await helper.unload();
    api.add(WEBFORM, sub(3)); // arrives while Node-RED is down
    received = [];
    await load();
    await waitFor('the submission that arrived while down', () => received.length >= 1);
    await polls(3);
    assert.deepEqual(
      received.map((m) => m.payload.submission.sid),
      ['3'],
    );
  });

  it('a server outage (HTTP 500, then closed connections) shows red and loses nothing after recovery', async function () {
    api.add(WEBFORM, sub(1));
    await load();
    await waitFor('first submission', () => received.length >= 1);
    api.mode = 'error500';
    api.add(WEBFORM, sub(2));
    await polls(2);
    assert.equal(lastStatus().fill, 'red');
    assert.match(lastStatus().text ?? '', /poll failed .*HTTP 500/);
    api.mode = 'reset';
    await polls(2);
    assert.equal(lastStatus().fill, 'red');
    assert.equal(received.length, 1);
    api.mode = 'ok';
    await waitFor('the submission added during the outage', () => received.length >= 2);
    await polls(2);
    assert.deepEqual(
      received.map((m) => m.payload.submission.sid),
      ['1', '2'],
    );
    assert.equal(lastStatus().fill, 'green');
  });

  it('a submission that fails to fetch is retried, not marked seen', async function () {
    api.add(WEBFORM, sub(1));
    api.mode = 'fail-submission-fetch';
    await load();
    await polls(3);
    assert.equal(received.length, 0);
    assert.match(lastStatus().text ?? '', /1 failed \(sid 1: .*HTTP 500/);
    api.mode = 'ok';
    await waitFor('the submission after recovery', () => received.length >= 1);
    await polls(2);
    assert.equal(received.length, 1);
  });

  it('a wrong API key shows a red status naming the problem and emits nothing', async function () {
    api.add(WEBFORM, sub(1));
    await load('wrong-key');
    await polls(2);
    assert.equal(received.length, 0);
    assert.equal(lastStatus().fill, 'red');
    assert.match(lastStatus().text ?? '', /HTTP 403/);
  });

  it('a redeploy keeps one poller, and closing stops polling', async function () {
    api.add(WEBFORM, sub(1));
    await load();
    await waitFor('first submission', () => received.length >= 1);
    await helper.setFlows(flow().map((n) => (n.id === 'w1' ? { ...n, name: 'renamed' } : n)) as never, 'full');
    (helper.getNode('out') as unknown as NodeJS.EventEmitter).on('input', (msg: (typeof received)[number]) => received.push(msg));
    const before = listPolls();
    await new Promise((r) => setTimeout(r, 1000));
    const rate = listPolls() - before;
    assert.ok(rate >= 3 && rate <= 12, `one poller at 0.1 s polls about 10 times a second, saw ${rate}`);
    assert.equal(received.length, 1, 'the redeployed node does not re-emit');
    await helper.unload();
    const after = api.requests.length;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(api.requests.length, after, 'no request after close');
  });

  it('polls never overlap', async function () {
    // A slow server: each answer takes longer than the interval.
    const slow = new FakeOs2formsApi(API_KEY);
    await slow.start();
    let inFlight = 0;
    let maxInFlight = 0;
    const orig = (slow as unknown as { handle: (req: unknown, res: { on: (e: string, f: () => void) => void }) => void }).handle.bind(slow);
    (slow as unknown as { handle: unknown }).handle = (req: unknown, res: { on: (e: string, f: () => void) => void }) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('finish', () => inFlight--);
      setTimeout(() => orig(req, res), 250);
    };
    slow.add(WEBFORM, sub(1));
    const saved = api;
    api = slow;
    try {
      await load();
      await waitFor('first submission', () => received.length >= 1, 5000);
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(maxInFlight, 1);
      assert.equal(received.length, 1);
    } finally {
      await helper.unload();
      await slow.stop();
      api = saved;
    }
  });
});
