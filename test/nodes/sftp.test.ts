// os2-sftp config node against a real OpenSSH sshd: connects with the pinned host key, one shared connection,
// closed on redeploy; "test connection" admin endpoint without secrets.
import { strict as assert } from 'node:assert';
import helper from 'node-red-node-test-helper';
import sftpNode from '../../nodes/sftp/sftp';
import type { SftpConfig } from '../../lib/sftp';
import { startSshd, sshdUnavailableReason, type SshdHandle } from '../support/sshd';

const skipReason = sshdUnavailableReason();

describe('sftp (config node)', function () {
  this.timeout(30_000);
  if (skipReason) {
    it.skip(`SKIPPED: ${skipReason}`);
    return;
  }
  let sshd: SshdHandle;
  before(async () => (sshd = await startSshd()));
  after(async () => sshd?.stop());
  afterEach(async () => helper.unload());

  const flow = (over: Record<string, unknown> = {}) => [
    {
      id: 'c1',
      type: 'os2-sftp',
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      outDir: 'OUT',
      inDir: 'IN',
      receiptTimeout: 30,
      pollInterval: 1,
      ...over,
    },
  ];
  const creds = () => ({ c1: { privateKey: sshd.privateKeyPem } });
  const cfg = () => helper.getNode('c1') as unknown as SftpConfig;
  const waitFor = async (cond: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    return cond();
  };

  it('exposes one shared connection that works, and closes it on redeploy', async () => {
    await helper.load(sftpNode, flow(), creds());
    assert.equal(cfg().configError, undefined);
    assert.deepEqual(cfg().folders, { out: 'OUT', in: 'IN', archive: undefined });
    assert.deepEqual(cfg().receipts, { intervalMs: 1000, timeoutMs: 30_000, disposal: 'archive' });
    const conn = cfg().connection();
    assert.equal(cfg().connection(), conn, 'the same connection for every caller');
    const names = await conn.run(async (c) => (await c.list('.')).map((f) => f.name).sort());
    assert.deepEqual(names, ['IN', 'OUT']);
    assert.ok(await waitFor(() => sshd.sessionCount() > 0), 'a session is open');
    await helper.unload();
    assert.ok(await waitFor(() => sshd.sessionCount() === 0), 'the session is closed after redeploy');
    await assert.rejects(
      conn.run((c) => c.list('.')),
      /closed/,
    );
  });

  it('reports a missing key or a malformed fingerprint as one clear line', async () => {
    await helper.load(sftpNode, flow(), {});
    assert.match(cfg().configError ?? '', /no private key/);
    assert.throws(() => cfg().connection(), /no private key/);
    await helper.unload();
    await helper.load(sftpNode, flow({ hostKeyFingerprint: 'MD5:aa:bb' }), creds());
    assert.match(cfg().configError ?? '', /fingerprint must be SHA256/);
  });

  it('test connection lists OUT and IN without returning secrets', async () => {
    await helper.load(sftpNode, flow(), creds());
    const res = await helper.request().post('/os2-sftp/c1/test').send({}).expect(200);
    assert.deepEqual(res.body, { ok: true, hostKeyFingerprint: sshd.hostKeyFingerprint, folders: { OUT: 0, IN: 0 } });
    assert.ok(!JSON.stringify(res.body).includes('PRIVATE KEY'));
    await helper.request().post('/os2-sftp/nope/test').send({}).expect(404);
  });

  it('test connection refuses a wrong host key, naming both fingerprints', async () => {
    const wrong = 'SHA256:' + 'B'.repeat(43);
    await helper.load(sftpNode, flow({ hostKeyFingerprint: wrong }), creds());
    const res = await helper.request().post('/os2-sftp/c1/test').send({}).expect(200);
    assert.equal(res.body.ok, false);
    assert.ok(res.body.error.includes(wrong) && res.body.error.includes(sshd.hostKeyFingerprint), res.body.error);
    assert.equal(res.body.presentedFingerprint, sshd.hostKeyFingerprint);
    assert.ok(!JSON.stringify(res.body).includes('PRIVATE KEY'));
  });
});
