/**
 * `npm start` with the simulator's SFTP side (a real sshd): the demo's FORMULAR attachments and the DOKUMENT demo's file
 * go by SFTP (upload, trigger, SUCCESS receipt) before FordelingsobjektAfsend — in a real Node-RED, not the test helper.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { sshdUnavailableReason } from '../support/sshd';
import { NpmStart } from '../support/node-red';

const skipReason = sshdUnavailableReason();

function post(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `npm start` for this suite (the shared harness), started before and disposed of after it. */
function startDemo(env: Record<string, string> = {}) {
  const demo = new NpmStart({ env, ready: /Stop with Ctrl\+C/ });
  before(() => demo.start());
  after(() => demo.dispose());
  const state = {
    get out() {
      return demo.out;
    },
    get port() {
      return demo.port;
    },
  };
  return {
    state,
    waitForOutput: (re: RegExp, ms: number) => demo.waitForOutput(re, ms),
    // No waiting and no retry: npm start announces the editor only once the demo flows (and their inject nodes) run.
    inject: (id: string) => post(`${demo.url}/inject/${id}`),
  };
}

describe('npm start with SFTP (real Node-RED + simulator + sshd)', function () {
  this.timeout(120_000);
  if (skipReason) {
    it.skip(`SKIPPED: ${skipReason}`);
    return;
  }
  const { state, waitForOutput, inject } = startDemo();

  it('announces the SFTP side and sends the demo attachments by SFTP before FordelingsobjektAfsend', async () => {
    const out = () => state.out;
    assert.match(out(), /SFTP \(sim, attachments\): sftp:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(out(), /\[error\].*os2-sftp/, 'every os2-sftp config node got its key and settings');
    assert.equal(await inject('d1a0000000000003'), 200);
    await waitForOutput(/sim: accepted FORMULAR/, 30_000);
    const receipts = [...out().matchAll(/\[sftp\] (os2forms_3f2c8e0a-\S+): SUCCESS/g)].map((m) => m[1]);
    assert.deepEqual(receipts.sort(), [
      'os2forms_3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c_0_overslag_briller.pdf',
      'os2forms_3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c_1_kvittering_aa.jpg',
    ]);
    assert.ok(out().indexOf('[sftp] os2forms_3f2c8e0a') < out().indexOf('sim: accepted FORMULAR'), 'the files went first');
  });

  it('the DOKUMENT demo uploads its file and sends DokumentFilNavn', async () => {
    assert.equal(await inject('e2a0000000000003'), 200);
    await waitForOutput(/sim: accepted DOKUMENT/, 30_000);
    assert.match(state.out, /\[sftp\] os2forms_8b2e1d4f-\S+_0_overslag_tandlaege\.pdf: SUCCESS/);
  });
});

describe('npm start without SFTP (OS2_DEMO_SFTP=0, as without an sshd)', function () {
  this.timeout(120_000);
  // Node-RED's log in English (its language follows LC_ALL / LANG), to find its "Started flows" line
  const { state, waitForOutput, inject } = startDemo({ OS2_DEMO_SFTP: '0', LC_ALL: 'en_US.UTF-8' });

  it('announces the editor only once the demo flows have started (after Node-RED says so; the readiness probe agrees)', async () => {
    const before = state.out.slice(0, state.out.indexOf('Node-RED editor:'));
    assert.match(before, /\[info\] Stopped flows/, "the demo flows' deploy stopped the flows of the start");
    assert.ok(
      before.lastIndexOf('[info] Started flows') > before.lastIndexOf('[info] Stopped flows'),
      `the deployed flows had started:\n${before.slice(-2000)}`,
    );
    const ready = (await (await fetch(`http://127.0.0.1:${state.port}/os2/ready`)).json()) as { checks: Array<{ name: string; ok: boolean }> };
    assert.deepEqual(
      ready.checks.find((c) => c.name === 'flows'),
      { name: 'flows', ok: true },
    );
    assert.doesNotMatch(state.out, /npm start: (the demo flows have not started|not ready yet)/);
  });

  it('says so, and the SP241 demo is still delivered, without attachments', async () => {
    assert.match(state.out, /SFTP: off \(no sshd found, or OS2_DEMO_SFTP=0\): the demo sends no attachments/);
    assert.equal(await inject('d1a0000000000003'), 200);
    await waitForOutput(/sim: accepted FORMULAR/, 30_000);
    assert.doesNotMatch(state.out, /\[sftp\] os2forms_/);
  });
});
