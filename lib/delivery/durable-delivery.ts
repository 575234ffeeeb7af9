/**
 * Durable, idempotent delivery for `fordeling out`: the ledger's work queue + DeliveryWorker (lib/ledger/delivery.ts)
 * around the FordelingsobjektAfsend call, plus the bookkeeping a Node-RED node needs — which waiting messages belong
 * to which shipment, acknowledging the push inbox once the shipment is recorded, and noticing shipments that another
 * instance (sharing a PostgreSQL ledger) finished. No Node-RED dependency.
 *
 *   accept(t) ── already delivered ───────────────────────────────▶ settledElsewhere (no second output)
 *            ── queued / sending (here or elsewhere) ─▶ enqueue (a lease is never taken away) ─▶ wait
 *            ── new, failed, dead-letter ─▶ prepare (files, serialise) ─▶ createShipment 'queued' ─▶ enqueue ─▶ wait
 *   worker: claim ─▶ bulkhead ─▶ breaker ─▶ timeout ─▶ sendAfsend ─▶ delivered | retry later | deadLetter
 */
import { BreakerRegistry, type BreakerOptions } from '../resilience/breaker';
import { DeliveryWorker } from '../outbox/worker';
export { duplicateRefusalOf } from '../outbox/worker';
import { Outbox } from '../outbox/outbox';
import { ACTIVE, DELIVERED, RESENDABLE } from '../outbox/states';
import { ackInboxEverywhere } from '../ledger/inbox-registry';
import type { Ledger, ShipmentRecord, ShipmentState } from '../ledger/types';
import type { Kvittering } from '../sf2900/receipts';
import { fileContentsRemoved, withoutFileContents } from '../sf2900/file-contents';
import { sendAfsend, type DeliveryContext, type ShipmentIds } from './deliver';
import { DeliveryError } from './errors';

/** Defaults fit for a platform that may be down for hours (≈ 13 h of ceilings, see lib/ledger/README.md). */
export const DURABLE_DEFAULTS = {
  attempts: 20,
  baseMs: 30_000,
  capMs: 3_600_000,
  concurrency: 4,
  breakerFailures: 5,
  breakerOpenMs: 30_000,
  confirmWithinMs: 3_600_000,
} as const;

/**
 * How a refusal of an AnvenderTransaktionsID the platform already has is recognised. Whether and how the real platform
 * refuses a repeated id is not documented (../shared/docs/sf2900.md, "Idempotency"); these match the SOAP fault's
 * error codes and texts of such a refusal and can be changed per fordeling out node.
 */
export const DUPLICATE_REFUSAL_DEFAULT = /DUPLIKAT|DUBLET|DUPLICATE|allerede (er )?(modtaget|registreret)|already (been )?(received|registered)/i;

/** Whether a failure is a duplicate refusal by `pattern` (on its code, reason and the platform's error list). */
export function isDuplicateRefusal(err: unknown, pattern: RegExp = DUPLICATE_REFUSAL_DEFAULT): boolean {
  if (!(err instanceof DeliveryError) || err.class !== 'permanent') return false;
  return [err.code, err.reason, ...err.errors.flatMap((e) => [e.code, e.text])].some((text) => pattern.test(String(text ?? '')));
}

const registries = new WeakMap<object, Map<string, BreakerRegistry>>();

/**
 * The breaker registry of a serviceplatform configuration (`owner`, the config node instance) for these settings:
 * nodes using the same configuration and breaker settings share one breaker per endpoint. A redeployed
 * configuration is a new instance, so its breakers start closed.
 */
export function sharedBreakers(owner: object, opts: Pick<BreakerOptions, 'consecutiveFailures' | 'openMs'>): BreakerRegistry {
  const key = `${opts.consecutiveFailures ?? ''}|${opts.openMs ?? ''}`;
  let byKey = registries.get(owner);
  if (!byKey) registries.set(owner, (byKey = new Map()));
  let r = byKey.get(key);
  if (!r) {
    r = new BreakerRegistry({ consecutiveFailures: opts.consecutiveFailures, openMs: opts.openMs });
    r.setMaxListeners(0);
    byKey.set(key, r);
  }
  return r;
}

export interface DurableCallbacks<W> {
  /** The platform accepted the shipment; `waiters` are the messages waiting for it here (none: recovered after a restart). */
  delivered(shipment: ShipmentRecord, receipt: Kvittering | undefined, waiters: W[]): void;
  /** Refused as a duplicate, and no receipt within `confirmWithinMs`: an operator should look (no waiters: long settled). */
  unconfirmed?(shipment: ShipmentRecord): void;
  /** Attempts used up, or a permanent failure: every attempt's error is in `shipment.attempts`. */
  deadLetter(shipment: ShipmentRecord, error: DeliveryError, waiters: W[]): void;
  /** Preparing or recording failed (nothing queued), e.g. bad input, an SFTP error receipt, a ledger error. */
  failed(error: DeliveryError, waiters: W[]): void;
  /**
   * The same submission through the same target again, when its shipment is already delivered: nothing is sent
   * again, and the message says so.
   */
  duplicate(shipment: ShipmentRecord, waiters: W[]): void;
  /** A waiting shipment another instance (sharing the ledger) finished: that instance reports the outcome. */
  settledElsewhere(shipment: ShipmentRecord, waiters: W[]): void;
  retry?(shipment: ShipmentRecord, at: Date, error: string): void;
  /** Queued (or joined a queued shipment). */
  queued?(transactionId: string): void;
  /** Ledger or internal problems (the work stays queued). */
  error?(err: Error): void;
}

export interface DurableDeliveryOptions<W> {
  ledger: Ledger;
  /** Endpoint, transport and security model for one call; throws Error(one line) when the configuration is unusable. */
  context: () => Pick<DeliveryContext, 'endpoint' | 'transport' | 'security'>;
  owner: string;
  queue: string;
  attempts?: number;
  baseMs?: number;
  capMs?: number;
  timeoutMs?: number;
  concurrency?: number;
  breakers: BreakerRegistry;
  breakerKey: string;
  pollMs?: number;
  /** Recognises the platform refusing a repeated AnvenderTransaktionsID (default DUPLICATE_REFUSAL_DEFAULT). */
  duplicateRefusal?: RegExp;
  /** After a duplicate refusal, how long to wait for a receipt before the shipment is flagged unconfirmed. */
  confirmWithinMs?: number;
  /**
   * When the push inbox entries are acknowledged: once the shipment is queued (default; the queue is durable), or only
   * once it is delivered / dead-lettered (an in-memory ledger, whose queue a restart would lose).
   */
  ackInboxOn?: 'queued' | 'settled';
  callbacks: DurableCallbacks<W>;
}

export class DurableDelivery<W> {
  readonly worker: DeliveryWorker;
  private readonly outbox: Outbox;
  private readonly waiters = new Map<string, W[]>();
  /** accept()/resend() in progress per transaction id (the poll leaves these alone). */
  private readonly busy = new Map<string, number>();
  private readonly generation = new Map<string, number>();
  /** Shipments this worker is sending right now (their outcome comes from the worker, not the poll). */
  private readonly sendingHere = new Set<string>();
  private readonly receipts = new Map<string, Kvittering>();
  private readonly lastErrors = new Map<string, DeliveryError>();
  /** Inbox entries to acknowledge when the shipment settles (ackInboxOn 'settled'). */
  private readonly unacked = new Map<string, Set<string>>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;

  constructor(private readonly o: DurableDeliveryOptions<W>) {
    const cb = o.callbacks;
    this.outbox = new Outbox(o.ledger);
    this.worker = new DeliveryWorker({
      ledger: o.ledger,
      owner: o.owner,
      queue: o.queue,
      attempts: o.attempts ?? DURABLE_DEFAULTS.attempts,
      baseMs: o.baseMs ?? DURABLE_DEFAULTS.baseMs,
      capMs: o.capMs ?? DURABLE_DEFAULTS.capMs,
      timeoutMs: o.timeoutMs,
      concurrency: o.concurrency ?? DURABLE_DEFAULTS.concurrency,
      breakers: o.breakers,
      breakerKey: () => o.breakerKey,
      pollMs: o.pollMs,
      send: (s) => this.sendOne(s),
      isDuplicateRefusal: (err) => isDuplicateRefusal(err, o.duplicateRefusal),
      confirmWithinMs: o.confirmWithinMs ?? DURABLE_DEFAULTS.confirmWithinMs,
      onUnconfirmed: (s) => cb.unconfirmed?.(s),
      onDelivered: (s) => {
        this.sendingHere.delete(s.transactionId);
        this.lastErrors.delete(s.transactionId);
        const receipt = this.receipts.get(s.transactionId);
        this.receipts.delete(s.transactionId);
        cb.delivered(s, receipt, this.take(s.transactionId));
      },
      onRetry: (s, at, error) => {
        this.sendingHere.delete(s.transactionId);
        cb.retry?.(s, at, error);
      },
      onDeadLetter: (s) => {
        this.sendingHere.delete(s.transactionId);
        const last =
          this.lastErrors.get(s.transactionId) ??
          new DeliveryError({ class: 'permanent', code: 'FAILED', reason: s.lastError ?? 'delivery failed', errors: [] });
        this.lastErrors.delete(s.transactionId);
        cb.deadLetter(s, last, this.take(s.transactionId));
      },
      onError: (err) => cb.error?.(err),
    });
  }

  /** Starts sending what is due (including what a previous run left in the queue) and watching waiting shipments. */
  start(): void {
    this.stopped = false;
    void this.requeueOrphans().finally(() => {
      if (!this.stopped) this.worker.start();
    });
    this.pollTimer = setInterval(() => void this.poll(), 1000);
    this.pollTimer.unref();
  }

  /**
   * Shipments of this queue recorded as queued/sending but missing from the work queue (a crash between recording and
   * queueing) are queued again, so nothing recorded is left behind even without a push inbox to replay it.
   */
  private async requeueOrphans(): Promise<void> {
    try {
      const { ledger } = this.o;
      const queued = new Set((await ledger.listQueue()).map((w) => w.transactionId));
      for (const state of ['queued', 'sending'] as const) {
        for (const s of await ledger.listShipments({ state, includeBodies: true })) {
          if (s.meta?.node === this.o.queue && s.request && !queued.has(s.transactionId)) await ledger.enqueue(s.transactionId, undefined, this.o.queue);
        }
      }
    } catch (err) {
      this.o.callbacks.error?.(err as Error);
    }
  }

  /** Stops; sends in flight get up to `drainMs` to finish first (see DeliveryWorker.stop). */
  async stop(drainMs = 0): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.worker.stop(drainMs);
  }

  /** Messages waiting for an outcome in this process. */
  get waiting(): number {
    let n = 0;
    for (const w of this.waiters.values()) n += w.length;
    return n;
  }

  /**
   * Takes a shipment in: records it (idempotently per AnvenderTransaktionsID) and queues it, or joins the shipment
   * already there. `prepare` (files, serialisation) runs only when there is nothing usable recorded yet.
   * The outcome comes through the callbacks; this resolves once the shipment is recorded and queued (and the inbox
   * entries `inboxIds` acknowledged), or failed.
   */
  async accept(transactionId: string, prepare: () => Promise<{ request: string; ids: ShipmentIds }>, waiter: W, inboxIds: string[] = []): Promise<void> {
    const t = transactionId;
    const joined = this.waiters.get(t);
    if (joined) {
      joined.push(waiter);
      await this.ackQueued(t, inboxIds);
      return;
    }
    this.waiters.set(t, [waiter]);
    this.enter(t);
    const { ledger } = this.o;
    try {
      let queued = false;
      const existing = await ledger.getShipment(t);
      if (existing && DELIVERED.includes(existing.state)) {
        await this.ack(inboxEntries(t, inboxIds));
        this.o.callbacks.duplicate(existing, this.take(t));
        return;
      }
      if (!(existing && ACTIVE.includes(existing.state) && existing.request)) {
        const { request, ids } = await prepare();
        // a new shipment is recorded and queued in one write; one that existed is queued below (submit)
        const { created, shipment } = await this.outbox.open({ ...ids, state: 'queued', request, meta: { node: this.o.queue } }, this.worker.queueEntry());
        queued = created;
        if (!created) {
          if (DELIVERED.includes(shipment.state)) {
            await this.ack(inboxEntries(t, inboxIds));
            this.o.callbacks.duplicate(shipment, this.take(t));
            return;
          }
          // A fresh try of a failed / dead-lettered shipment, decided on its state before prepare(): the SFTP stage has
          // moved it to 'sending' since.
          const fresh = RESENDABLE.includes(existing?.state ?? shipment.state);
          // otherwise an active record with a request is another arrival's (maybe on another instance): join it
          const usable = !fresh && ACTIVE.includes(shipment.state) && shipment.request;
          if (!usable) {
            // a fresh try, or the SFTP stage's record (no request yet)
            const meta = { ...shipment.meta, node: this.o.queue, ...(fresh ? { attemptBase: shipment.attempts.length } : {}) };
            const { moved, shipment: now } = await this.outbox.move(t, 'queued', { request, meta }, { onlyIfMoved: true });
            if (!moved && DELIVERED.includes(now.state)) {
              // delivered meanwhile (another instance took the same submission): this arrival is the repeat
              await this.ack(inboxEntries(t, inboxIds));
              this.o.callbacks.duplicate(now, this.take(t));
              return;
            }
          }
        }
      }
      if (queued) this.worker.kick();
      else await this.worker.submit(t);
      await this.ackQueued(t, inboxIds);
      this.o.callbacks.queued?.(t);
    } catch (err) {
      this.o.callbacks.failed(asDeliveryError(err), this.take(t));
    } finally {
      this.leave(t);
    }
  }

  /**
   * The id to use for a shipment: `transactionId`, unless nothing is recorded under it and this queue recorded the
   * submission under `legacyId` (its id before shipment keys), so an upgrade neither resends nor forgets it.
   */
  async idFor(transactionId: string, legacy?: { id: string; sameTarget(old: ShipmentRecord): boolean }): Promise<string> {
    if (!legacy || legacy.id === transactionId) return transactionId;
    const { ledger } = this.o;
    // Only one this node sent or is sending to this target (delivered, or waiting with its request): it is then a repeat
    // or joins the queue, and nothing is prepared again. Anything else (failed, dead letter, another target) is a new
    // shipment under the new id. The legacy row is read first: it is almost always absent, so a message costs one read.
    const old = await ledger.getShipment(legacy.id);
    const live = old && (DELIVERED.includes(old.state) || (ACTIVE.includes(old.state) && !!old.request));
    if (!(old && live && old.meta?.node === this.o.queue && legacy.sameTarget(old))) return transactionId;
    return (await ledger.getShipment(transactionId, { bodies: false })) ? transactionId : legacy.id;
  }

  /** Puts a dead-lettered (or failed) shipment back in the queue with a fresh budget; `waiter` gets its outcome. */
  async resend(transactionId: string, waiter?: W): Promise<ShipmentRecord> {
    const t = transactionId.toLowerCase();
    const s = await this.o.ledger.getShipment(t);
    if (!s) throw new DeliveryError({ class: 'permanent', code: 'NOT_FOUND', reason: `No shipment with AnvenderTransaktionsID ${t}`, errors: [] });
    if (!RESENDABLE.includes(s.state)) {
      throw new DeliveryError({
        class: 'permanent',
        code: 'NOT_RESENDABLE',
        reason: `Shipment ${t} is ${s.state}; only dead-letter or failed shipments are resent`,
        errors: [],
      });
    }
    if (!s.request || fileContentsRemoved(s.request)) {
      throw new DeliveryError({ class: 'permanent', code: 'NOT_RESENDABLE', reason: `Shipment ${t} has no complete stored request to resend`, errors: [] });
    }
    this.enter(t);
    try {
      if (waiter) this.waiters.set(t, [...(this.waiters.get(t) ?? []), waiter]);
      await this.worker.resend(t);
      this.o.callbacks.queued?.(t);
      return (await this.o.ledger.getShipment(t)) ?? s;
    } catch (err) {
      if (waiter) {
        const left = (this.waiters.get(t) ?? []).filter((w) => w !== waiter);
        if (left.length) this.waiters.set(t, left);
        else this.waiters.delete(t); // an empty list would make a later accept() join nothing
      }
      throw asDeliveryError(err);
    } finally {
      this.leave(t);
    }
  }

  private enter(t: string): void {
    this.busy.set(t, (this.busy.get(t) ?? 0) + 1);
    this.generation.set(t, (this.generation.get(t) ?? 0) + 1);
  }

  private leave(t: string): void {
    const n = (this.busy.get(t) ?? 1) - 1;
    if (n <= 0) this.busy.delete(t);
    else this.busy.set(t, n);
  }

  private take(t: string): W[] {
    this.settle(t);
    const w = this.waiters.get(t) ?? [];
    this.waiters.delete(t);
    if (!this.busy.has(t)) this.generation.delete(t);
    return w;
  }

  /** The shipment is queued: acknowledge now, or remember the ids until it settles. */
  private async ackQueued(t: string, inboxIds: string[]): Promise<void> {
    if (this.o.ackInboxOn !== 'settled') return this.ack(inboxEntries(t, inboxIds));
    const ids = this.unacked.get(t) ?? new Set<string>();
    for (const id of inboxEntries(t, inboxIds)) ids.add(id);
    this.unacked.set(t, ids);
  }

  /** The shipment settled (delivered, dead-lettered, or elsewhere): acknowledge what was kept back. */
  private settle(t: string): void {
    const ids = this.unacked.get(t);
    if (!ids) return;
    this.unacked.delete(t);
    void this.ack([...ids]);
  }

  private async ack(ids: string[]): Promise<void> {
    try {
      await ackInboxEverywhere(ids);
    } catch (err) {
      this.o.callbacks.error?.(err as Error);
    }
  }

  private async sendOne(s: ShipmentRecord): Promise<{ distributionTransactionId?: string; response?: string; request?: string }> {
    const t = s.transactionId;
    this.sendingHere.add(t);
    try {
      if (!s.request) throw new DeliveryError({ class: 'permanent', code: 'NO_REQUEST', reason: 'The shipment has no stored request', errors: [] });
      const r = await sendAfsend(s.request, this.o.context());
      if (r.receipt) this.receipts.set(t, r.receipt);
      // the platform has the files now: the ledger keeps only their size and digest (lib/sf2900/file-contents.ts)
      return { distributionTransactionId: r.distributionTransactionId, response: r.raw, request: withoutFileContents(s.request) };
    } catch (err) {
      const e = asDeliveryError(err, 'transient');
      this.lastErrors.set(t, e);
      throw e;
    }
  }

  /** Settles waiting messages whose shipment another instance (or an earlier run) finished. */
  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const ids = [...this.waiters.keys()].filter((t) => !this.busy.has(t) && !this.sendingHere.has(t));
      if (!ids.length) return;
      const generations = new Map(ids.map((t) => [t, this.generation.get(t)]));
      const finished = (state: ShipmentState | undefined) => state !== undefined && (DELIVERED.includes(state) || state === 'dead-letter');
      // taken up here since the ids were listed (accept, resend, a send of this worker): not the poll's to settle
      const takenHere = (t: string) => this.busy.has(t) || this.sendingHere.has(t) || this.generation.get(t) !== generations.get(t);
      // every waiter's state in one read (a backlog of thousands was thousands of reads a second); the record only of
      // the few that are finished
      const states = await this.o.ledger.shipmentStates(ids);
      for (const t of ids) {
        if (!finished(states.get(t)) || takenHere(t)) continue;
        const s = await this.o.ledger.getShipment(t, { bodies: false });
        if (!s || takenHere(t)) continue;
        if (finished(s.state)) this.o.callbacks.settledElsewhere(s, this.take(t));
      }
    } catch (err) {
      this.o.callbacks.error?.(err as Error);
    } finally {
      this.polling = false;
    }
  }
}

/**
 * The push inbox entries a shipment acknowledges: the ones its messages carry (`msg._os2InboxId`), or, for a message
 * rebuilt without it, the shipment's own id (a submission's inbox id is its AnvenderTransaktionsID without target key,
 * webform-push.ts inboxIdOf, so this finds it when the shipment has that id). One write per entry, none wasted.
 */
function inboxEntries(t: string, inboxIds: string[]): string[] {
  return inboxIds.length ? inboxIds : [t];
}

/** A DeliveryError for anything thrown (`fallback` class for errors that carry none, e.g. a ledger failure). */
export function asDeliveryError(err: unknown, fallback: 'permanent' | 'transient' = 'permanent'): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { message?: string; code?: string; transient?: boolean; name?: string };
  const transient = fallback === 'transient' || e?.transient === true || e?.name === 'TimeoutError';
  return new DeliveryError({
    class: transient ? 'transient' : 'permanent',
    code: String(e?.code ?? (transient ? 'ERROR' : 'CONFIG')),
    reason: String(e?.message ?? err),
    errors: [],
  });
}
