/**
 * The shipment's state machine, written down once. Every state change goes through the outbox (outbox.ts), which
 * refuses a move this table does not allow — atomically, in the ledger's own write (see Ledger.updateShipment's
 * guard), so a late or repeated event on one instance can never undo what another wrote.
 *
 *   (new) ──▶ queued ──▶ sending ──▶ sent ──▶ technically-received ──▶ accepted ──▶ rejected
 *               ▲  ▲        │  │       │                 │                  (a Digital Post FEJLET after ACCEPTERET)
 *               │  └─retry──┘  │       └──▶ unconfirmed  └──▶ rejected
 *               │              ├──▶ dead-letter ──┐  (duplicate refusal, no receipts in time)
 *               └── resend ────┴──▶ failed ───────┘
 *   Receipts prove arrival: from any state before them they move a shipment to technically-received, accepted or
 *   rejected (a dead-lettered send whose first try arrived, a receipt before the response).
 */
import type { ShipmentState } from '../ledger/types';

export const ALL_STATES: readonly ShipmentState[] = [
  'received',
  'queued',
  'sending',
  'sent',
  'unconfirmed',
  'technically-received',
  'accepted',
  'rejected',
  'failed',
  'dead-letter',
];

const BY_RECEIPT: readonly ShipmentState[] = ['technically-received', 'accepted', 'rejected'];

/** Where a shipment may go from each state. Staying in a state is always allowed (it may update other fields). */
export const TRANSITIONS: Readonly<Record<ShipmentState, readonly ShipmentState[]>> = {
  received: ['queued', 'sending', 'failed'],
  // 'sent' from queued, failed and dead-letter: a send's success is a fact, even when another worker moved the
  // shipment meanwhile (a lease that expired under a slow call)
  queued: ['sending', 'sent', 'dead-letter', 'failed', ...BY_RECEIPT],
  sending: ['sent', 'queued', 'dead-letter', 'failed', ...BY_RECEIPT],
  sent: ['unconfirmed', ...BY_RECEIPT],
  unconfirmed: [...BY_RECEIPT],
  'technically-received': ['accepted', 'rejected'],
  accepted: ['rejected'],
  rejected: [],
  failed: ['queued', 'sending', 'sent', ...BY_RECEIPT],
  'dead-letter': ['queued', 'sending', 'sent', ...BY_RECEIPT],
};

export function canMove(from: ShipmentState, to: ShipmentState): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

const blocked = new Map<ShipmentState, readonly ShipmentState[]>();

/** The states from which `to` may not be reached: the ledger keeps the state when the shipment is in one of them. */
export function statesBlocking(to: ShipmentState): readonly ShipmentState[] {
  let b = blocked.get(to);
  if (!b) blocked.set(to, (b = ALL_STATES.filter((from) => !canMove(from, to))));
  return b;
}

/** Waiting for the platform or a retry: not finished, never purged. */
export const ACTIVE: readonly ShipmentState[] = ['received', 'queued', 'sending'];
/** The platform has it (a response or a receipt said so). */
export const DELIVERED: readonly ShipmentState[] = ['sent', 'unconfirmed', 'technically-received', 'accepted', 'rejected'];
/** What a resend may take back into the queue. */
export const RESENDABLE: readonly ShipmentState[] = ['dead-letter', 'failed'];
