/**
 * `os2-fordeling-out`: delivers a FordelingsObject (or an expert's XML anmodning) to the Fordelingskomponent through
 * the outbox: recorded in the ledger, sent from its durable queue (queue = this node's id) under bulkhead → breaker →
 * timeout, retried with backoff across restarts (lib/delivery/durable-delivery.ts, lib/outbox). Outputs: 1 accepted
 * (also a repeat of an already sent submission, with msg.duplicate), 2 failed (also done(err) for Catch), 3 unconfirmed
 * (refused as a duplicate and no receipt in time). Settings and message planning: lib/delivery/plan.ts; status:
 * lib/node-red/fordeling-status.ts. msg.topic "FordelingsmodtagerList" lists receivers; "resend" + msg.transactionId,
 * or POST /os2-fordeling-out/:node/resend/:id (admin, os2-fordeling-out.write), resends a dead letter.
 */
import * as os from 'node:os';
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { listReceivers, serviceUrl, type DeliveryContext } from '../../lib/delivery/deliver';
import { DurableDelivery, asDeliveryError, duplicateRefusalOf, sharedBreakers } from '../../lib/delivery/durable-delivery';
import type { DeliveryError } from '../../lib/delivery/errors';
import { fordelingOutSettings, invalid, planShipment } from '../../lib/delivery/plan';
import type { ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import { sftpPrepareFiles } from '../../lib/delivery/sftp-files';
import type { Ledger, ShipmentRecord } from '../../lib/ledger/types';
import { DeliveryStatus } from '../../lib/node-red/fordeling-status';
import { ledgerFor } from '../../lib/node-red/ledger';
import { statusText } from '../../lib/node-red/status-text';
import { maskCpr } from '../../lib/privacy/cpr';
import { CVR_PATTERN, KLE_PATTERN, UUID_PATTERN } from '../../lib/sf2900/model';
import type { SftpConfig } from '../../lib/sftp';
import type { Os2formsSite } from '../../lib/webform/os2forms-client';

type Msg = NodeMessageInFlow & Record<string, unknown>;
interface Waiter {
  msg: Msg;
  send: (msgs: Array<Msg | null>) => void;
  done: (err?: Error) => void;
}
const nodesById = new Map<string, { resend(id: string): Promise<ShipmentRecord> }>();
const routedAdmins = new WeakSet<object>();

export = function (RED: NodeAPI) {
  function FordelingOutNode(this: Node, config: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const config_ = (id: unknown) => (id ? (RED.nodes.getNode(String(id)) as unknown) : null);
    const sp = config_(config.serviceplatform) as ServiceplatformConfig | null;
    const ledgerNode = config_(config.ledger) as { ledger(): Ledger; durable?: boolean } | null;
    const sftpNode = config_(config.sftp) as SftpConfig | null;
    let durable: DurableDelivery<Waiter> | undefined;
    let inFlight = 0;
    const status = new DeliveryStatus(
      (s) => node.status(s),
      statusText(RED, 'os2-fordeling-out'),
      () => durable?.waiting ?? 0,
    );
    const ledger = ledgerFor(RED, ledgerNode);
    let settings: ReturnType<typeof fordelingOutSettings> | undefined;
    let configError = !sp
      ? 'fordeling out: no serviceplatform configuration chosen'
      : config.ledger && !ledgerNode
        ? 'fordeling out: the chosen ledger configuration is missing'
        : config.sftp && !sftpNode
          ? 'fordeling out: the chosen SFTP configuration is missing'
          : sp.configError;
    try {
      settings = fordelingOutSettings(config);
    } catch (err) {
      configError ??= (err as Error).message;
    }

    const context = (): DeliveryContext => {
      if (configError || !sp) throw new Error(configError);
      const base = { endpoint: sp.endpoint(), transport: sp.transport(), security: sp.security?.() };
      if (!sftpNode) return base;
      if (sftpNode.configError) throw new Error(sftpNode.configError);
      const site = config_(config.site) as Os2formsSite | null;
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
        ledger: ledger(),
        lookupRecipients: config.sftpLookup ? (q) => listReceivers(q, base) : undefined,
        onFile: ({ index, count }) => status.sftp(index + 1, count),
      });
      return { ...base, prepareFiles };
    };
    const outcome = (msg: Msg, s: ShipmentRecord, extra: Record<string, unknown> = {}): Msg =>
      Object.assign(msg, { transactionId: s.transactionId, distributionTransactionId: s.distributionTransactionId, shipment: s }, extra);
    const orphan = (s: ShipmentRecord): Msg =>
      ({
        _msgid: RED.util.generateId(),
        topic: 'recovered',
        payload: { transactionId: s.transactionId, submissionId: s.submissionId, webformId: s.webformId },
      }) as unknown as Msg;
    const fail = (w: Waiter, e: DeliveryError, extra?: Record<string, unknown>) => {
      w.msg.error = { ...e.toJSON(), ...extra };
      status.failed(e.reason);
      w.send([null, w.msg, null]);
      w.done(new Error(`${e.class}: ${maskCpr(e.reason)}`)); // reaches logs: a CPR number echoed by the platform is masked
    };
    let lastWarning = { text: '', at: 0 };
    const warnOnce = (text: string) => {
      // a ledger that is down fails every poll: say so once a minute, not every second
      if (text === lastWarning.text && Date.now() - lastWarning.at < 60_000) return;
      lastWarning = { text, at: Date.now() };
      node.warn(text);
    };
    const orphanWaiter = (s: ShipmentRecord): Waiter => {
      const msg = orphan(s);
      return { msg, send: (m) => node.send(m as never), done: (err) => err && node.error(err.message, msg) };
    };

    if (!configError && sp && settings) {
      try {
        const breakers = sharedBreakers(sp, { consecutiveFailures: settings.breakerFailures, openMs: settings.breakerOpenMs });
        const breakerKey = `${config.serviceplatform}|${serviceUrl(sp.baseUrl || sp.endpoint().baseUrl)}`;
        const onChange = (c: { key: string; to: Parameters<DeliveryStatus['breaker']>[0]; retryAt?: number }) =>
          c.key === breakerKey && status.breaker(c.to, c.retryAt);
        breakers.on('stateChange', onChange);
        node.on('close', () => breakers.off('stateChange', onChange));
        durable = new DurableDelivery<Waiter>({
          ledger: ledger(),
          context,
          owner: `${os.hostname()}:${process.pid}:${node.id}`,
          queue: node.id,
          ...settings,
          breakers,
          breakerKey,
          // the transport's own timeout (the serviceplatform's setting) answers first, with a classified error
          timeoutMs: (sp.timeoutMs || sp.endpoint().timeoutMs || 30_000) + 2000,
          pollMs: Math.max(50, Math.min(1000, settings.baseMs)),
          // an in-memory ledger (tests) loses its queue on restart: keep webform in's inbox entries until delivered
          ackInboxOn: ledgerNode?.durable === false ? 'settled' : 'queued',
          callbacks: {
            delivered: (s, receipt, [first, ...rest]) => {
              const refused = duplicateRefusalOf(s);
              node.send([
                outcome(first ? first.msg : orphan(s), s, { ...(receipt ? { receipt } : {}), ...(refused ? { duplicateRefusal: refused } : {}) }),
                null,
                null,
              ] as never);
              for (const w of first ? [first, ...rest] : rest) w.done();
              status.idle();
            },
            duplicate: (s, waiters) => {
              const duplicate = { reason: 'already-sent', state: s.state, since: s.createdAt };
              for (const w of waiters) w.send([outcome(w.msg, s, { duplicate }), null, null]), w.done();
              status.idle();
            },
            deadLetter: (s, e, [first, ...rest]) => {
              const w = first ?? orphanWaiter(s);
              outcome(w.msg, s);
              fail(w, e, { attempts: s.attempts, transactionId: s.transactionId });
              for (const r of rest) r.done();
            },
            unconfirmed: (s) => (node.send([null, null, outcome(orphan(s), s, { topic: 'unconfirmed' })] as never), status.unconfirmed(s.transactionId)),
            failed: (e, waiters) => {
              for (const w of waiters) fail(w, e);
            },
            settledElsewhere: (_s, waiters) => {
              for (const w of waiters) w.done();
              status.idle();
            },
            retry: (_s, at, error) => status.retry(at, error),
            queued: () => status.idle(),
            error: (err) => warnOnce(`fordeling out: ${maskCpr(err.message)}`),
          },
        });
        durable.start();
        nodesById.set(node.id, { resend: (id) => durable!.resend(id) });
        (node as unknown as { resend: (id: string) => Promise<ShipmentRecord> }).resend = (id) => durable!.resend(id);
      } catch (err) {
        configError = `fordeling out: ${(err as Error).message}`;
      }
    }
    if (configError) node.error(configError), status.notConfigured();

    node.on('input', async (msgIn, send, done) => {
      const msg = msgIn as Msg;
      const w: Waiter = { msg, send: send as Waiter['send'], done };
      try {
        if (msg.topic === 'FordelingsmodtagerList') {
          const q = (msg.payload ?? {}) as Record<string, unknown>;
          const routingCvr = String(q.routingCvr ?? q.receivingAuthorityCvr ?? q.RoutingMyndighed ?? '').trim();
          const kle = String(q.kle ?? q.RoutingKLEEmne ?? '').trim();
          const facet = q.handlingFacet ?? q.RoutingHandlingFacet;
          if (!CVR_PATTERN.test(routingCvr) || !KLE_PATTERN.test(kle))
            throw invalid('FordelingsmodtagerList needs msg.payload.routingCvr (8 digits) and msg.payload.kle (dd.dd.dd)');
          status.sending(++inFlight);
          msg.payload = await listReceivers({ routingCvr, kle, handlingFacet: facet ? String(facet) : undefined }, context()).finally(() => inFlight--);
          status.idle(), send([msg, null, null]), done();
          return;
        }
        const ctx = context();
        if (!durable || !settings) throw new Error("fordeling out: delivery is not available (see the node's error at start)");
        if (msg.topic === 'resend') {
          const id = String(msg.transactionId ?? '')
            .trim()
            .toLowerCase();
          if (!UUID_PATTERN.test(id)) throw invalid('msg.topic "resend" needs msg.transactionId (the AnvenderTransaktionsID, a UUID)');
          msg.transactionId = id;
          await durable.resend(id, w);
          return;
        }
        const p = planShipment(msg, ctx, { settings, sftp: !!sftpNode });
        msg.transactionId = await durable.idFor(p.transactionId, p.legacyId);
        await durable.accept(msg.transactionId as string, p.prepare, w, typeof msg._os2InboxId === 'string' ? [msg._os2InboxId] : []);
      } catch (err) {
        fail(w, asDeliveryError(err));
      }
    });

    node.on('close', (_removed: boolean, closed: () => void) => {
      if (durable && nodesById.has(node.id)) nodesById.delete(node.id);
      (durable ? durable.stop() : Promise.resolve()).catch((err: Error) => node.warn(err.message)).finally(closed);
    });
  }

  RED.nodes.registerType('os2-fordeling-out', FordelingOutNode);
  if (routedAdmins.has(RED.httpAdmin)) return;
  routedAdmins.add(RED.httpAdmin);
  // Resend a dead-lettered (or failed) shipment through its fordeling-out node's durable queue.
  RED.httpAdmin.post('/os2-fordeling-out/:node/resend/:transactionId', RED.auth.needsPermission('os2-fordeling-out.write'), (req: Request, res: Response) => {
    const target = nodesById.get(String(req.params.node));
    const id = String(req.params.transactionId ?? '').toLowerCase();
    if (!target) return void res.status(404).json({ error: `no running fordeling-out node ${req.params.node}` });
    if (!UUID_PATTERN.test(id)) return void res.status(400).json({ error: 'the transaction id must be a UUID' });
    target.resend(id).then(
      (s) => res.status(202).json({ transactionId: s.transactionId, state: s.state }),
      (err: unknown) => {
        const e = asDeliveryError(err);
        res.status(e.code === 'NOT_FOUND' ? 404 : e.code === 'NOT_RESENDABLE' ? 409 : 500).json({ error: e.reason });
      },
    );
  });
};
