/**
 * `os2-receipt-in`: the sender's endpoint FordelingskvitteringModtag (DistributionServiceAnvenderV2.wsdl) on a path
 * of Node-RED's HTTP server, and/or the SFTP service's IN folder. Authenticates the caller (pinned client-certificate
 * fingerprint, basic auth, IP allow-list), records each receipt through the outbox, and emits it on 1 accepted/received,
 * 2 rejected/failed, 3 unknown shipment; exact duplicates are answered but not emitted. The stages are
 * lib/node-red/receipt-in.ts and lib/delivery/sftp-receipts.ts; this file reads the settings and registers.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { receiptAuthenticator, splitList } from '../../lib/delivery/receipt-handling';
import { SftpReceiptPoller, type SftpReceiptEvent } from '../../lib/delivery/sftp-receipts';
import type { Ledger } from '../../lib/ledger/types';
import { ledgerFor } from '../../lib/node-red/ledger';
import { installRawBodyHook } from '../../lib/node-red/raw-body-hook';
import { receiptEndpoint, receiptFault, receiptOutputs, type ReceiptEvent } from '../../lib/node-red/receipt-in';
import { removeRoute } from '../../lib/node-red/routes';
import { statusText } from '../../lib/node-red/status-text';
import type { SftpConfig } from '../../lib/sftp';

interface ReceiptInDef extends NodeDef {
  path: string;
  fingerprints?: string;
  allow?: string;
  ledger?: string;
  /** soap (default): the HTTP endpoint; sftp: poll the SFTP service's IN folder; both. */
  mode?: string;
  sftp?: string;
  /** SFTP mode: poll interval and grace period (seconds), what to do with a processed file. */
  sftpInterval?: string | number;
  sftpGrace?: string | number;
  sftpDisposal?: string;
}

const seconds = (v: unknown, fallback: number) =>
  v !== '' && v !== undefined && Number.isFinite(Number(v)) && Number(v) >= 0 ? Math.round(Number(v) * 1000) : fallback * 1000;
const SFTP_TYPES = { technical: 'SFTP TechnicalReceipt', business: 'SFTP BusinessReceipt', businessResponse: 'SFTP BusinessResponse' } as const;

/** An SFTP receipt as the message shape both kinds of receipt share. */
function sftpEvent(e: SftpReceiptEvent): ReceiptEvent {
  const r = e.receipt;
  const code = r.kind === 'business' ? r.acceptance : r.success ? 'SUCCESS' : 'ERROR';
  const errors = 'errors' in r ? r.errors.map((x) => ({ code: String(x.code), text: `${x.codeDescription}: ${x.description}` })) : [];
  return {
    receipt: { type: SFTP_TYPES[r.kind], code, reason: e.text, errors },
    outcome: e.outcome,
    shipment: e.shipment,
    transactionId: e.transactionId,
    sftp: { fileName: e.fileName, sftpName: e.sftpName, receipt: r },
  };
}

export = function (RED: NodeAPI) {
  function ReceiptInNode(this: Node<{ user: unknown; password: unknown }>, config: ReceiptInDef) {
    RED.nodes.createNode(this, config);
    const t = statusText(RED, 'os2-receipt-in');
    const node = this;
    const raw = (config.path ?? '').trim();
    const path = raw.startsWith('/') ? raw : `/${raw}`;
    const mode = config.mode === 'sftp' || config.mode === 'both' ? config.mode : 'soap';
    const ledgerNode = config.ledger ? (RED.nodes.getNode(config.ledger) as unknown as { ledger(): Ledger } | null) : null;
    const sftpNode = config.sftp ? (RED.nodes.getNode(config.sftp) as unknown as SftpConfig | null) : null;
    const ledger = ledgerFor(RED, ledgerNode);
    let configError: string | undefined;
    let authenticate: ReturnType<typeof receiptAuthenticator> | undefined;
    try {
      if (mode !== 'sftp') {
        if (!raw) throw new Error('no path configured');
        const creds = (this.credentials ?? {}) as { user?: string; password?: string };
        authenticate = receiptAuthenticator({
          fingerprints: splitList(config.fingerprints),
          allow: splitList(config.allow),
          basic: creds.user ? { user: creds.user, password: creds.password ?? '' } : undefined,
        });
      }
      if (config.ledger && !ledgerNode) throw new Error('the chosen ledger configuration is missing');
      if (mode !== 'soap' && !sftpNode) throw new Error(config.sftp ? 'the chosen SFTP configuration is missing' : 'SFTP mode needs an SFTP configuration');
      if (mode !== 'soap' && sftpNode?.configError) throw new Error(sftpNode.configError);
    } catch (err) {
      configError = `receipt in: ${(err as Error).message.replace(/^receipt in: /, '')}`;
      node.error(configError);
      node.status({ fill: 'red', shape: 'ring', text: t('notConfigured', {}, 'not configured') });
      return;
    }

    let count = 0;
    const emit = (e: ReceiptEvent, via: 'soap' | 'sftp') => {
      count++;
      const n = count;
      const code = e.receipt.code;
      const prefix = via === 'sftp' ? 'sftp' : '';
      const text =
        e.outcome === 'unknown'
          ? t(prefix ? 'sftpUnknown' : 'unknown', { n }, `${prefix ? 'SFTP ' : ''}${n}: unknown shipment`)
          : t(prefix ? 'sftpReceipt' : 'receipt', { n, code }, `${prefix ? 'SFTP ' : ''}${n}: ${code}`);
      node.status({ fill: e.outcome === 'accepted' ? 'green' : e.outcome === 'rejected' ? 'red' : 'yellow', shape: 'dot', text });
      node.send(receiptOutputs(e, RED.util.generateId()));
    };

    if (mode !== 'soap' && sftpNode) {
      const grace = seconds(config.sftpGrace, 60);
      const poller = new SftpReceiptPoller({
        sftp: sftpNode,
        ledger,
        disposal: config.sftpDisposal === 'delete' || (config.sftpDisposal !== 'archive' && sftpNode.receipts.disposal === 'delete') ? 'delete' : 'archive',
        graceMs: grace,
        waitWindowMs: sftpNode.receipts.timeoutMs + grace,
        intervalMs: Math.max(seconds(config.sftpInterval, 30), 100),
        onError: (err) => node.warn(`receipt in (SFTP): ${err.message}`),
        onReceipt: (e) => emit(sftpEvent(e), 'sftp'),
      });
      poller.start();
      node.on('close', (_removed: boolean, done: () => void) => void poller.stop().then(done, () => done()));
      if (mode === 'sftp') {
        node.status({ fill: 'grey', shape: 'ring', text: t('polling', { folder: sftpNode.folders.in }, `SFTP ${sftpNode.folders.in}`) });
        return;
      }
    }
    if ((RED.settings as unknown as { httpNodeRoot?: unknown }).httpNodeRoot === false) {
      node.warn('receipt in: httpNodeRoot is false, so Node-RED serves no HTTP endpoints');
      return;
    }
    const handler = receiptEndpoint({
      authenticate: authenticate!,
      ledger,
      onReceipt: (e) => emit(e, 'soap'),
      onDuplicate: (code) => node.status({ fill: 'grey', shape: 'dot', text: t('duplicate', { code }, `duplicate ${code}`) }),
      warn: (text) => node.warn(text),
      error: (text) => node.error(text),
    });
    const errorHandler = (err: Error, _req: Request, res: Response, next: NextFunction): void => {
      if (res.headersSent) return next(err);
      receiptFault(res, 500, 'Server', 'Internal error');
    };
    RED.httpNode.post(path, handler, errorHandler);
    // Node-RED's admin app, mounted first, would parse JSON and form bodies on this path too: the endpoint reads its own.
    const removeRawBodyHook = installRawBodyHook(RED.httpNode, RED.settings as never, path);
    node.status({ fill: 'grey', shape: 'ring', text: t('listening', { path }, path) });
    node.on('close', (_removed: boolean, done: () => void) => {
      removeRoute(RED.httpNode, path, 'post');
      removeRawBodyHook();
      done();
    });
  }

  RED.nodes.registerType('os2-receipt-in', ReceiptInNode, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
};
