/**
 * The outbox's worker: the delivery loop on top of a Ledger's durable work queue — what `fordeling out` needs to be exactly-once-ish and
 * resilient without keeping retries in memory:
 *
 *   createShipment (idempotent; queued in the same write: queueEntry + kick, or submit(id) after) → [claim with lease → bulkhead → breaker → timeout → send]
 *     → ok: attempt + state 'sent' (or what send returns) + leave the queue, in one write → onDelivered
 *     → transient: attempt + back in the queue at now + full-jitter backoff → onRetry
 *     → permanent or attempts used up: attempt + state 'dead-letter' + leave the queue → onDeadLetter (every attempt's error)
 *     → refused as a duplicate (`isDuplicateRefusal`): the platform has it from an earlier send whose answer was lost →
 *       state 'sent', back in the queue at now + `confirmWithinMs` → onDelivered; claimed again then while still 'sent'
 *       (no receipt came) → 'unconfirmed' → onUnconfirmed (an operator should look; never dead-lettered)
 *     → breaker open: no attempt spent; back in the queue when the breaker will let a probe through
 *     → a failed half-open probe is recorded but not counted against the shipment's attempts
 *
 * Several workers (processes/instances) may share one ledger: the claim lease makes each item go to one of them.
 * A worker killed mid-send leaves the lease to expire (PostgreSQL) or vanish on restart (file), and the item is sent
 * again with the same AnvenderTransaktionsID — at-least-once towards the platform, deduplicated by that id.
 */
import * as metrics from '../ops/metrics';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { BreakerOpenError, BreakerRegistry } from '../resilience/breaker';
import { Bulkhead } from '../resilience/bulkhead';
import { keepAliveClock } from '../resilience/clock';
import type { Clock } from '../resilience/clock';
import { classifyError, describeError } from '../resilience/errors';
import type { ErrorClass } from '../resilience/errors';
import { guardedCall } from '../resilience/index';
import { RETRY_DEFAULTS, nextRetryAt } from '../resilience/retry';
import type { AttemptRecord, Ledger, QueueEntry, ShipmentRecord, ShipmentState } from '../ledger/types';
import { Outbox, type ShipmentPatch } from './outbox';
import { DELIVERED } from './states';

export interface SendResult {
  distributionTransactionId?: string;
  response?: string;
  /** Default 'sent'. */
  state?: ShipmentState;
  /** Replaces the stored request (e.g. with its file contents removed now that the platform has them). */
  request?: string;
  meta?: Record<string, unknown>;
}

export interface DeliveryOptions {
  ledger: Ledger;
  /** Sends one shipment; must honour `signal` (per-call timeout, stop). Throw to fail (classified transient/permanent). */
  send: (shipment: ShipmentRecord, signal?: AbortSignal) => Promise<SendResult>;
  /** This worker's identity in the queue (default: a random id). */
  owner?: string;
  /**
   * The queue this worker serves (default 'default'). Give each fordeling-out node its own (e.g. its node id):
   * workers sharing a ledger then only claim what they themselves can send (right endpoint, certificate).
   */
  queue?: string;
  /** Total attempts per shipment (default 20), backoff base and cap (default 30 s, 1 h). */
  attempts?: number;
  baseMs?: number;
  capMs?: number;
  /** Per-call timeout (default 60 s; 0 = none). */
  timeoutMs?: number;
  /** Shipments sent at once by this worker (default 4). */
  concurrency?: number;
  /** Breakers, one per key; default one registry owned by the worker. */
  breakers?: BreakerRegistry;
  /** The breaker key of a shipment (the endpoint); default 'default'. */
  breakerKey?: (shipment: ShipmentRecord) => string;
  classify?: (err: unknown) => ErrorClass;
  /** How long a claim lasts (default 2 × timeout + 30 s). */
  leaseMs?: number;
  /** How often the queue is polled when idle (default 1 s). */
  pollMs?: number;
  clock?: Clock;
  random?: () => number;
  onDelivered?: (shipment: ShipmentRecord) => void;
  onRetry?: (shipment: ShipmentRecord, at: Date, error: string) => void;
  onDeadLetter?: (shipment: ShipmentRecord) => void;
  /**
   * Whether a permanent failure is the platform refusing an AnvenderTransaktionsID it already has (so an earlier
   * send arrived). Default: never.
   */
  isDuplicateRefusal?: (err: unknown) => boolean;
  /** After a duplicate refusal, how long to wait for a receipt before flagging the shipment 'unconfirmed' (default 1 h). */
  confirmWithinMs?: number;
  onUnconfirmed?: (shipment: ShipmentRecord) => void;
  /** Ledger or internal errors (the item stays queued and is retried). */
  onError?: (err: Error) => void;
}

/** `meta.duplicateRefusal` of a shipment the platform refused as a duplicate. */
export interface DuplicateRefusal {
  at: string;
  error: string;
}

export function duplicateRefusalOf(s: ShipmentRecord | undefined): DuplicateRefusal | undefined {
  const d = s?.meta?.duplicateRefusal as DuplicateRefusal | undefined;
  return d && typeof d.at === 'string' ? d : undefined;
}

/**
 * Whether a worker already reported this shipment as delivered: a send the platform accepted (an ok attempt) or refused
 * as a duplicate. Only a shipment a receipt moved on while it waited has not been reported yet.
 */
function reportedDelivered(s: ShipmentRecord): boolean {
  return !!duplicateRefusalOf(s) || s.attempts.some((a) => a.ok);
}

export class DeliveryWorker {
  readonly owner: string;
  readonly breakers: BreakerRegistry;
  private readonly bulkhead: Bulkhead;
  private readonly clock: Clock;
  private readonly o: DeliveryOptions;
  private readonly outbox: Outbox;
  private running = 0;
  private timer: unknown;
  private stopped = true;
  private ticking = false;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopController = new AbortController();

  constructor(options: DeliveryOptions) {
    this.o = options;
    this.outbox = new Outbox(options.ledger);
    this.owner = options.owner ?? `worker-${randomUUID()}`;
    this.clock = options.clock ?? keepAliveClock; // a started worker keeps the process alive until stopped
    setMaxListeners(0, this.stopController.signal); // one listener per call in flight
    this.breakers = options.breakers ?? new BreakerRegistry({ clock: this.clock });
    this.bulkhead = new Bulkhead({ concurrency: Math.max(1, options.concurrency ?? 4) });
  }

  get queue(): string {
    return this.o.queue ?? 'default';
  }

  /** Sends in progress in this worker. */
  get active(): number {
    return this.running;
  }

  private get leaseMs(): number {
    return this.o.leaseMs ?? 2 * (this.o.timeoutMs ?? 60_000) + 30_000;
  }

  /** Starts polling the queue (picking up what a previous run left). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick();
  }

  /**
   * Where a shipment about to be recorded goes to be sent now: this worker's queue (Outbox.open's `enqueue`, so it is
   * recorded and queued in one write). `kick` once it is stored.
   */
  queueEntry(): QueueEntry {
    return { queue: this.queue, notBefore: new Date(this.clock.now()) };
  }

  /** Queues a shipment for sending now and wakes the worker. The shipment must exist (createShipment first). */
  async submit(transactionId: string): Promise<void> {
    const { queue, notBefore } = this.queueEntry();
    await this.o.ledger.enqueue(transactionId, notBefore, queue);
    this.kick();
  }

  /** Puts a dead-lettered (or failed) shipment back in the queue with a fresh budget of attempts. */
  async resend(transactionId: string): Promise<void> {
    const s = await this.o.ledger.getShipment(transactionId, { bodies: false });
    if (!s) throw new Error(`No shipment with AnvenderTransaktionsID ${transactionId}`);
    const { moved, shipment } = await this.outbox.move(transactionId, 'queued', { meta: { ...s.meta, attemptBase: s.attempts.length } }, { onlyIfMoved: true });
    if (!moved) throw new Error(`Shipment ${transactionId} is ${shipment.state}; it cannot be queued again`);
    await this.submit(transactionId);
  }

  /** Stops claiming, aborts sends in progress (their items are retried later) and waits for them. */
  /**
   * Stops claiming. Sends in flight get up to `drainMs` (real time; default 0) to finish — a send cut off may have
   * reached the platform and would be repeated by whoever claims it next — and are then aborted (their shipments go
   * back to the queue, leases released, no attempt spent).
   */
  async stop(drainMs = 0): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (drainMs > 0 && this.inFlight.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise<void>((r) => (timer = setTimeout(r, drainMs)))]);
      clearTimeout(timer);
    }
    this.stopController.abort(Object.assign(new Error('Delivery stopped'), { transient: true }));
    await Promise.allSettled([...this.inFlight]);
  }

  /** Runs a claim round soon. */
  kick(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => void this.tick(), 0);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    this.ticking = true;
    this.again = false;
    try {
      const free = this.bulkhead.concurrency - this.running;
      if (free > 0) {
        const items = await this.o.ledger.claimDue(this.owner, free, this.leaseMs, new Date(this.clock.now()), this.queue);
        for (const item of items) this.track(this.process(item.transactionId));
        if (items.length === free) this.again = true;
      }
    } catch (err) {
      this.o.onError?.(err as Error);
    } finally {
      this.ticking = false;
    }
    if (this.stopped) return;
    if (this.again) this.kick();
    else this.timer = this.clock.setTimeout(() => void this.tick(), this.o.pollMs ?? 1000);
  }

  private track(p: Promise<void>): void {
    this.running++;
    this.inFlight.add(p);
    void p.finally(() => {
      this.running--;
      this.inFlight.delete(p);
      this.kick();
    });
  }

  private async process(transactionId: string): Promise<void> {
    const { ledger } = this.o;
    try {
      const shipment = await ledger.getShipment(transactionId);
      if (shipment?.state === 'sent' && duplicateRefusalOf(shipment)) {
        // refused as a duplicate and no receipt since: flag it for an operator
        const { shipment: flagged, moved } = await this.outbox.move(transactionId, 'unconfirmed');
        await ledger.release(transactionId, this.owner);
        if (moved) this.o.onUnconfirmed?.(flagged);
        return;
      }
      if (!shipment || DELIVERED.includes(shipment.state)) {
        await ledger.release(transactionId, this.owner); // nothing (more) to send
        // a receipt proved it arrived while it waited for a retry: that is its outcome — unless a send already reported
        // it (queued again by a second arrival of the same submission, perhaps on another instance)
        if (shipment && !reportedDelivered(shipment)) this.o.onDelivered?.(shipment);
        return;
      }
      await this.attempt(shipment);
    } catch (err) {
      // A ledger failure: leave the item leased; it is claimed again when the lease expires.
      this.o.onError?.(err as Error);
    }
  }

  private async attempt(shipment: ShipmentRecord): Promise<void> {
    const { ledger } = this.o;
    const t = shipment.transactionId;
    const breaker = this.breakers.get(this.o.breakerKey?.(shipment) ?? 'default');
    const started = this.clock.now();
    const claimed = await this.outbox.move(t, 'sending');
    if (!claimed.moved) {
      // delivered meanwhile (a receipt, or another worker after an expired lease): nothing to send; that is its outcome
      await ledger.release(t, this.owner);
      if (!reportedDelivered(claimed.shipment)) this.o.onDelivered?.(claimed.shipment);
      return;
    }
    const probing = breaker.state === 'half-open';
    let result: SendResult;
    try {
      result = await guardedCall((signal) => this.o.send(shipment, signal), {
        breaker,
        bulkhead: this.bulkhead,
        timeoutMs: this.o.timeoutMs ?? 60_000,
        signal: this.stopController.signal,
        clock: this.clock,
      });
    } catch (err) {
      return this.failed(shipment, breaker, probing, started, err);
    }
    // The platform has it. A ledger failure from here on must not turn that into a failure: the item stays leased,
    // is claimed again when the lease expires, and its send repeated under the same AnvenderTransaktionsID.
    let done: ShipmentRecord;
    try {
      const patch: ShipmentPatch = { lastError: undefined };
      if (result.distributionTransactionId) patch.distributionTransactionId = result.distributionTransactionId;
      if (result.response !== undefined) patch.response = result.response;
      if (result.request !== undefined) patch.request = result.request;
      if (result.meta) patch.meta = { ...shipment.meta, ...result.meta };
      const attempt: AttemptRecord = { at: new Date(started).toISOString(), ok: true, durationMs: this.clock.now() - started };
      // a receipt (maybe on another instance) may have moved the shipment on meanwhile: the table never moves it back
      // the attempt, the move and the queue item's release in one write (the embedded ledger: one transaction, so a
      // shipment is never 'sent' without its attempt, nor out of the queue without both; PostgreSQL: in that order)
      done = (await this.outbox.attemptAndMove(t, attempt, 'sent', patch, { owner: this.owner })).shipment;
    } catch (err) {
      this.o.onError?.(err as Error);
      return;
    }
    metrics.attempts.inc({ outcome: 'ok' });
    metrics.sendSeconds.observe(Math.max(0, (this.clock.now() - Date.parse(shipment.createdAt)) / 1000));
    this.o.onDelivered?.(done);
  }

  /** A send that failed: retried later, dead-lettered, or (a duplicate refusal) counted as sent. */
  private async failed(shipment: ShipmentRecord, breaker: ReturnType<BreakerRegistry['get']>, probing: boolean, started: number, err: unknown): Promise<void> {
    const { ledger } = this.o;
    const t = shipment.transactionId;
    {
      if (err instanceof BreakerOpenError || this.stopped) {
        // Not the shipment's fault: no attempt spent. Due again when the breaker lets a probe through.
        // Spread the waiting shipments out so they do not all rush in when it half-opens.
        const wait = Math.max(err instanceof BreakerOpenError ? err.retryAfterMs : 0, 1000);
        const at = new Date(this.clock.now() + wait + Math.floor((this.o.random ?? Math.random)() * Math.min(wait, 30_000) * 0.25));
        await this.outbox.move(t, 'queued');
        await ledger.release(t, this.owner, at);
        return;
      }
      if (this.o.isDuplicateRefusal?.(err)) {
        metrics.attempts.inc({ outcome: 'duplicate-refused' });
        return this.duplicateRefused(shipment, started, err);
      }
      const errorClass = (this.o.classify ?? classifyError)(err);
      metrics.attempts.inc({ outcome: errorClass === 'transient' ? 'transient' : 'permanent' });
      const attempt: AttemptRecord = {
        at: new Date(started).toISOString(),
        ok: false,
        errorClass,
        error: describeError(err),
        durationMs: this.clock.now() - started,
      };
      let after = await this.outbox.attempt(t, attempt);
      let base = typeof after.meta?.attemptBase === 'number' ? after.meta.attemptBase : 0;
      if (probing && errorClass === 'transient') {
        // A failed half-open probe says the platform is still down, not that this shipment is bad:
        // recorded, but not counted against its attempts (else one shipment would burn its budget on probes).
        base += 1;
        after = await this.outbox.note(t, { meta: { ...after.meta, attemptBase: base } });
      }
      const used = after.attempts.length - base;
      let at =
        errorClass === 'transient'
          ? nextRetryAt(
              Math.max(1, used),
              { attempts: this.o.attempts ?? RETRY_DEFAULTS.attempts, baseMs: this.o.baseMs, capMs: this.o.capMs, random: this.o.random },
              new Date(this.clock.now()),
            )
          : undefined;
      const reopenAt = breaker.retryAt;
      if (at && reopenAt !== undefined && reopenAt > at.getTime()) at = new Date(reopenAt); // no point before the breaker lets calls through
      if (at) {
        await this.outbox.move(t, 'queued', { lastError: attempt.error });
        await ledger.release(t, this.owner, at);
        this.o.onRetry?.(after, at, attempt.error!);
      } else {
        const { shipment: dead, moved } = await this.outbox.move(t, 'dead-letter', { lastError: attempt.error });
        await ledger.release(t, this.owner);
        // a receipt proved the shipment arrived meanwhile: that is its outcome, not a dead letter
        if (moved) this.o.onDeadLetter?.(dead);
        else this.o.onDelivered?.(dead);
      }
    }
  }

  /**
   * The platform refused the AnvenderTransaktionsID as one it already has: an earlier send arrived and only its answer
   * was lost. The shipment counts as sent and waits in the queue for a receipt until `confirmWithinMs`.
   */
  private async duplicateRefused(shipment: ShipmentRecord, started: number, err: unknown): Promise<void> {
    const t = shipment.transactionId;
    const error = describeError(err);
    await this.outbox.attempt(t, { at: new Date(started).toISOString(), ok: false, errorClass: 'permanent', error, durationMs: this.clock.now() - started });
    const refusal: DuplicateRefusal = { at: new Date(this.clock.now()).toISOString(), error };
    const { shipment: sent, moved } = await this.outbox.move(t, 'sent', { lastError: undefined, meta: { ...shipment.meta, duplicateRefusal: refusal } });
    if (moved) await this.o.ledger.release(t, this.owner, new Date(this.clock.now() + (this.o.confirmWithinMs ?? 3_600_000)));
    else await this.o.ledger.release(t, this.owner); // a receipt came first: nothing to wait for
    this.o.onDelivered?.(sent);
  }
}
