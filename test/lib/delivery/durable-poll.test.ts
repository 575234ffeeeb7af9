// DurableDelivery's watch over waiting messages: a shipment another instance (sharing the ledger) finished settles
// the messages waiting for it here, found by one read of all waiting shipments' states per poll.
import assert from 'node:assert/strict';
import { certificateSecurity } from '../../../lib/delivery/deliver';
import { DurableDelivery } from '../../../lib/delivery/durable-delivery';
import { DeliveryError } from '../../../lib/delivery/errors';
import type { SoapTransport } from '../../../lib/delivery/soap-transport';
import { MemoryLedger } from '../../../lib/ledger/memory-ledger';
import type { ShipmentRecord } from '../../../lib/ledger/types';
import { BreakerRegistry } from '../../../lib/resilience/breaker';

describe('lib/delivery DurableDelivery: waiting messages whose shipment was finished elsewhere', function () {
  this.timeout(10_000);

  it('settles them within a poll, reading the states of all waiting shipments at once', async () => {
    const ledger = new MemoryLedger();
    const reads = { states: 0, records: 0 };
    const shipmentStates = ledger.shipmentStates.bind(ledger);
    ledger.shipmentStates = (ids) => (reads.states++, shipmentStates(ids));
    const getShipment = ledger.getShipment.bind(ledger);
    ledger.getShipment = (t, o) => (reads.records++, getShipment(t, o));
    let retried = 0;
    const settled: Array<{ shipment: ShipmentRecord; waiters: string[] }> = [];
    // the platform is down here: every send fails and is retried in a minute
    const down = { post: async () => Promise.reject(new DeliveryError({ class: 'transient', code: 'HTTP_503', reason: 'down', errors: [] })) };
    const durable = new DurableDelivery<string>({
      ledger,
      context: () => ({
        endpoint: { baseUrl: 'https://sp.invalid', senderCvr: '12345678', senderSystemUuid: 'a0b1c2d3-0000-4000-8000-000000000001', timeoutMs: 1000 },
        transport: down as unknown as SoapTransport,
        security: certificateSecurity,
      }),
      owner: 'here',
      queue: 'q',
      baseMs: 60_000,
      breakers: new BreakerRegistry({ consecutiveFailures: 100 }),
      breakerKey: 'k',
      callbacks: {
        delivered: () => assert.fail('nothing is delivered here'),
        deadLetter: () => assert.fail('no dead letter'),
        failed: (e) => assert.fail(e.message),
        duplicate: () => assert.fail('no duplicate'),
        settledElsewhere: (shipment, waiters) => settled.push({ shipment, waiters }),
        retry: () => retried++,
      },
    });
    const ids = ['t1', 't2', 't3'];
    durable.start();
    try {
      for (const t of ids) {
        await durable.accept(t, async () => ({ request: '<x/>', ids: { transactionId: t, submissionId: t } }), `msg-${t}`);
      }
      const until = async (cond: () => boolean) => {
        for (const end = Date.now() + 5000; !cond(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) assert.fail('timed out');
      };
      await until(() => retried === ids.length);
      assert.equal(durable.waiting, 3);
      // another instance delivers t2 and dead-letters t3
      // (asked together: one commit, so no poll can fall between them)
      await Promise.all([
        ledger.updateShipment('t2', { state: 'sent', distributionTransactionId: 'd2' }),
        ledger.updateShipment('t3', { state: 'dead-letter' }),
      ]);
      reads.states = 0;
      reads.records = 0;
      await until(() => settled.length === 2);
      assert.deepEqual(settled.map((s) => [s.shipment.transactionId, s.shipment.state, s.waiters]).sort(), [
        ['t2', 'sent', ['msg-t2']],
        ['t3', 'dead-letter', ['msg-t3']],
      ]);
      assert.equal(durable.waiting, 1, 't1 still waits for its retry');
      assert.equal(reads.states, 1, 'one read of the waiting states');
      assert.equal(reads.records, 2, 'a record only for each finished shipment');
    } finally {
      await durable.stop();
      await ledger.close();
    }
  });
});
