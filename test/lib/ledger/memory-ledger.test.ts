import assert from 'node:assert/strict';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';

describe('MemoryLedger', () => {
  it('creates a shipment once per transaction id and keeps receipts without exact duplicates', async () => {
    const ledger = new MemoryLedger();
    const first = await ledger.createShipment({ transactionId: 't1', submissionId: 's1', state: 'queued' });
    const again = await ledger.createShipment({ transactionId: 't1', submissionId: 's1', state: 'queued' });
    assert.equal(first.created, true);
    assert.equal(again.created, false);
    await ledger.updateShipment('t1', { distributionTransactionId: 'd1', state: 'sent' });
    assert.equal((await ledger.findByDistributionId('d1'))?.transactionId, 't1');
    const r = { transactionId: 't1', type: 'Teknisk', code: 'MODTAGET', errors: [], receivedAt: new Date().toISOString(), fingerprint: 'f' };
    assert.equal((await ledger.addReceipt(r)).duplicate, false);
    assert.equal((await ledger.addReceipt(r)).duplicate, true);
    assert.equal((await ledger.listReceipts('t1')).length, 1);
  });
});
