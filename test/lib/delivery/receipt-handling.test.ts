import { strict as assert } from 'assert';
import { handleReceipt, receiptAuthenticator, receiptFingerprint } from '../../../lib/delivery/receipt-handling';
import { stateForReceipt } from '../../../lib/outbox/outbox';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';

const FP = 'AB:'.repeat(31) + 'AB';
const basic = (u: string, p: string): string => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');

describe('lib/delivery receipts', function () {
  describe('receiptAuthenticator', function () {
    it('requires at least one method', function () {
      assert.throws(() => receiptAuthenticator({}), /at least one way to authenticate/);
    });
    it('checks an IPv4/IPv6 allow-list with CIDR ranges (IPv4-mapped addresses too)', function () {
      const auth = receiptAuthenticator({ allow: ['10.0.0.0/8', '127.0.0.1', '2001:db8::/32'] });
      assert.deepEqual(auth({ remoteAddress: '10.1.2.3' }), { ok: true });
      assert.deepEqual(auth({ remoteAddress: '::ffff:127.0.0.1' }), { ok: true });
      assert.deepEqual(auth({ remoteAddress: '2001:db8::5' }), { ok: true });
      const r = auth({ remoteAddress: '192.168.1.1' });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.status, 403);
      assert.throws(() => receiptAuthenticator({ allow: ['10.0.0.0/99'] }), /Invalid CIDR/);
      assert.throws(() => receiptAuthenticator({ allow: ['not-an-ip'] }), /Invalid IP/);
    });
    it('checks pinned client-certificate fingerprints in any notation', function () {
      const auth = receiptAuthenticator({ fingerprints: [FP.replace(/:/g, '').toLowerCase()] });
      assert.deepEqual(auth({ peerFingerprint256: FP }), { ok: true });
      const none = auth({});
      assert.equal(!none.ok && none.status, 403);
      const other = auth({ peerFingerprint256: 'CD:'.repeat(31) + 'CD' });
      assert.equal(!other.ok && other.reason, 'client certificate not pinned');
      assert.throws(() => receiptAuthenticator({ fingerprints: ['ABCD'] }), /64 hex digits/);
    });
    it('checks basic auth (401) and requires every configured method', function () {
      const auth = receiptAuthenticator({ basic: { user: 'sp', password: 's3cret' }, allow: ['127.0.0.1'] });
      assert.deepEqual(auth({ remoteAddress: '127.0.0.1', authorization: basic('sp', 's3cret') }), { ok: true });
      const wrong = auth({ remoteAddress: '127.0.0.1', authorization: basic('sp', 'nope') });
      assert.equal(!wrong.ok && wrong.status, 401);
      const missing = auth({ remoteAddress: '127.0.0.1' });
      assert.equal(!missing.ok && missing.status, 401);
      const ip = auth({ remoteAddress: '10.0.0.1', authorization: basic('sp', 's3cret') });
      assert.equal(!ip.ok && ip.status, 403);
    });
  });

  describe('handleReceipt', function () {
    const tx = '0e2f0e7a-2d7e-5b1c-9f3a-1c2d3e4f5a6b';
    const teknisk = {
      transactionId: tx,
      distributionTransactionId: 'dd000000-0000-4000-8000-000000000001',
      receipt: { code: 'MODTAGET', type: 'Teknisk', errors: [] },
    };
    const accepted = { ...teknisk, receipt: { code: 'ACCEPTERET', type: 'Forretning', errors: [] } };

    it('correlates, stores, recognises an exact duplicate and moves the state forward only', async function () {
      const ledger = new MemoryLedger();
      await ledger.createShipment({ transactionId: tx, submissionId: 'sub-1', state: 'sending' });
      const a = await handleReceipt(ledger, teknisk);
      assert.equal(a.outcome, 'accepted');
      assert.equal(a.duplicate, false);
      assert.equal(a.shipment?.state, 'technically-received');
      assert.equal(a.shipment?.distributionTransactionId, teknisk.distributionTransactionId);
      const b = await handleReceipt(ledger, accepted);
      assert.equal(b.shipment?.state, 'accepted');
      const dup = await handleReceipt(ledger, { ...teknisk, receipt: { ...teknisk.receipt, type: ' Teknisk ' } });
      assert.equal(dup.duplicate, true, 'whitespace differences are the same receipt');
      assert.equal((await ledger.getShipment(tx))?.state, 'accepted', 'a late Teknisk does not move it back');
      assert.equal((await ledger.listReceipts(tx)).length, 2);
    });

    it('AFVIST/FEJLET are rejected; unknown shipments are "unknown" and still deduplicated', async function () {
      const ledger = new MemoryLedger();
      await ledger.createShipment({ transactionId: tx, submissionId: 'sub-1', state: 'sent' });
      const r = await handleReceipt(ledger, { ...teknisk, receipt: { code: 'AFVIST', type: 'Forretning', reason: 'Ingen modtager', errors: [] } });
      assert.equal(r.outcome, 'rejected');
      assert.equal(r.shipment?.state, 'rejected');
      const u = await handleReceipt(ledger, { ...teknisk, transactionId: '99999999-9999-4999-8999-999999999999', distributionTransactionId: undefined });
      assert.equal(u.outcome, 'unknown');
      assert.equal(
        (await handleReceipt(ledger, { ...teknisk, transactionId: '99999999-9999-4999-8999-999999999999', distributionTransactionId: undefined })).duplicate,
        true,
      );
    });

    it('falls back to the DistributionTransktionsID, and fingerprints differ for different receipts', async function () {
      const ledger = new MemoryLedger();
      await ledger.createShipment({
        transactionId: tx,
        submissionId: 'sub-1',
        state: 'sent',
        distributionTransactionId: 'dd000000-0000-4000-8000-000000000001',
      });
      const r = await handleReceipt(ledger, { ...teknisk, transactionId: 'ffffffff-ffff-4fff-8fff-ffffffffffff' });
      assert.equal(r.shipment?.transactionId, tx);
      assert.notEqual(receiptFingerprint(teknisk), receiptFingerprint(accepted));
      assert.equal(stateForReceipt({ code: 'AFLEVERET', type: 'Forretning', errors: [] }), 'accepted');
      assert.equal(stateForReceipt({ code: 'FEJLET', type: 'Teknisk', errors: [] }), 'rejected');
    });
  });
});
