import { strict as assert } from 'node:assert';
import { SftpReceiptPoller, type SftpReceiptPollerOptions } from '../../../lib/delivery/sftp-receipts';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';
import { SftpConnection, SftpConnectionError } from '../../../lib/sftp';

/** An SFTP configuration whose connection fails every operation with `err`. */
function failingSftp(err: Error): SftpReceiptPollerOptions['sftp'] {
  const conn = { run: async () => Promise.reject(err) } as unknown as SftpConnection;
  return { connection: () => conn, folders: { in: 'IN', out: 'OUT' } } as unknown as SftpReceiptPollerOptions['sftp'];
}

describe('SFTP receipt poller (lib/delivery/sftp-receipts.ts)', () => {
  const ledger = new MemoryLedger();
  const poller = (err: Error, errors: Error[]) =>
    new SftpReceiptPoller({ sftp: failingSftp(err), ledger: () => ledger, onReceipt: () => undefined, onError: (e) => errors.push(e) });

  it('reports a failing server, but not a connection its configuration closed (a redeploy)', async () => {
    const errors: Error[] = [];
    await poller(new Error('Permission denied'), errors).pollOnce();
    assert.deepEqual(
      errors.map((e) => e.message),
      ['Permission denied'],
    );
    // the real connection's own error once closed
    const closed = new SftpConnection({ host: '127.0.0.1', port: 1, username: 'x', privateKey: 'x', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` });
    await closed.close();
    const closedError = await closed
      .run(async () => undefined)
      .then(
        () => undefined,
        (e: Error) => e,
      );
    assert.ok(closedError instanceof SftpConnectionError, String(closedError));
    const quiet: Error[] = [];
    await poller(closedError, quiet).pollOnce();
    assert.deepEqual(quiet, []);
  });
});
