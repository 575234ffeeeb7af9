import assert from 'node:assert/strict';
import { exportChunks } from '../../../lib/ledger/export';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';
import type { Ledger, ShipmentFilter } from '../../../lib/ledger/types';

describe('ledger export, streamed', () => {
  let ledger: Ledger;
  beforeEach(async () => {
    ledger = new MemoryLedger();
    for (let i = 0; i < 7; i++) {
      await ledger.createShipment({ transactionId: `t${i}`, submissionId: `s${i} 010203-1234`, state: 'sent', request: '<big/>' });
      await new Promise((r) => setTimeout(r, 2));
    }
    await ledger.addReceipt({ transactionId: 't3', type: 'Teknisk', code: 'MODTAGET', errors: [], receivedAt: '2026-12-01T00:00:00.000Z', fingerprint: 'f' });
  });
  afterEach(() => ledger.close());

  /** The ledger, counting how many shipments one read asked for at most. */
  const counted = () => {
    const reads: ShipmentFilter[] = [];
    return {
      reads,
      source: { listShipments: (f?: ShipmentFilter) => (reads.push(f ?? {}), ledger.listShipments(f)), listReceipts: ledger.listReceipts.bind(ledger) },
    };
  };

  it('JSON: reads a page at a time and still gives one valid document with every shipment, CPR masked', async () => {
    const { reads, source } = counted();
    const chunks: string[] = [];
    for await (const c of exportChunks(source, 'json', {}, 3)) chunks.push(c);
    assert.deepEqual(
      reads.map((r) => [r.limit, r.offset]),
      [
        [3, 0],
        [3, 3],
        [3, 6],
      ],
    );
    const doc = JSON.parse(chunks.join(''));
    assert.deepEqual(
      doc.shipments.map((s: { transactionId: string }) => s.transactionId),
      ['t6', 't5', 't4', 't3', 't2', 't1', 't0'],
    );
    assert.equal(doc.shipments[3].receipts[0].code, 'MODTAGET');
    assert.doesNotMatch(chunks.join(''), /1234|<big/);
  });

  it('CSV: the header, then one row per shipment or receipt; an empty ledger gives the header and an empty list', async () => {
    const { source } = counted();
    let csv = '';
    for await (const c of exportChunks(source, 'csv', {}, 2)) csv += c;
    const lines = csv.trimEnd().split('\r\n');
    assert.equal(lines.length, 8);
    assert.match(lines[0], /^transactionId,/);
    const empty = new MemoryLedger();
    let json = '';
    for await (const c of exportChunks(empty, 'json')) json += c;
    assert.deepEqual(JSON.parse(json).shipments, []);
    await empty.close();
  });
});
