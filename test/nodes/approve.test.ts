// approve: a message waits in the ledger until a person decides on the approver's page (proxy login here; Node-RED's
// admin users in test/e2e/approve-scaleout.test.ts), or its deadline passes.
import { strict as assert } from 'node:assert';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import request from 'supertest';
import approveNode from '../../nodes/approve/approve';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import { freshDefaultLedgerPerTest } from '../support/default-ledger';

let RED: NodeAPI;
const wrapper = (r: NodeAPI) => {
  RED = r;
  return approveNode(r);
};
type Msg = Record<string, any>;

const FIELDS = 'Navn = payload.data.navn\nCPR-nummer = payload.data.cpr\n*Postnummer = payload.data.postnr ~ ^[0-9]{4}$';
function flow(extra: Record<string, unknown> = {}) {
  return [
    {
      id: 'a1',
      type: 'os2-approve',
      path: '/godkend',
      auth: 'proxy',
      userHeader: 'X-Remote-User',
      proxies: '127.0.0.1',
      fields: FIELDS,
      titleTemplate: 'Ansøgning fra {{payload.data.navn}}',
      wires: [['approved'], ['rejected'], ['expired'], ['reminder'], ['waiting']],
      ...extra,
    },
    ...['approved', 'rejected', 'expired', 'reminder', 'waiting'].map((id) => ({ id, type: 'helper' })),
  ];
}
const submission = (navn = 'Åse Sørensen') => ({
  payload: { data: { navn, cpr: '010170-1234', postnr: '8000' }, files: [{ name: 'lægeerklæring.pdf', size: 2048, content: Buffer.from('%PDF') }] },
});

describe('approve', function () {
  freshDefaultLedgerPerTest();
  let out: Record<string, Msg[]>;
  async function load(extra: Record<string, unknown> = {}): Promise<void> {
    await helper.load(wrapper, flow(extra));
    out = { approved: [], rejected: [], expired: [], reminder: [], waiting: [] };
    for (const id of Object.keys(out)) (helper.getNode(id) as unknown as NodeJS.EventEmitter).on('input', (m: Msg) => out[id]!.push(m));
  }
  afterEach(() => helper.unload());
  const until = async (what: string, cond: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const as = (user = 'sagsbehandler') => ({ 'x-remote-user': user, 'accept-language': 'da-DK,da;q=0.9' });
  async function arrive(navn?: string): Promise<Msg> {
    const n = out.waiting!.length;
    helper.getNode('a1').receive(submission(navn) as never);
    await until('the waiting output', () => out.waiting!.length > n);
    return out.waiting![n]!;
  }
  async function csrfOf(id: string, user = 'sagsbehandler'): Promise<string> {
    const page = await request(RED.httpNode as never)
      .get(`/godkend/item/${id}`)
      .set(as(user))
      .expect(200);
    return /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
  }
  const decide = (id: string, form: Record<string, string>, user = 'sagsbehandler') =>
    request(RED.httpNode as never)
      .post(`/godkend/item/${id}`)
      .set(as(user))
      .type('form')
      .send(form);

  it('a message waits (output 5 with the link) until approved on the page: output 1, the audit in the ledger', async function () {
    await load({ publicUrl: 'https://nodered.kommune.dk' });
    const w = await arrive();
    assert.equal(w.approval.state, 'waiting');
    assert.match(w.approval.link, /^https:\/\/nodered\.kommune\.dk\/godkend\/item\/[0-9a-f-]{36}$/);
    const list = await request(RED.httpNode as never)
      .get('/godkend/')
      .set(as())
      .expect(200);
    assert.match(list.text, /Ansøgning fra Åse Sørensen/);
    assert.match(list.headers['content-security-policy'], /default-src 'none'/);
    assert.equal(list.headers['x-frame-options'], 'DENY');
    const page = await request(RED.httpNode as never)
      .get(`/godkend/item/${w.approval.id}`)
      .set(as())
      .expect(200);
    assert.match(page.text, /lægeerklæring\.pdf \(2 KB\)/, 'attachments by name and size');
    assert.ok(!page.text.includes('010170-1234'), 'the CPR number is masked');
    assert.ok(!page.text.includes('%PDF'), 'no file contents');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
    await decide(w.approval.id, { csrf, decision: 'approve', reason: 'I orden', 'edit.Postnummer': '8000' }).expect(200);
    await until('output 1', () => out.approved!.length === 1);
    const a = out.approved[0]!;
    assert.equal(a.payload.data.cpr, '010170-1234', 'the message itself is unchanged');
    assert.ok(Buffer.isBuffer(a.payload.files[0].content), 'file contents come back as Buffers');
    assert.equal(a.approval.decidedBy, 'sagsbehandler');
    assert.equal(a.approval.reason, 'I orden');
    assert.equal(out.rejected!.length + out.expired!.length, 0);
    const audit = await defaultLedger().getApproval(w.approval.id);
    assert.equal(audit?.state, 'approved');
    assert.equal(audit?.decidedBy, 'sagsbehandler');
    assert.ok(audit?.emittedAt);
    // decided once: a second decision is refused
    await decide(w.approval.id, { csrf, decision: 'reject', reason: 'nej' }).expect(409);
  });

  it('a rejection needs a reason; rejected with one it leaves on output 2; a missing or malformed decision is never approval', async function () {
    await load();
    const w = await arrive();
    const csrf = await csrfOf(w.approval.id);
    await decide(w.approval.id, { csrf, decision: 'reject' }).expect(400);
    await decide(w.approval.id, { csrf }).expect(400);
    await decide(w.approval.id, { csrf, decision: 'yes' }).expect(400);
    await decide(w.approval.id, { csrf, decision: 'APPROVE' }).expect(400);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(out.approved!.length + out.rejected!.length, 0, 'still waiting');
    await decide(w.approval.id, { csrf, decision: 'reject', reason: 'Mangler dokumentation' }).expect(200);
    await until('output 2', () => out.rejected!.length === 1);
    assert.equal(out.rejected[0]!.approval.reason, 'Mangler dokumentation');
    assert.equal(out.approved!.length, 0);
  });

  it('corrections: only correctable fields, in the required form; applied to the message and recorded', async function () {
    await load();
    const w = await arrive();
    const csrf = await csrfOf(w.approval.id);
    assert.match((await decide(w.approval.id, { csrf, decision: 'approve', 'edit.Postnummer': '80' }).expect(400)).text, /required form/);
    assert.match((await decide(w.approval.id, { csrf, decision: 'approve', 'edit.Navn': 'Bob' }).expect(400)).text, /cannot be corrected/);
    await decide(w.approval.id, { csrf, decision: 'approve', 'edit.Postnummer': '8210' }).expect(200);
    await until('output 1', () => out.approved!.length === 1);
    assert.equal(out.approved[0]!.payload.data.postnr, '8210');
    assert.deepEqual(out.approved[0]!.approval.corrected, ['Postnummer']);
    assert.deepEqual((await defaultLedger().getApproval(w.approval.id))?.edits, { Postnummer: '8210' });
  });

  it('expires at the deadline (output 3) after one reminder (output 4); the page then refuses a decision', async function () {
    await load({ deadlineHours: 1.2 / 3600, remindHours: 0.8 / 3600, pollSeconds: 0.05 });
    const w = await arrive();
    await until('the reminder', () => out.reminder!.length === 1, 3000);
    assert.equal(out.reminder[0]!.topic, 'reminder');
    assert.equal(out.expired!.length, 0, 'the reminder comes before the deadline');
    await until('expiry', () => out.expired!.length === 1, 4000);
    assert.equal(out.expired[0]!.approval.state, 'expired');
    assert.equal(out.reminder!.length, 1, 'one reminder');
    assert.equal(out.approved!.length, 0);
    const page = await request(RED.httpNode as never)
      .get(`/godkend/item/${w.approval.id}`)
      .set(as())
      .expect(200);
    assert.match(page.text, /Afgjort: expired/);
  });

  it('survives a restart while waiting: the item is still listed and its decision leaves the new node', async function () {
    await load();
    const w = await arrive('Ib Ærø');
    await helper.unload();
    await load();
    const list = await request(RED.httpNode as never)
      .get('/godkend')
      .set(as())
      .expect(200);
    assert.match(list.text, /Ansøgning fra Ib Ærø/);
    await decide(w.approval.id, { csrf: await csrfOf(w.approval.id), decision: 'approve' }).expect(200);
    await until('output 1 after the restart', () => out.approved!.length === 1);
    assert.equal(out.approved[0]!.payload.data.navn, 'Ib Ærø');
  });

  it('bulk approve: the chosen items leave on output 1, the others keep waiting', async function () {
    await load();
    const ids = [(await arrive('A')).approval.id, (await arrive('B')).approval.id, (await arrive('C')).approval.id];
    const list = await request(RED.httpNode as never)
      .get('/godkend/')
      .set(as())
      .expect(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(list.text)![1]!;
    await request(RED.httpNode as never)
      .post('/godkend/bulk')
      .set(as())
      .type('form')
      .send(`csrf=${encodeURIComponent(csrf)}&decision=approve&ids=${ids[0]}&ids=${ids[2]}`)
      .expect(303);
    await until('two approvals', () => out.approved!.length === 2);
    assert.deepEqual(out.approved!.map((m) => m.payload.data.navn).sort(), ['A', 'C']);
    assert.equal(await defaultLedger().countApprovals({ state: 'waiting' }), 1);
  });

  it('refuses a forged user header from an address that is not the proxy, a request without a user, and a missing or foreign CSRF token', async function () {
    await load({ proxies: '10.9.9.9' });
    const w = await arrive();
    await request(RED.httpNode as never)
      .get('/godkend/')
      .set(as())
      .expect(403);
    await request(RED.httpNode as never)
      .post(`/godkend/item/${w.approval.id}`)
      .set(as())
      .type('form')
      .send({ decision: 'approve' })
      .expect(403);
    await helper.unload();
    await load();
    await request(RED.httpNode as never)
      .get('/godkend/')
      .expect(401);
    const csrf = await csrfOf(w.approval.id);
    await decide(w.approval.id, { decision: 'approve' }).expect(403);
    await decide(w.approval.id, { csrf: 'x'.repeat(43), decision: 'approve' }).expect(403);
    await decide(w.approval.id, { csrf: await csrfOf(w.approval.id, 'en-anden'), decision: 'approve' }).expect(403); // another user's token
    await request(RED.httpNode as never)
      .post(`/godkend/item/${w.approval.id}`)
      .set({ ...as(), origin: 'https://evil.example' })
      .type('form')
      .send({ csrf, decision: 'approve' })
      .expect(403);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(out.approved!.length, 0);
    assert.equal((await defaultLedger().getApproval(w.approval.id))?.state, 'waiting');
  });

  it('shows CPR numbers only when the builder allows it', async function () {
    await load({ showCpr: true });
    const w = await arrive();
    const page = await request(RED.httpNode as never)
      .get(`/godkend/item/${w.approval.id}`)
      .set(as())
      .expect(200);
    assert.match(page.text, /010170-1234/);
  });

  it('links, redirects and the decision link carry httpNodeRoot', async function () {
    helper.settings({ httpNodeRoot: '/noder/' });
    try {
      await load({ publicUrl: 'https://nodered.kommune.dk' });
      const w = await arrive();
      assert.match(w.approval.link, /^https:\/\/nodered\.kommune\.dk\/noder\/godkend\/item\//);
      const list = await request(RED.httpNode as never)
        .get('/godkend/')
        .set(as())
        .expect(200);
      assert.match(list.text, /href="\/noder\/godkend\/item\//);
      assert.match(list.text, /action="\/noder\/godkend\/bulk"/);
    } finally {
      helper.settings({});
    }
  });

  it("refuses to start with Node-RED's users as login when settings.js has no adminAuth (never anonymous)", async function () {
    await load({ auth: 'admin' });
    const node = helper.getNode('a1') as unknown as { error: { args: unknown[][] } };
    assert.match(String(node.error.args[0]?.[0]), /adminAuth/);
    await request(RED.httpNode as never)
      .get('/godkend/')
      .expect(404);
  });
});
