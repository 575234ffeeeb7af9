/**
 * `os2-fordeling-out`: delivers a FordelingsObject (or an expert's complete XML anmodning) to the
 * Fordelingskomponent with FordelingsobjektAfsend over mutual TLS, recording the shipment in the ledger before
 * sending. Output 1: accepted (both transaction IDs, ForretningsKvittering). Output 2: failed (classified), also
 * reported with done(err) for Catch nodes. msg.topic "FordelingsmodtagerList" asks who receives for a routing.
 *
 * Delivery is durable and idempotent (lib/delivery/durable-delivery.ts): the request is recorded and put in the
 * ledger's work queue (queue = this node's id), a DeliveryWorker sends it under bulkhead → breaker (per
 * serviceplatform configuration + endpoint) → timeout, retries transient failures with full-jitter backoff from the
 * queue (surviving restarts) and dead-letters on output 2 with every attempt. The same submission twice is one
 * shipment and one output. msg.topic "resend" + msg.transactionId, or POST /os2-fordeling-out/:node/resend/:id
 * (admin, os2-fordeling-out.write), puts a dead-lettered shipment back in the queue.
 */
import { statusText } from '../../lib/node-red/status-text';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { Ledger } from '../../lib/ledger/types';
import { ledgerFor } from '../../lib/node-red/ledger';
import type { FordelingsObject } from '../../lib/sf2900/model';
import { CVR_PATTERN, KLE_PATTERN, UUID_PATTERN } from '../../lib/sf2900/model';
import { buildAfsendRequestFromAnmodning } from '../../lib/sf2900/afsend';
import { transactionIdFor } from '../../lib/sf2900/transaction-id';
import { parseXmlSafely } from '../../lib/xml/safe-xml';
import { listReceivers, prepareAfsend, serviceUrl, type DeliveryContext, type ShipmentIds } from '../../lib/delivery/deliver';
import * as os from 'node:os';
import type { Request, Response } from 'express';
import { DURABLE_DEFAULTS, DurableDelivery, asDeliveryError, sharedBreakers } from '../../lib/delivery/durable-delivery';
import type { Kvittering } from '../../lib/sf2900/receipts';
import type { ShipmentRecord } from '../../lib/ledger/types';
import { maskCpr } from '../../lib/privacy/cpr';
import type { BreakerState, StateChange } from '../../lib/resilience/breaker';
import { DeliveryError } from '../../lib/delivery/errors';
import type { ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import { filesOf, sftpPrepareFiles } from '../../lib/delivery/sftp-files';
import type { SftpConfig } from '../../lib/sftp';
import type { Os2formsSite } from '../../lib/webform/os2forms-client';

interface FordelingOutDef extends NodeDef {
  serviceplatform: string;
  ledger?: string;
  /** Optional os2-sftp config: files (DOKUMENT's file, attachments) go by SFTP before FordelingsobjektAfsend. */
  sftp?: string;
  /** Look the trigger's RecipientIt-system up with FordelingsmodtagerList (used when exactly one system matches). */
  sftpLookup?: boolean;
  /** Optional os2-os2forms-site: files that carry only a URL are streamed from it (with its API key) to SFTP. */
  site?: string;
  /** Durable delivery: total attempts, backoff base and cap (seconds), sends at once, breaker threshold and open time (seconds). */
  attempts?: string | number;
  retryBase?: string | number;
  retryCap?: string | number;
  concurrency?: string | number;
  breakerFailures?: string | number;
  breakerOpen?: string | number;
}

/** A message waiting for its shipment's outcome. */
interface Waiter {
  msg: Msg;
  send: (msgs: Array<Msg | null>) => void;
  done: (err?: Error) => void;
}

/** A positive number setting, or the default. */
function num(v: unknown, dflt: number, min = 0): number {
  const n = Number(v);
  return v !== '' && v !== undefined && v !== null && Number.isFinite(n) && n >= min ? n : dflt;
}

const nodesById = new Map<string, { resend(id: string): Promise<ShipmentRecord> }>();
const routedAdmins = new WeakSet<object>();

type Msg = NodeMessageInFlow & Record<string, unknown>;

function invalid(reason: string): DeliveryError {
  return new DeliveryError({ class: 'permanent', code: 'INVALID', reason, errors: [] });
}


export = function (RED: NodeAPI) {
  function FordelingOutNode(this: Node, config: FordelingOutDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = statusText(RED, 'os2-fordeling-out');
    const sending = () => ({ fill: 'blue' as const, shape: 'dot' as const, text: t('sending', { n: inFlight }, `sending ${inFlight}`) });
    const sp = config.serviceplatform ? (RED.nodes.getNode(config.serviceplatform) as unknown as ServiceplatformConfig | null) : null;
    const ledgerNode = config.ledger ? (RED.nodes.getNode(config.ledger) as unknown as { ledger(): Ledger } | null) : null;
    const sftpNode = config.sftp ? (RED.nodes.getNode(config.sftp) as unknown as SftpConfig | null) : null;
    const configError = !sp
      ? 'fordeling out: no serviceplatform configuration chosen'
      : config.ledger && !ledgerNode
        ? 'fordeling out: the chosen ledger configuration is missing'
        : config.sftp && !sftpNode
          ? 'fordeling out: the chosen SFTP configuration is missing'
          : undefined;
    if (configError) {
      node.error(configError);
      node.status({ fill: 'red', shape: 'ring', text: t('notConfigured', {}, 'not configured') });
    }
    let inFlight = 0;

    const ledger: () => Ledger = ledgerFor(RED, ledgerNode);
    const context = (): DeliveryContext => {
      if (configError || !sp) throw new Error(configError);
      if (sp.configError) throw new Error(sp.configError);
      const base = { endpoint: sp.endpoint(), transport: sp.transport(), security: sp.security?.(), ledger: ledger() };
      let prepareFiles: DeliveryContext['prepareFiles'];
      if (sftpNode) {
        if (sftpNode.configError) throw new Error(sftpNode.configError);
        const site = config.site ? (RED.nodes.getNode(config.site) as unknown as Os2formsSite | null) : null;
        prepareFiles = sftpPrepareFiles({
          sftp: sftpNode,
          openUrl: site
            ? async (url) => {
                const client = site.client();
                if (!client.open) throw new Error('the OS2forms site cannot stream files');
                return client.open(url);
              }
            : undefined,
          ledger: base.ledger,
          lookupRecipients: config.sftpLookup ? (q) => listReceivers(q, base) : undefined,
          onFile: ({ index, count }) => node.status({ fill: 'blue', shape: 'dot', text: t('sftp', { i: index + 1, n: count }, `SFTP file ${index + 1}/${count}`) }),
        });
      }
      return {
        ...base,
        prepareFiles,
        onStage: (stage) => {
          if (stage === 'send') node.status(sending());
        },
      };
    };

    async function handleList(msg: Msg): Promise<void> {
      const q = (msg.payload ?? {}) as Record<string, unknown>;
      const routingCvr = String(q.routingCvr ?? q.receivingAuthorityCvr ?? q.RoutingMyndighed ?? '').trim();
      const kle = String(q.kle ?? q.RoutingKLEEmne ?? '').trim();
      const handlingFacet = q.handlingFacet ?? q.RoutingHandlingFacet;
      if (!CVR_PATTERN.test(routingCvr)) throw invalid('FordelingsmodtagerList needs msg.payload.routingCvr (8 digits)');
      if (!KLE_PATTERN.test(kle)) throw invalid('FordelingsmodtagerList needs msg.payload.kle (dd.dd.dd)');
      const ctx = context();
      msg.payload = await listReceivers({ routingCvr, kle, handlingFacet: handlingFacet ? String(handlingFacet) : undefined }, ctx);
    }

    /** What to queue for a delivery message: the AnvenderTransaktionsID and how to build the request (run only when needed). */
    function plan(msg: Msg, ctx: DeliveryContext): { transactionId: string; prepare: () => Promise<{ request: string; ids: ShipmentIds }> } {
      if (typeof msg.payload === 'string') {
        const transactionId = String(msg.transactionId ?? '').trim().toLowerCase();
        if (!UUID_PATTERN.test(transactionId)) throw invalid('An XML anmodning in msg.payload needs msg.transactionId (the AnvenderTransaktionsID, a UUID)');
        let requestXml: string;
        try {
          const root = parseXmlSafely(msg.payload, 'msg.payload').documentElement;
          if (root?.localName === 'FordelingsobjektAfsendRequest') requestXml = msg.payload.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
          else requestXml = buildAfsendRequestFromAnmodning(msg.payload, ctx.endpoint.senderCvr);
        } catch (err) {
          throw invalid(`msg.payload is not a usable anmodning: ${(err as Error).message}`);
        }
        const submissionId = typeof msg.submissionId === 'string' ? msg.submissionId : transactionId;
        return { transactionId, prepare: async () => ({ request: requestXml, ids: { transactionId, submissionId } }) };
      }
      const obj = msg.payload as FordelingsObject;
      if (!obj || typeof obj !== 'object' || !obj.objektType || !obj.context) {
        throw invalid('msg.payload is not a FordelingsObject (objektType and context are required)');
      }
      if (typeof obj.submissionId !== 'string' || !obj.submissionId) throw invalid('The FordelingsObject has no submissionId');
      if (!sftpNode) {
        const count = filesOf(obj).length;
        if (count) throw invalid(`The ${obj.objektType ?? 'object'} carries ${count} file(s), which go by SFTP, but no SFTP configuration is chosen in fordeling out`);
      }
      return { transactionId: transactionIdFor(obj.submissionId, obj.webformId), prepare: () => prepareAfsend(obj, ctx) };
    }

    const fail = (w: Waiter, e: DeliveryError, extra?: Record<string, unknown>) => {
      w.msg.error = { ...e.toJSON(), ...extra };
      // status texts and done(err) reach logs: a CPR number echoed in a platform's error text is masked there
      const reason = maskCpr(e.reason);
      const short = reason.length > 40 ? reason.slice(0, 39) + '…' : reason;
      node.status({ fill: 'red', shape: 'ring', text: t('failed', { reason: short }, `failed: ${short}`) });
      w.send([null, w.msg]);
      w.done(new Error(`${e.class}: ${reason}`));
    };
    const orphan = (s: ShipmentRecord): Msg =>
      ({ _msgid: RED.util.generateId(), topic: 'recovered', transactionId: s.transactionId, submissionId: s.submissionId, payload: { transactionId: s.transactionId, submissionId: s.submissionId, webformId: s.webformId } }) as unknown as Msg;
    const withOutcome = (msg: Msg, s: ShipmentRecord, receipt?: Kvittering): Msg => {
      msg.transactionId = s.transactionId;
      msg.distributionTransactionId = s.distributionTransactionId;
      if (receipt) msg.receipt = receipt;
      msg.shipment = s;
      return msg;
    };

    const settings = {
      attempts: Math.max(1, Math.round(num(config.attempts, DURABLE_DEFAULTS.attempts, 1))),
      baseMs: Math.round(num(config.retryBase, DURABLE_DEFAULTS.baseMs / 1000) * 1000),
      capMs: Math.round(num(config.retryCap, DURABLE_DEFAULTS.capMs / 1000) * 1000),
      concurrency: Math.max(1, Math.round(num(config.concurrency, DURABLE_DEFAULTS.concurrency, 1))),
      breakerFailures: Math.round(num(config.breakerFailures, DURABLE_DEFAULTS.breakerFailures)),
      breakerOpenMs: Math.round(num(config.breakerOpen, DURABLE_DEFAULTS.breakerOpenMs / 1000) * 1000),
    };
    let durable: DurableDelivery<Waiter> | undefined;
    let lastWarning = { text: '', at: 0 };
    let breakerKey = '';
    let offBreaker = () => {};
    let retryDot: ReturnType<typeof setTimeout> | undefined;
    const statusQueued = () => {
      const n = durable?.waiting ?? 0;
      node.status(n ? { fill: 'blue', shape: 'dot', text: t('queued', { n }, `queued ${n}`) } : { fill: 'green', shape: 'dot', text: t('sent', {}, 'sent') });
    };
    const breakerDot = (state: BreakerState, retryAt?: number) => {
      if (retryDot) clearTimeout(retryDot);
      retryDot = undefined;
      if (state === 'closed') return statusQueued();
      if (state === 'half-open') return node.status({ fill: 'yellow', shape: 'ring', text: t('halfOpen', {}, 'platform: probing (half-open)') });
      const at = retryAt ? new Date(retryAt).toISOString().slice(11, 19) : '?';
      node.status({ fill: 'red', shape: 'ring', text: t('open', { time: at }, `platform unavailable (open), retry ${at}`) });
    };
    if (!configError && sp && !sp.configError) {
      try {
        const own = ledger();
        const breakers = sharedBreakers(sp, { consecutiveFailures: settings.breakerFailures, openMs: settings.breakerOpenMs });
        breakerKey = `${config.serviceplatform}|${serviceUrl(sp.baseUrl || sp.endpoint().baseUrl)}`;
        const onChange = (c: StateChange) => {
          if (c.key === breakerKey) breakerDot(c.to, c.retryAt);
        };
        breakers.on('stateChange', onChange);
        offBreaker = () => breakers.off('stateChange', onChange);
        durable = new DurableDelivery<Waiter>({
          ledger: own,
          context: () => context(),
          owner: `${os.hostname()}:${process.pid}:${node.id}`,
          queue: node.id,
          ...settings,
          // the transport's own timeout (the serviceplatform's setting) answers first, with a classified error
          timeoutMs: (sp.timeoutMs || sp.endpoint().timeoutMs || 30_000) + 2000,
          breakers,
          breakerKey,
          pollMs: Math.max(50, Math.min(1000, settings.baseMs)),
          // the in-memory default ledger loses its queue on restart: keep webform in's inbox entries until delivered
          ackInboxOn: ledgerNode ? 'queued' : 'settled',
          callbacks: {
            delivered: (s, receipt, waiters) => {
              const [first, ...rest] = waiters;
              node.send([withOutcome(first ? first.msg : orphan(s), s, receipt), null] as never);
              first?.done();
              for (const w of rest) w.done();
              statusQueued();
            },
            deadLetter: (s, e, waiters) => {
              const extra = { attempts: s.attempts, transactionId: s.transactionId };
              const [first, ...rest] = waiters;
              const w: Waiter = first ?? { msg: orphan(s), send: (m) => node.send(m as never), done: (err) => err && node.error(err.message, orphanMsg) };
              const orphanMsg = w.msg;
              withOutcome(w.msg, s);
              fail(w, e, extra);
              for (const r of rest) r.done();
            },
            failed: (e, waiters) => {
              for (const w of waiters) fail(w, e);
            },
            settledElsewhere: (s, waiters) => {
              for (const w of waiters) {
                withOutcome(w.msg, s);
                w.done();
              }
              statusQueued();
            },
            retry: (s, at, error) => {
              const masked = maskCpr(error);
              const short = masked.length > 30 ? masked.slice(0, 29) + '…' : masked;
              const time = at.toISOString().slice(11, 19);
              if (!retryDot) node.status({ fill: 'yellow', shape: 'ring', text: t('retry', { time, reason: short }, `retry ${time}: ${short}`) });
            },
            queued: () => statusQueued(),
            error: (err) => {
              // a ledger that is down fails every poll: say so once a minute, not every second
              const text = `fordeling out: ${maskCpr(err.message)}`;
              if (text === lastWarning.text && Date.now() - lastWarning.at < 60_000) return;
              lastWarning = { text, at: Date.now() };
              node.warn(text);
            },
          },
        });
        durable.start();
        nodesById.set(node.id, { resend: (id) => durable!.resend(id) });
        (node as unknown as { resend: (id: string) => Promise<ShipmentRecord> }).resend = (id) => durable!.resend(id);
      } catch (err) {
        node.error(`fordeling out: ${(err as Error).message}`);
        node.status({ fill: 'red', shape: 'ring', text: t('notConfigured', {}, 'not configured') });
      }
    }

    node.on('input', async (msgIn, send, done) => {
      const msg = msgIn as Msg;
      const w: Waiter = { msg, send: send as Waiter['send'], done };
      try {
        if (msg.topic === 'FordelingsmodtagerList') {
          inFlight++;
          node.status(sending());
          try {
            await handleList(msg);
          } finally {
            inFlight--;
          }
          statusQueued();
          send([msg, null]);
          done();
          return;
        }
        const ctx = context();
        if (!durable) throw new Error('fordeling out: delivery is not available (see the node\'s error at start)');
        if (msg.topic === 'resend') {
          const id = String(msg.transactionId ?? '').trim();
          if (!UUID_PATTERN.test(id)) throw invalid('msg.topic "resend" needs msg.transactionId (the AnvenderTransaktionsID, a UUID)');
          msg.transactionId = id.toLowerCase();
          await durable.resend(id, w);
          return;
        }
        const p = plan(msg, ctx);
        msg.transactionId = p.transactionId;
        const inboxId = typeof msg._os2InboxId === 'string' ? [msg._os2InboxId] : [];
        await durable.accept(p.transactionId, p.prepare, w, inboxId);
      } catch (err) {
        fail(w, asDeliveryError(err));
      }
    });

    node.on('close', (_removed: boolean, closed: () => void) => {
      offBreaker();
      if (retryDot) clearTimeout(retryDot);
      if (nodesById.get(node.id)?.resend && durable) nodesById.delete(node.id);
      (durable ? durable.stop() : Promise.resolve()).catch((err: Error) => node.warn(err.message)).finally(closed);
    });
  }

  RED.nodes.registerType('os2-fordeling-out', FordelingOutNode);

  if (!routedAdmins.has(RED.httpAdmin)) {
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
  }
};
