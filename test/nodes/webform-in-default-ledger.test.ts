// webform in (push) with NO ledger node, as a builder who configures nothing special gets it: a submission is stored in
// the default embedded ledger (under the Node-RED user directory) before the 202, and a store that cannot write makes
// it answer 503 with nothing emitted.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import request from 'supertest';
import webformInNode from '../../nodes/webform-in/webform-in';
import fordelingOutNode from '../../nodes/fordeling-out/fordeling-out';
import serviceplatformNode from '../../nodes/serviceplatform/serviceplatform';
import certificateNode from '../../nodes/certificate/certificate';
import { closeDefaultLedger, defaultLedger, defaultLedgerDir, useDefaultLedgerDir } from '../../lib/ledger/default-ledger';
import { openEmbedded } from '../../lib/ledger/embedded';

const SECRET = 'default-ledger-secret';

describe('webform in (push) without a ledger node: the default embedded ledger', function () {
  let userDir: string;
  let received: unknown[];
  let previous: string;

  const flow = (withFordeling: boolean) => [
    { id: 'w1', type: 'os2-webform-in', mode: 'push', path: '/default-ledger/in', auth: 'header', authHeader: 'X-Webform-Secret', wires: [['out']] },
    { id: 'out', type: 'helper' },
    // a delivering flow: a fordeling out exists (here never reached: the helper node swallows the message)
    ...(withFordeling ? [{ id: 'fo', type: 'os2-fordeling-out', wires: [[], []] }] : []),
  ];
  let RED: NodeAPI;
  const capture = (r: NodeAPI) => {
    RED = r;
    (webformInNode as unknown as (r: NodeAPI) => void)(r);
  };
  const load = async (withFordeling = true) => {
    await helper.load(
      [capture, fordelingOutNode, serviceplatformNode, certificateNode] as never,
      flow(withFordeling) as never,
      { w1: { secret: SECRET } } as never,
    );
    (helper.getNode('out') as unknown as NodeJS.EventEmitter).on('input', (m: unknown) => received.push(m));
  };
  const post = (uuid: string) =>
    request(RED.httpNode as never)
      .post('/default-ledger/in')
      .set('X-Webform-Secret', SECRET)
      .set('Content-Type', 'application/json')
      .send({ uuid, webform_id: 'default_ledger_form', navn: 'Test' });

  const settle = () => new Promise((r) => setTimeout(r, 100)); // messages reach the next node asynchronously

  beforeEach(async () => {
    received = [];
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webform-in-default-ledger-'));
    // this test, unlike the rest of the suite, uses the real rule: <userDir>/os2-ledger
    previous = defaultLedgerDir(undefined);
    await closeDefaultLedger();
    useDefaultLedgerDir(undefined);
    helper.settings({ userDir });
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    await closeDefaultLedger();
    useDefaultLedgerDir(previous);
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('stores the submission in <userDir>/os2-ledger before answering 202, and it survives the node being redeployed', async () => {
    await load();
    const uuid = '0d6c2b9e-1111-4222-8333-000000000001';
    await post(uuid).expect(202);
    await settle();
    assert.equal(received.length, 1);
    assert.ok(fs.existsSync(path.join(userDir, 'os2-ledger', 'ledger.db')), 'created on first use under the user directory');
    await helper.unload();
    await closeDefaultLedger(); // as a restart would
    const { ledger, release } = await openEmbedded(path.join(userDir, 'os2-ledger'));
    try {
      const pending = await ledger.pendingInbox();
      assert.equal(pending.length, 1, 'kept until fordeling out acknowledges it');
      assert.equal((pending[0]!.payload as { submission: { uuid: string } }).submission.uuid, uuid);
    } finally {
      await release();
    }
  });

  it('answers 503 and emits nothing when the store cannot write (full disk), and 202 again once it can', async () => {
    await load();
    await post('0d6c2b9e-1111-4222-8333-000000000002').expect(202);
    await settle();
    const shared = await openEmbedded(path.join(userDir, 'os2-ledger'));
    const db = (shared.ledger as unknown as { db: { pragma(s: string): unknown } }).db;
    try {
      db.pragma('max_page_count = 1'); // SQLite's page limit gives the SQLITE_FULL of a full file system
      received = [];
      const res = await post('0d6c2b9e-1111-4222-8333-000000000003').send({
        uuid: '0d6c2b9e-1111-4222-8333-000000000003',
        webform_id: 'default_ledger_form',
        big: 'x'.repeat(100_000),
      });
      assert.equal(res.status, 503);
      assert.match(res.text, /could not be stored; try again later/);
      await settle();
      assert.equal(received.length, 0, 'nothing passed on that was not stored');
      db.pragma('max_page_count = 1073741823');
      await post('0d6c2b9e-1111-4222-8333-000000000003').expect(202);
      await settle();
      assert.equal(received.length, 1);
    } finally {
      await shared.release();
    }
  });

  it('keeps no inbox for a flow that only receives (no fordeling out deployed), only what was passed on', async () => {
    await load(false);
    await post('0d6c2b9e-1111-4222-8333-000000000004').expect(202);
    await post('0d6c2b9e-1111-4222-8333-000000000004').expect(202); // a repeat: passed on once
    await settle();
    assert.equal(received.length, 1);
    const ledger = defaultLedger(userDir);
    assert.deepEqual(await ledger.pendingInbox(), [], 'no inbox entry');
    assert.ok(await ledger.getRecord('intake:default_ledger_form:0d6c2b9e-1111-4222-8333-000000000004'), 'the submission is known as passed on');
  });
});
