// The SFTP stage's own rules, without a server: names, correlation ids, error classes, ledger state on failure.
import { strict as assert } from 'assert';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';
import { classifySftpError, filesOf, parseSendersFileId, sendersFileIdFor, sftpMetaOf, sftpPrepareFiles } from '../../../lib/delivery/sftp-files';
import type { DeliveryError } from '../../../lib/delivery/errors';
import { HostKeyMismatchError, SftpReceiptError } from '../../../lib/sftp';
import { dokument, formular } from '../sf2900/fixtures';

const TX = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';

describe('lib/delivery/sftp-files', () => {
  it('SendersFileId names the shipment and the file, and is read back', () => {
    assert.equal(sendersFileIdFor(TX, 3), `${TX}.3`);
    assert.deepEqual(parseSendersFileId(`${TX.toUpperCase()}.3`), { transactionId: TX, index: 3 });
    assert.equal(parseSendersFileId('drupal-file-uuid'), undefined);
    assert.equal(parseSendersFileId(undefined), undefined);
  });

  it("DOKUMENT's file counts once, also when the message was cloned between nodes", () => {
    const o = dokument();
    assert.equal(filesOf(o).length, 1);
    const cloned = JSON.parse(JSON.stringify(o));
    assert.equal(filesOf(cloned).length, 1);
    const bare = { ...o, files: [] };
    assert.deepEqual(filesOf(bare), [o.dokument!.file]);
    assert.deepEqual(filesOf(formular()), []);
  });

  it('classifies: error receipt permanent, missing receipt transient, host key permanent, bad file permanent', () => {
    const receipt = {
      kind: 'technical' as const,
      fileTransferUuid: 'x',
      success: false,
      errors: [{ code: 100, codeDescription: 'Invalid trigger', description: 'bad InfRef' }],
    };
    const e1 = classifySftpError(new SftpReceiptError('failed', 'f.pdf', receipt), 'f.pdf');
    assert.deepEqual([e1.class, e1.code, e1.errors], ['permanent', 'SFTP_ERROR_RECEIPT', [{ code: '100', text: 'Invalid trigger: bad InfRef' }]]);
    assert.match(e1.reason, /refused f\.pdf .*100 Invalid trigger: bad InfRef/);
    assert.deepEqual(
      [classifySftpError(new SftpReceiptError('none', 'f.pdf'), 'f.pdf').class, classifySftpError(new SftpReceiptError('none', 'f.pdf'), 'f.pdf').code],
      ['transient', 'SFTP_NO_RECEIPT'],
    );
    assert.equal(classifySftpError(new HostKeyMismatchError('SHA256:a', 'SHA256:b', 'h:22'), 'f').code, 'SFTP_HOST_KEY');
    assert.equal(classifySftpError(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }), 'f').class, 'permanent');
    assert.equal(classifySftpError(new Error('ECONNRESET'), 'f').class, 'transient');
  });

  it('refuses two files with one SFTP name before anything is recorded or uploaded', async () => {
    const ledger = new MemoryLedger();
    const sftp = {
      connection: () => assert.fail('no connection expected'),
      folders: { out: 'OUT', in: 'IN' },
      receipts: { intervalMs: 10, timeoutMs: 100, disposal: 'archive' as const },
      username: 'u',
    };
    const o = formular();
    o.fileSpecification = 'Bilag_1';
    o.files = [
      { name: 'a.pdf', content: Buffer.from('a'), sftpName: 'same.pdf' },
      { name: 'b.pdf', content: Buffer.from('b'), sftpName: 'same.pdf' },
    ];
    await assert.rejects(
      sftpPrepareFiles({ sftp, ledger })(o, { transactionId: TX }),
      (e: DeliveryError) => e.code === 'INVALID' && /same SFTP name same\.pdf/.test(e.reason),
    );
    assert.equal(await ledger.getShipment(TX), undefined);
  });

  it('a failure before any upload leaves the shipment failed (not stuck in sending), with the reason', async () => {
    const ledger = new MemoryLedger();
    const sftp = {
      connection: () => {
        throw new Error('sftp: the configuration was closed (redeployed)');
      },
      folders: { out: 'OUT', in: 'IN' },
      receipts: { intervalMs: 10, timeoutMs: 100, disposal: 'archive' as const },
      username: 'u',
    };
    const o = formular();
    o.fileSpecification = 'Bilag_1';
    o.files = [{ name: 'a.pdf', content: Buffer.from('a') }];
    await assert.rejects(sftpPrepareFiles({ sftp, ledger })(o, { transactionId: TX }), (e: DeliveryError) => e.class === 'transient');
    const s = await ledger.getShipment(TX);
    assert.equal(s?.state, 'failed');
    assert.match(s?.lastError ?? '', /configuration was closed/);
    assert.equal(s?.attempts.length, 1);
    assert.deepEqual(sftpMetaOf(s).files, []);
    await ledger.close();
  });
});
