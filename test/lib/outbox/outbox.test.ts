import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';
import type { ShipmentState } from '../../../lib/ledger/types';
import { Outbox, stateForReceipt } from '../../../lib/outbox/outbox';
import { ALL_STATES, TRANSITIONS, canMove } from '../../../lib/outbox/states';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    return e.isDirectory() ? sources(rel) : e.name.endsWith('.ts') ? [rel] : [];
  });
}

describe('lib/outbox: the one writer of shipment state', () => {
  it('no module but the outbox writes shipments (create, update, attempts, receipts); the ledger only stores', () => {
    const WRITES = /\.(createShipment|updateShipment|addAttempt|addReceipt)\s*\(/;
    const allowed = new Set(['lib/outbox/outbox.ts']);
    const offenders: string[] = [];
    for (const file of [...sources('lib'), ...sources('nodes'), ...sources('simulator')]) {
      if (allowed.has(file) || file.startsWith('lib/ledger/')) continue; // the ledger implements them
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      text.split('\n').forEach((line, i) => {
        if (WRITES.test(line) && !/^\s*(\*|\/\/)/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(offenders, []);
  });

  it('the table: final states stay final, receipts lift any state before them, nothing moves back', () => {
    assert.deepEqual(TRANSITIONS.rejected, []);
    assert.deepEqual(TRANSITIONS.accepted, ['rejected']);
    for (const from of ['queued', 'sending', 'sent', 'unconfirmed', 'failed', 'dead-letter'] as ShipmentState[]) {
      for (const to of ['technically-received', 'accepted', 'rejected'] as ShipmentState[]) assert.ok(canMove(from, to), `${from} → ${to}`);
    }
    for (const from of ['sent', 'technically-received', 'accepted', 'rejected', 'unconfirmed'] as ShipmentState[]) {
      for (const to of ['queued', 'sending', 'failed', 'dead-letter'] as ShipmentState[]) assert.ok(!canMove(from, to), `${from} ↛ ${to}`);
    }
    assert.ok(!canMove('technically-received', 'sent'));
    for (const s of ALL_STATES) assert.ok(canMove(s, s), 'staying is allowed');
  });

  it('enforces it in the write: a refused move keeps the state and applies the other fields; an allowed one moves', async () => {
    const ledger = new MemoryLedger();
    const outbox = new Outbox(ledger);
    await outbox.open({ transactionId: 't', submissionId: 's', state: 'queued' });
    assert.equal((await outbox.move('t', 'sending')).moved, true);
    assert.equal((await outbox.move('t', 'sent', { distributionTransactionId: 'd' })).moved, true);
    const back = await outbox.move('t', 'queued', { lastError: 'late retry' });
    assert.equal(back.moved, false);
    assert.equal(back.shipment.state, 'sent');
    assert.equal(back.shipment.lastError, 'late retry');
    const dead = await outbox.move('t', 'dead-letter');
    assert.equal(dead.moved, false, 'a sent shipment is never dead-lettered');
    await ledger.close();
  });

  it("receipts move a shipment by the table in the receipt's own transaction; a late Teknisk does not undo accepted", async () => {
    const ledger = new MemoryLedger();
    const outbox = new Outbox(ledger);
    await outbox.open({ transactionId: 't', submissionId: 's', state: 'queued' });
    const receipt = (fingerprint: string, type: string, code: string) => ({
      transactionId: 't',
      type,
      code,
      errors: [],
      receivedAt: new Date().toISOString(),
      fingerprint,
    });
    const decide = (type: string, code: string) => () => ({ to: stateForReceipt({ type, code, errors: [] }) });
    assert.equal((await outbox.receipt(receipt('f1', 'Forretning', 'ACCEPTERET'), decide('Forretning', 'ACCEPTERET'))).shipment?.state, 'accepted');
    assert.equal((await outbox.receipt(receipt('f2', 'Teknisk', 'MODTAGET'), decide('Teknisk', 'MODTAGET'))).shipment?.state, 'accepted');
    assert.equal((await outbox.receipt(receipt('f3', 'Digital post', 'FEJLET'), decide('Digital post', 'FEJLET'))).shipment?.state, 'rejected');
    assert.equal(
      (await outbox.receipt(receipt('f4', 'Forretning', 'ACCEPTERET'), decide('Forretning', 'ACCEPTERET'))).shipment?.state,
      'rejected',
      'rejected is final',
    );
    assert.equal((await ledger.listReceipts('t')).length, 4, 'every receipt is kept');
    await ledger.close();
  });
});
