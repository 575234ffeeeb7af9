// npm start's SFTP side: sshd + watcher in one call, usable with the settings it hands out.
import assert from 'assert';
import { startSftpSimulator, type SftpSimulator } from '../../../simulator/sftp';
import { sshdUnavailableReason } from '../../support/sshd';
import { SftpConnection, safeSftpName, uploadWithTrigger } from '../../../lib/sftp';

const skipReason = sshdUnavailableReason();

describe('simulator/sftp startSftpSimulator', function () {
  this.timeout(30_000);
  if (skipReason) {
    it.skip(`SKIPPED: ${skipReason}`);
    return;
  }
  let sim: SftpSimulator | undefined;
  afterEach(async () => sim?.stop());

  it('answers an upload made with the settings it hands out, and stops cleanly', async () => {
    sim = await startSftpSimulator({ intervalMs: 20 });
    const s = sim.settings;
    const conn = new SftpConnection({ host: s.host, port: s.port, username: s.username, privateKey: s.privateKey, hostKeyFingerprint: s.hostKeyFingerprint });
    try {
      const r = await uploadWithTrigger(
        conn,
        { out: s.outDir, in: s.inDir },
        { source: Buffer.from('pdf'), sftpName: safeSftpName('5c1e0d2a-8f7b-4c3e-9a1d-2b3c4d5e6f70', 0, 'ansøgning.pdf') },
        {
          sender: s.username,
          infRef: 'Bilag_1',
          senderSystemUuid: 'a1b2c3d4-0000-4000-8000-000000000001',
          senderCvr: '29189846',
          transactionId: '0f6c5a3e-1111-4222-8333-444455556666',
          recipientCvr: '14814833',
        },
        { intervalMs: 50, timeoutMs: 10_000 },
      );
      assert.strictEqual(r.receipt.success, true);
      assert.strictEqual(sim.watcher.events.length, 1);
    } finally {
      await conn.close();
    }
    const sshd = sim.sshd;
    await sim.stop();
    sim = undefined;
    assert.strictEqual(sshd.sessionCount(), 0);
  });
});
