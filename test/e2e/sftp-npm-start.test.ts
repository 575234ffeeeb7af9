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
    inject: async (id: string) => {
      // npm start says it is ready when Node-RED listens; the flows (and their inject nodes) start right after
      let status = await post(`${demo.url}/inject/${id}`);
      for (let i = 0; status === 404 && i < 50; i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = await post(`${demo.url}/inject/${id}`);
      }
      return status;
    },
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
  const { state, waitForOutput, inject } = startDemo({ OS2_DEMO_SFTP: '0' });

  it('says so, and the SP241 demo is still delivered, without attachments', async () => {
    assert.match(state.out, /SFTP: off \(no sshd found, or OS2_DEMO_SFTP=0\): the demo sends no attachments/);
    assert.equal(await inject('d1a0000000000003'), 200);
    await waitForOutput(/sim: accepted FORMULAR/, 30_000);
    assert.doesNotMatch(state.out, /\[sftp\] os2forms_/);
  });
});
