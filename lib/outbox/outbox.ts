/**
 * The outbox: the one writer of a shipment's state, from "accepted for delivery" to its final state. The send path
 * (worker.ts, lib/delivery/durable-delivery.ts), the SFTP stage and both kinds of receipt all change a shipment through
 * it; the ledger only stores. Every move is checked against the state machine (states.ts) inside the ledger's own
 * write, so two instances sharing a PostgreSQL ledger cannot undo each other's moves. No Node-RED dependency.
 */
import type { Kvittering } from '../sf2900/receipts';
import type {
  AttemptRecord,
  Ledger,
  QueueEntry,
  QueueRelease,
  ReceiptRecord,
  ShipmentChange,
  ShipmentMove,
  ShipmentRecord,
  ShipmentState,
} from '../ledger/types';
import { canMove, statesBlocking } from './states';

/**
 * A change to a shipment as callers of the outbox make it: the ledger's ShipmentChange without the state (only moves
 * change it) and the attempts (appended with `attempt`).
 */
export type ShipmentPatch = Omit<ShipmentChange, 'state' | 'attempts'>;

/** What a receipt does: the state it leads to (moved only where the table allows) and other fields. */
export type ReceiptDecision = { to?: ShipmentState; patch?: ShipmentPatch } | undefined;

const REJECTED_CODES = new Set(['AFVIST', 'FEJLET']);

/** The state a Fordelingskomponent receipt leads to. */
export function stateForReceipt(r: Kvittering): ShipmentState {
  const code = (r.code ?? '').toUpperCase();
  if (REJECTED_CODES.has(code)) return 'rejected';
  if (/^teknisk$/i.test(r.type ?? '') || code === 'MODTAGET') return 'technically-received';
  return 'accepted';
}

/** A move to `to` as the ledger applies it: the state with the patch, kept where the state machine blocks it. */
function moveTo(to: ShipmentState, patch: ShipmentPatch, onlyIfMoved?: boolean): ShipmentMove {
  return { patch: { ...patch, state: to }, guard: { keepStateIf: statesBlocking(to), onlyIfMoved } };
}

export class Outbox {
  constructor(readonly ledger: Ledger) {}

  /**
   * Records a shipment taken in for delivery ('queued'), or one the SFTP stage starts on ('sending'); an existing
   * shipment with this AnvenderTransaktionsID is returned unchanged (`created: false`). With `enqueue`, a shipment
   * created is put in that work queue in the same write (Ledger.createShipment).
   */
  open(
    init: Omit<ShipmentRecord, 'createdAt' | 'updatedAt' | 'attempts' | 'state'> & { state: 'queued' | 'sending' },
    enqueue?: QueueEntry,
  ): Promise<{ created: boolean; shipment: ShipmentRecord }> {
    return this.ledger.createShipment(init, enqueue);
  }

  /**
   * Moves the shipment to `to` when the state machine allows it from the state it is in at that moment (decided in
   * the write itself); `patch` applies either way, or with `onlyIfMoved` only together with the move (a fresh try
   * must not overwrite a shipment that meanwhile was delivered). `moved` says whether the state is now `to`.
   */
  async move(
    transactionId: string,
    to: ShipmentState,
    patch: ShipmentPatch = {},
    options: { onlyIfMoved?: boolean } = {},
  ): Promise<{ shipment: ShipmentRecord; moved: boolean }> {
    const m = moveTo(to, patch, options.onlyIfMoved);
    const shipment = await this.ledger.updateShipment(transactionId, m.patch, m.guard);
    return { shipment, moved: shipment.state === to };
  }

  /** Changes fields other than the state (meta, bodies, errors). */
  note(transactionId: string, patch: ShipmentPatch): Promise<ShipmentRecord> {
    return this.ledger.updateShipment(transactionId, patch);
  }

  attempt(transactionId: string, attempt: AttemptRecord): Promise<ShipmentRecord> {
    return this.ledger.addAttempt(transactionId, attempt);
  }

  /**
   * Records an attempt and moves the shipment as `move` does, in one write where the ledger can (Ledger.addAttempt);
   * with `release`, the queue item `release.owner` holds leaves the queue in that write too.
   */
  async attemptAndMove(
    transactionId: string,
    attempt: AttemptRecord,
    to: ShipmentState,
    patch: ShipmentPatch = {},
    release?: QueueRelease,
  ): Promise<{ shipment: ShipmentRecord; moved: boolean }> {
    const shipment = await this.ledger.addAttempt(transactionId, attempt, moveTo(to, patch), release);
    return { shipment, moved: shipment.state === to };
  }

  /**
   * Stores a receipt and, in the same transaction, what it does to its shipment (`decide` sees the shipment as it is
   * inside that transaction). An exact duplicate (same fingerprint) is stored once and does nothing.
   */
  receipt(
    record: ReceiptRecord,
    decide: (current: ShipmentRecord) => ReceiptDecision,
  ): Promise<{ duplicate: boolean; receipt: ReceiptRecord; shipment?: ShipmentRecord }> {
    return this.ledger.addReceipt(record, (current) => {
      const d = decide(current);
      if (!d) return undefined;
      const patch: Partial<ShipmentRecord> = { ...d.patch };
      if (d.to && d.to !== current.state && canMove(current.state, d.to)) patch.state = d.to;
      return { patch, guard: patch.state ? { keepStateIf: statesBlocking(patch.state) } : undefined };
    });
  }
}
