// webform in, fetch mode with a ledger: the cursor of emitted submissions lives in the ledger (not in os2-state/).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import webformInNode from '../../nodes/webform-in/webform-in';
import siteNode from '../../nodes/os2forms-site/os2forms-site';
import ledgerNode from '../../nodes/ledger/ledger';
import type { Ledger } from '../../lib/ledger/types';
import { openEmbedded } from '../../lib/ledger/embedded';
import { FakeOs2formsApi } from '../support/os2forms-api';

const API_KEY = 'ledger-test-key-0123456789';
const WEBFORM = 'ledger_cursor_test';

describe('webform in (fetch) with a ledger', function () {
  let api: FakeOs2formsApi;
  let userDir: string;
  let received: Array<{ submissionId: string }>;

  const flow = () => [
    { id: 's1', type: 'os2-os2forms-site', name: 'site', baseUrl: api.baseUrl, timeout: 2 },
    { id: 'L', type: 'os2-ledger', backend: 'embedded', path: path.join(userDir, 'ledger'), retentionDays: '0' },
    { id: 'w1', type: 'os2-webform-in', mode: 'fetch', site: 's1', webformId: WEBFORM, interval: 0.1, ledger: 'L', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];
  const load = async () => {
    await helper.load([webformInNode, siteNode, ledgerNode], flow() as never, { s1: { apiKey: API_KEY } } as never);
    (helper.getNode('out') as unknown as NodeJS.EventEmitter).on('input', (m: { submissionId: string }) => received.push(m));
  };
  const sub = (sid: number) => ({
    sid,
    uuid: `8e9e1f3a-1111-4222-8333-${sid.toString(16).padStart(12, '0')}`,
    created: 1763798400 + sid,
    completed: 1763798460 + sid,
    changed: 1763798460 + sid,
    langcode: 'da',
    data: { navn: `x${sid}` },
  });
  const wait = async (cond: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  beforeEach(async () => {
    received = [];
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webform-in-ledger-'));
    helper.settings({ userDir });
    api = await new FakeOs2formsApi(API_KEY).start();
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    await api.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('keeps the fetch cursor in the ledger: a restart emits only what is new', async function () {
    api.add(WEBFORM, sub(1) as never);
    api.add(WEBFORM, sub(2) as never);
    await load();
    await wait(() => received.length === 2);
    const ledger = (helper.getNode('L') as unknown as { ledger(): Ledger }).ledger();
    const cursor = (await ledger.getRecord(`webform-in:cursor:s1:${WEBFORM}`))?.value as { recent: Record<string, number> };
    assert.deepEqual(Object.keys(cursor.recent).sort(), ['1', '2']);
    assert.equal(fs.existsSync(path.join(userDir, 'os2-state')), false, 'no cursor file');
    await helper.unload();
    received = [];
    api.add(WEBFORM, sub(3) as never);
    await load();
    await wait(() => received.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      received.map((m) => m.submissionId),
      [sub(3).uuid],
    );
  });

  it('an upgrade passes on nothing the cursor of an earlier version recorded (a set of sids in the ledger)', async function () {
    api.add(WEBFORM, sub(1) as never);
    api.add(WEBFORM, sub(2) as never);
    // as the earlier version left it: sid 1 emitted, recorded in the cursor table; no cursor record, no intake record
    const old = await openEmbedded(path.join(userDir, 'ledger'));
    await old.ledger.addCursor(`webform-in:s1:${WEBFORM}`, 'sid:1');
    await old.release();
    await load();
    await wait(() => received.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      received.map((m) => m.submissionId),
      [sub(2).uuid],
    );
  });
});
