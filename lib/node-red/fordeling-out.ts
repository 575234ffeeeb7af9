/**
 * fordeling out's life in a running flow: the durable delivery of one node (lib/delivery/durable-delivery.ts over the
 * outbox), what comes out of which output, the status dot and the node's three kinds of input (a delivery, "resend",
 * "FordelingsmodtagerList"). The node file only resolves its configuration nodes and registers. Outputs: 1 accepted
 * (also a repeat, with msg.duplicate), 2 failed (and done(err) for Catch), 3 unconfirmed.
 */
import * as os from 'node:os';
import type { NodeMessageInFlow, NodeStatus } from 'node-red';
import { listReceivers, serviceUrl, type DeliveryContext } from '../delivery/deliver';
import { DurableDelivery, asDeliveryError, duplicateRefusalOf, sharedBreakers } from '../delivery/durable-delivery';
import type { DeliveryError } from '../delivery/errors';
import { fordelingOutSettings, invalid, planShipment, type FordelingOutSettings } from '../delivery/plan';
import type { ServiceplatformConfig } from '../delivery/serviceplatform';
import { sftpPrepareFiles } from '../delivery/sftp-files';
import type { Ledger, ShipmentRecord } from '../ledger/types';
import { watchBreakers } from '../ops/metrics';
import { maskCpr } from '../privacy/cpr';
import type { BreakerState } from '../resilience/breaker';
import { CVR_PATTERN, KLE_PATTERN, UUID_PATTERN } from '../sf2900/model';
import type { SftpConfig } from '../sftp';
import type { Os2formsSite } from '../webform/os2forms-client';
import { DeliveryStatus } from './fordeling-status';
import { hold } from './holds';
import { RatedStatus } from './status-rate';
import type { StatusText } from './status-text';

type Msg = NodeMessageInFlow & Record<string, unknown>;
const DRAIN_MS = 10_000;
type Send = (msgs: Array<Msg | null>) => void;
interface Waiter {
  msg: Msg;
  send: Send;
  done: (err?: Error) => void;
}

/** What the runtime needs of the node and its configuration (the node file gathers it). */
export interface FordelingOutParts {
  node: { id: string; send(m: unknown): void; status(s: NodeStatus): void; warn(t: string): void; error(t: string, msg?: unknown): void };
  newMessageId(): string;
  statusText: StatusText;
  /** The node's own settings (attempts, shipment key, …) as the editor stores them. */
  config: Record<string, unknown>;
  sp: ServiceplatformConfig | null;
  ledgerNode: { ledger(): Ledger; durable?: boolean } | null;
  sftpNode: SftpConfig | null;
  site: Os2formsSite | null;
  ledger: () => Ledger;
  /** A configuration node that was chosen but is missing, in one line. */
  missing?: string;
}

export class FordelingOutRuntime {
  readonly configError?: string;
  private readonly status: DeliveryStatus;
  private readonly settings?: FordelingOutSettings;
  private durable?: DurableDelivery<Waiter>;
  private inFlight = 0;
  private lastWarning = { text: '', at: 0 };
  private offBreaker = () => {};
  private readonly dot: RatedStatus;
  /** Ends this node's hold on its ledger and serviceplatform (they close only after, see holds.ts). */
  private release = () => {};

  constructor(private readonly p: FordelingOutParts) {
    this.dot = new RatedStatus((s) => p.node.status(s));
    this.status = new DeliveryStatus(this.dot, p.statusText, () => this.durable?.waiting ?? 0);
    let error = !p.sp ? 'fordeling out: no serviceplatform configuration chosen' : (p.missing ?? p.sp.configError);
    try {
      this.settings = fordelingOutSettings(p.config);
      if (!error && p.sp) this.durable = this.start(p.sp, this.settings);
    } catch (err) {
      error ??= `fordeling out: ${(err as Error).message.replace(/^fordeling out: /, '')}`;
    }
    this.configError = error;
    if (error) {
      p.node.error(error);
      this.status.notConfigured();
    }
  }

  /** The durable delivery of this node, with its breaker on the status dot. */
  private start(sp: ServiceplatformConfig, settings: FordelingOutSettings): DurableDelivery<Waiter> {
    const { node } = this.p;
    const breakers = sharedBreakers(sp, { consecutiveFailures: settings.breakerFailures, openMs: settings.breakerOpenMs });
    const breakerKey = `${this.p.config.serviceplatform}|${serviceUrl(sp.baseUrl || sp.endpoint().baseUrl)}`;
    const onChange = (c: { key: string; to: BreakerState; retryAt?: number }) => c.key === breakerKey && this.status.breaker(c.to, c.retryAt);
    breakers.on('stateChange', onChange);
    const unwatch = watchBreakers(breakers);
    this.offBreaker = () => {
      breakers.off('stateChange', onChange);
      unwatch();
    };
    const ledger = this.p.ledger();
    const held = [hold(ledger), hold(sp)];
    this.release = () => {
      for (const r of held) r();
    };
    const durable = new DurableDelivery<Waiter>({
      ledger,
      context: () => this.context(),
      owner: `${os.hostname()}:${process.pid}:${node.id}`,
      queue: node.id,
      ...settings,
      breakers,
      breakerKey,
      // the transport's own timeout (the serviceplatform's setting) answers first, with a classified error
      timeoutMs: (sp.timeoutMs || sp.endpoint().timeoutMs || 30_000) + 2000,
      pollMs: Math.max(50, Math.min(1000, settings.baseMs)),
      // an in-memory ledger (tests) loses its queue on restart: keep webform in's inbox entries until delivered
      ackInboxOn: this.p.ledgerNode?.durable === false ? 'settled' : 'queued',
      callbacks: {
        delivered: (s, receipt, waiters) => {
          const refused = duplicateRefusalOf(s);
          const [w, ...rest] = waiters.length ? waiters : [this.orphanWaiter(s)];
          w.send([this.outcome(w.msg, s, { ...(receipt ? { receipt } : {}), ...(refused ? { duplicateRefusal: refused } : {}) }), null, null]);
          for (const r of [w, ...rest]) r.done();
          this.status.idle();
        },
        duplicate: (s, waiters) => {
          const duplicate = { reason: 'already-sent', state: s.state, since: s.createdAt };
          for (const w of waiters) w.send([this.outcome(w.msg, s, { duplicate }), null, null]), w.done();
          this.status.idle();
        },
        deadLetter: (s, e, waiters) => {
          const [w, ...rest] = waiters.length ? waiters : [this.orphanWaiter(s)];
          this.outcome(w.msg, s);
          this.fail(w, e, { attempts: s.attempts, transactionId: s.transactionId });
          for (const r of rest) r.done();
        },
        unconfirmed: (s) => {
          node.send([null, null, this.outcome(this.orphanWaiter(s).msg, s, { topic: 'unconfirmed' })]);
          this.status.unconfirmed(s.transactionId);
        },
        failed: (e, waiters) => {
          for (const w of waiters) this.fail(w, e);
        },
        settledElsewhere: (_s, waiters) => {
          for (const w of waiters) w.done();
          this.status.idle();
        },
        retry: (_s, at, error) => this.status.retry(at, error),
        queued: () => this.status.idle(),
        error: (err) => this.warnOnce(`fordeling out: ${maskCpr(err.message)}`),
      },
    });
    durable.start();
    return durable;
  }

  private context(): DeliveryContext {
    const { sp, sftpNode, site } = this.p;
    if (this.configError || !sp) throw new Error(this.configError);
    const base = { endpoint: sp.endpoint(), transport: sp.transport(), security: sp.security?.() };
    if (!sftpNode) return base;
    if (sftpNode.configError) throw new Error(sftpNode.configError);
    const openUrl = site
      ? (url: string) => {
          const c = site.client();
          if (!c.open) throw new Error('the OS2forms site cannot stream files');
          return c.open(url);
        }
      : undefined;
    const prepareFiles = sftpPrepareFiles({
      sftp: sftpNode,
      openUrl,
      ledger: this.p.ledger(),
      lookupRecipients: this.p.config.sftpLookup ? (q) => listReceivers(q, base) : undefined,
      onFile: ({ index, count }) => this.status.sftp(index + 1, count),
    });
    return { ...base, prepareFiles };
  }

  /** One message: a delivery, a resend or a receivers list. Every failure ends in output 2 and done(err). */
  async input(msg: Msg, send: Send, done: (err?: Error) => void): Promise<void> {
    const w: Waiter = { msg, send, done };
    try {
      if (msg.topic === 'FordelingsmodtagerList') return await this.receivers(w);
      const ctx = this.context();
      if (!this.durable || !this.settings) throw new Error("fordeling out: delivery is not available (see the node's error at start)");
      if (msg.topic === 'resend') {
        const id = String(msg.transactionId ?? '')
          .trim()
          .toLowerCase();
        if (!UUID_PATTERN.test(id)) throw invalid('msg.topic "resend" needs msg.transactionId (the AnvenderTransaktionsID, a UUID)');
        msg.transactionId = id;
        await this.durable.resend(id, w);
        return;
      }
      const p = planShipment(msg, ctx, { settings: this.settings, sftp: !!this.p.sftpNode });
      msg.transactionId = await this.durable.idFor(p.transactionId, p.legacy);
      await this.durable.accept(msg.transactionId as string, p.prepare, w, typeof msg._os2InboxId === 'string' ? [msg._os2InboxId] : []);
    } catch (err) {
      this.fail(w, asDeliveryError(err));
    }
  }

  private async receivers(w: Waiter): Promise<void> {
    const q = (w.msg.payload ?? {}) as Record<string, unknown>;
    const routingCvr = String(q.routingCvr ?? q.receivingAuthorityCvr ?? q.RoutingMyndighed ?? '').trim();
    const kle = String(q.kle ?? q.RoutingKLEEmne ?? '').trim();
    const facet = q.handlingFacet ?? q.RoutingHandlingFacet;
    if (!CVR_PATTERN.test(routingCvr) || !KLE_PATTERN.test(kle)) {
      throw invalid('FordelingsmodtagerList needs msg.payload.routingCvr (8 digits) and msg.payload.kle (dd.dd.dd)');
    }
    this.status.sending(++this.inFlight);
    try {
      w.msg.payload = await listReceivers({ routingCvr, kle, handlingFacet: facet ? String(facet) : undefined }, this.context());
    } finally {
      this.inFlight--;
    }
    this.status.idle();
    w.send([w.msg, null, null]);
    w.done();
  }

  /** Puts a dead-lettered (or failed) shipment back in this node's queue. */
  resend(transactionId: string): Promise<ShipmentRecord> {
    if (!this.durable) return Promise.reject(new Error(this.configError ?? 'fordeling out is not running'));
    return this.durable.resend(transactionId);
  }

  /**
   * On redeploy and shutdown (SIGTERM): sends in flight get up to DRAIN_MS to finish — within Node-RED's 15 s for a
   * node to close — so a send is not cut off after the platform got it and then repeated by the next claimant.
   */
  async close(): Promise<void> {
    this.offBreaker();
    this.dot.close();
    try {
      await this.durable?.stop(DRAIN_MS);
    } finally {
      this.release();
    }
  }

  private outcome(msg: Msg, s: ShipmentRecord, extra: Record<string, unknown> = {}): Msg {
    return Object.assign(msg, { transactionId: s.transactionId, distributionTransactionId: s.distributionTransactionId, shipment: s }, extra);
  }

  /** A shipment with no message waiting here (recovered after a restart): a new message carries its outcome. */
  private orphanWaiter(s: ShipmentRecord): Waiter {
    const msg = {
      _msgid: this.p.newMessageId(),
      topic: 'recovered',
      payload: { transactionId: s.transactionId, submissionId: s.submissionId, webformId: s.webformId },
    } as unknown as Msg;
    return { msg, send: (m) => this.p.node.send(m), done: (err) => err && this.p.node.error(err.message, msg) };
  }

  private fail(w: Waiter, e: DeliveryError, extra?: Record<string, unknown>): void {
    w.msg.error = { ...e.toJSON(), ...extra };
    this.status.failed(e.reason);
    w.send([null, w.msg, null]);
    w.done(new Error(`${e.class}: ${maskCpr(e.reason)}`)); // reaches logs: a CPR number echoed by the platform is masked
  }

  /** A ledger that is down fails every poll: say so once a minute, not every second. */
  private warnOnce(text: string): void {
    if (text === this.lastWarning.text && Date.now() - this.lastWarning.at < 60_000) return;
    this.lastWarning = { text, at: Date.now() };
    this.p.node.warn(text);
  }
}
