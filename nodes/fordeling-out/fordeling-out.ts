/**
 * `os2-fordeling-out`: delivers a FordelingsObject (or an expert's complete XML anmodning) to the
 * Fordelingskomponent with FordelingsobjektAfsend over mutual TLS, recording the shipment in the ledger before
 * sending. Output 1: accepted (both transaction IDs, ForretningsKvittering). Output 2: failed (classified), also
 * reported with done(err) for Catch nodes. msg.topic "FordelingsmodtagerList" asks who receives for a routing.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { Ledger } from '../../lib/ledger/types';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import type { FordelingsObject } from '../../lib/sf2900/model';
import { CVR_PATTERN, KLE_PATTERN, UUID_PATTERN } from '../../lib/sf2900/model';
import { buildAfsendRequestFromAnmodning } from '../../lib/sf2900/afsend';
import { transactionIdFor } from '../../lib/sf2900/transaction-id';
import { parseXmlSafely } from '../../lib/xml/safe-xml';
import { deliver, deliverXml, listReceivers, type DeliveryContext, type DeliveryResult } from '../../lib/delivery/deliver';
import { DeliveryError } from '../../lib/delivery/errors';
import type { ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import { filesOf, sftpPrepareFiles } from '../../lib/delivery/sftp-files';
import type { SftpConfig } from '../../lib/sftp';

interface FordelingOutDef extends NodeDef {
  serviceplatform: string;
  ledger?: string;
  /** Optional os2-sftp config: files (DOKUMENT's file, attachments) go by SFTP before FordelingsobjektAfsend. */
  sftp?: string;
  /** Look the trigger's RecipientIt-system up with FordelingsmodtagerList (used when exactly one system matches). */
  sftpLookup?: boolean;
}

type Msg = NodeMessageInFlow & Record<string, unknown>;

function invalid(reason: string): DeliveryError {
  return new DeliveryError({ class: 'permanent', code: 'INVALID', reason, errors: [] });
}

function asDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  return new DeliveryError({ class: 'permanent', code: 'CONFIG', reason: String((err as Error)?.message ?? err), errors: [] });
}

export = function (RED: NodeAPI) {
  function FordelingOutNode(this: Node, config: FordelingOutDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    /** A status text from the locale catalogue, or the English text when none is loaded (e.g. under the test helper). */
    const t = (key: string, vars: Record<string, string | number>, english: string): string => {
      const id = `os2-fordeling-out.status.${key}`;
      const text = (RED as unknown as { _: (k: string, v: object) => string })._(id, vars);
      return typeof text === 'string' && text !== id && !text.endsWith(id) ? text : english;
    };
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

    const ledger = (): Ledger => (ledgerNode ? ledgerNode.ledger() : defaultLedger());
    const context = (): DeliveryContext => {
      if (configError || !sp) throw new Error(configError);
      if (sp.configError) throw new Error(sp.configError);
      const base = { endpoint: sp.endpoint(), transport: sp.transport(), security: sp.security?.(), ledger: ledger() };
      let prepareFiles: DeliveryContext['prepareFiles'];
      if (sftpNode) {
        if (sftpNode.configError) throw new Error(sftpNode.configError);
        prepareFiles = sftpPrepareFiles({
          sftp: sftpNode,
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

    async function handleDelivery(msg: Msg): Promise<DeliveryResult> {
      const ctx = context();
      if (typeof msg.payload === 'string') {
        const transactionId = String(msg.transactionId ?? '').trim();
        if (!UUID_PATTERN.test(transactionId)) throw invalid('An XML anmodning in msg.payload needs msg.transactionId (the AnvenderTransaktionsID, a UUID)');
        let requestXml: string;
        try {
          const root = parseXmlSafely(msg.payload, 'msg.payload').documentElement;
          if (root?.localName === 'FordelingsobjektAfsendRequest') requestXml = msg.payload.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
          else requestXml = buildAfsendRequestFromAnmodning(msg.payload, ctx.endpoint.senderCvr);
        } catch (err) {
          throw invalid(`msg.payload is not a usable anmodning: ${(err as Error).message}`);
        }
        const submissionId = typeof msg.submissionId === 'string' ? msg.submissionId : undefined;
        return deliverXml(requestXml, { transactionId, submissionId }, ctx);
      }
      const obj = msg.payload as FordelingsObject;
      if (obj && typeof obj === 'object' && typeof obj.submissionId === 'string' && obj.submissionId) {
        msg.transactionId = transactionIdFor(obj.submissionId, obj.webformId);
      }
      if (obj && typeof obj === 'object' && !sftpNode) {
        const count = filesOf(obj).length;
        if (count) throw invalid(`The ${obj.objektType ?? 'object'} carries ${count} file(s), which go by SFTP, but no SFTP configuration is chosen in fordeling out`);
      }
      return deliver(obj, ctx);
    }

    node.on('input', async (msgIn, send, done) => {
      const msg = msgIn as Msg;
      inFlight++;
      node.status(sending());
      try {
        if (msg.topic === 'FordelingsmodtagerList') {
          await handleList(msg);
        } else {
          const r = await handleDelivery(msg);
          msg.transactionId = r.transactionId;
          msg.distributionTransactionId = r.distributionTransactionId;
          msg.receipt = r.receipt;
          msg.shipment = r.shipment;
        }
        inFlight--;
        node.status(inFlight ? sending() : { fill: 'green', shape: 'dot', text: t('sent', {}, 'sent') });
        send([msg, null]);
        done();
      } catch (err) {
        inFlight--;
        const e = asDeliveryError(err);
        msg.error = e.toJSON();
        const short = e.reason.length > 40 ? e.reason.slice(0, 39) + '…' : e.reason;
        node.status({ fill: 'red', shape: 'ring', text: t('failed', { reason: short }, `failed: ${short}`) });
        send([null, msg]);
        const reported = new Error(`${e.class}: ${e.reason}`);
        done(reported);
      }
    });
  }

  RED.nodes.registerType('os2-fordeling-out', FordelingOutNode);
};
