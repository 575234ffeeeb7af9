/**
 * `os2-receipt-in`: the sender's endpoint FordelingskvitteringModtag (DistributionServiceAnvenderV2.wsdl) on a path
 * of Node-RED's HTTP server. Authenticates the caller (pinned client-certificate fingerprint, basic auth, IP
 * allow-list), correlates each receipt with its shipment in the ledger, and emits it on
 * 1 accepted/received, 2 rejected/failed, 3 unknown shipment. Exact duplicates are answered but not emitted.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { statusText } from '../../lib/node-red/status-text';
import type { Request, Response, NextFunction } from 'express';
import type { TLSSocket } from 'node:tls';
import type { Ledger } from '../../lib/ledger/types';
import { ledgerFor } from '../../lib/node-red/ledger';
import { buildReceiptResponse, parseReceiptRequest } from '../../lib/sf2900/receipts';
import { buildSoapFault, isSoapFault } from '../../lib/sf2900/soap';
import { handleReceipt, receiptAuthenticator, splitList, type AuthResult, type CallerInfo } from '../../lib/delivery/receipts';
import { SftpReceiptPoller, type SftpReceiptEvent } from '../../lib/delivery/sftp-receipts';
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

function secondsOr(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 && value !== '' && value !== undefined ? Math.round(n * 1000) : fallback * 1000;
}

interface Creds {
  user?: string;
  password?: string;
}

/** Largest receipt request accepted (receipts are small; this bounds memory per request). */
const MAX_BODY_BYTES = 1024 * 1024;
const XML = 'text/xml; charset=utf-8';

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

function readBody(req: Request, limit: number): Promise<string> {
  const pre = (req as unknown as { body?: unknown }).body;
  if (typeof pre === 'string') return Promise.resolve(pre);
  if (Buffer.isBuffer(pre)) return Promise.resolve(pre.toString('utf8'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(Object.assign(new Error(`request larger than ${limit} bytes`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function fault(res: Response, status: number, code: 'Client' | 'Server', text: string): void {
  res
    .status(status)
    .type(XML)
    .send(buildSoapFault({ faultCode: code, faultString: text, transportKvittering: { code: 'FEJL', reason: text, errors: [] }, transportKvitteringNs: 'v2' }));
}

export = function (RED: NodeAPI) {
  function ReceiptInNode(this: Node<Record<keyof Creds, unknown>>, config: ReceiptInDef) {
    RED.nodes.createNode(this, config);
    const t = statusText(RED, 'os2-receipt-in');
    const node = this;
    const creds = (this.credentials ?? {}) as Creds;
    let path = (config.path ?? '').trim();
    if (path && !path.startsWith('/')) path = '/' + path;
    const mode = config.mode === 'sftp' || config.mode === 'both' ? config.mode : 'soap';

    let authenticate: ((c: CallerInfo) => AuthResult) | undefined;
    let configError: string | undefined;
    if (mode !== 'sftp') {
      try {
        if (!path) throw new Error('receipt in: no path configured');
        authenticate = receiptAuthenticator({
          fingerprints: splitList(config.fingerprints),
          allow: splitList(config.allow),
          basic: creds.user ? { user: creds.user, password: creds.password ?? '' } : undefined,
        });
      } catch (err) {
        configError = (err as Error).message.startsWith('receipt in') ? (err as Error).message : `receipt in: ${(err as Error).message}`;
      }
    }
    const ledgerNode = config.ledger ? (RED.nodes.getNode(config.ledger) as unknown as { ledger(): Ledger } | null) : null;
    if (!configError && config.ledger && !ledgerNode) configError = 'receipt in: the chosen ledger configuration is missing';

    // SFTP mode: receipt files in the SFTP service's IN folder (lib/delivery/sftp-receipts.ts).
    const sftpNode = config.sftp ? (RED.nodes.getNode(config.sftp) as unknown as SftpConfig | null) : null;
    if (!configError && mode !== 'soap') {
      if (!sftpNode) configError = config.sftp ? 'receipt in: the chosen SFTP configuration is missing' : 'receipt in: SFTP mode needs an SFTP configuration';
      else if (sftpNode.configError) configError = `receipt in: ${sftpNode.configError}`;
    }
    let sftpCount = 0;
    if (!configError && sftpNode && mode !== 'soap') {
      const grace = secondsOr(config.sftpGrace, 60);
      const disposal =
        config.sftpDisposal === 'delete' || (config.sftpDisposal !== 'archive' && sftpNode.receipts.disposal === 'delete') ? 'delete' : 'archive';
      const poller = new SftpReceiptPoller({
        sftp: sftpNode,
        ledger: ledgerFor(RED, ledgerNode),
        disposal,
        graceMs: grace,
        waitWindowMs: sftpNode.receipts.timeoutMs + grace,
        intervalMs: Math.max(secondsOr(config.sftpInterval, 30), 100),
        onError: (err) => node.warn(`receipt in (SFTP): ${err.message}`),
        onReceipt: (e: SftpReceiptEvent) => {
          sftpCount++;
          const type =
            e.receipt.kind === 'technical' ? 'SFTP TechnicalReceipt' : e.receipt.kind === 'business' ? 'SFTP BusinessReceipt' : 'SFTP BusinessResponse';
          const code = e.receipt.kind === 'business' ? e.receipt.acceptance : e.receipt.success ? 'SUCCESS' : 'ERROR';
          const errors = 'errors' in e.receipt ? e.receipt.errors.map((x) => ({ code: String(x.code), text: `${x.codeDescription}: ${x.description}` })) : [];
          const receipt = { type, code, reason: e.text, errors };
          const submissionId = e.shipment?.submissionId;
          const msg = {
            _msgid: RED.util.generateId(),
            topic: code,
            payload: { receipt, shipment: e.shipment, submissionId, sftp: { fileName: e.fileName, sftpName: e.sftpName, receipt: e.receipt } },
            receipt,
            shipment: e.shipment,
            submissionId,
            transactionId: e.transactionId,
            distributionTransactionId: e.shipment?.distributionTransactionId,
            sftp: { fileName: e.fileName, sftpName: e.sftpName, receipt: e.receipt },
          };
          const fill = e.outcome === 'accepted' ? 'green' : e.outcome === 'rejected' ? 'red' : 'yellow';
          node.status({
            fill,
            shape: 'dot',
            text:
              e.outcome === 'unknown'
                ? t('sftpUnknown', { n: sftpCount }, `SFTP ${sftpCount}: unknown shipment`)
                : t('sftpReceipt', { n: sftpCount, code }, `SFTP ${sftpCount}: ${code}`),
          });
          const outputs: Array<typeof msg | null> = [null, null, null];
          outputs[e.outcome === 'accepted' ? 0 : e.outcome === 'rejected' ? 1 : 2] = msg;
          node.send(outputs);
        },
      });
      poller.start();
      this.on('close', (_removed: boolean, done: () => void) => {
        poller.stop().then(done, () => done());
      });
    }
    if (mode === 'sftp') {
      if (configError) {
        node.error(configError);
        node.status({ fill: 'red', shape: 'ring', text: t('notConfigured', {}, 'not configured') });
      } else node.status({ fill: 'grey', shape: 'ring', text: t('polling', { folder: sftpNode?.folders.in ?? '' }, `SFTP ${sftpNode?.folders.in ?? ''}`) });
      return;
    }
    if (configError || !authenticate) {
      node.error(configError);
      node.status({ fill: 'red', shape: 'ring', text: t('notConfigured', {}, 'not configured') });
      return;
    }
    const auth = authenticate;
    const ledger: () => Ledger = ledgerFor(RED, ledgerNode);
    if ((RED.settings as unknown as { httpNodeRoot?: unknown }).httpNodeRoot === false) {
      node.warn('receipt in: httpNodeRoot is false, so Node-RED serves no HTTP endpoints');
      return;
    }
    let count = 0;

    const handler = (req: Request, res: Response): void => {
      const socket = req.socket as TLSSocket;
      let peerFingerprint256: string | undefined;
      if (typeof socket.getPeerCertificate === 'function') {
        const peer = socket.getPeerCertificate();
        if (peer && peer.fingerprint256) peerFingerprint256 = peer.fingerprint256;
      }
      const verdict = auth({ remoteAddress: socket.remoteAddress, authorization: req.headers.authorization, peerFingerprint256 });
      if (!verdict.ok) {
        node.warn(`receipt in: refused a caller (${verdict.status}): ${verdict.reason}`);
        if (verdict.status === 401) res.set('WWW-Authenticate', 'Basic realm="receipt in", charset="UTF-8"');
        fault(res, verdict.status, 'Client', verdict.status === 401 ? 'Authentication required' : 'Forbidden');
        return;
      }
      void (async () => {
        let text: string;
        try {
          text = await readBody(req, MAX_BODY_BYTES);
        } catch (err) {
          fault(res, (err as { status?: number }).status ?? 400, 'Client', (err as Error).message);
          return;
        }
        let parsed: ReturnType<typeof parseReceiptRequest>;
        try {
          parsed = parseReceiptRequest(text);
        } catch (err) {
          const reason = isSoapFault(err) ? 'a SOAP fault is not a receipt' : (err as Error).message;
          node.warn(`receipt in: malformed request: ${reason}`);
          fault(res, 500, 'Client', `Malformed FordelingskvitteringModtagAnvenderRequest: ${reason}`);
          return;
        }
        let handled: Awaited<ReturnType<typeof handleReceipt>>;
        try {
          handled = await handleReceipt(ledger(), parsed, text);
        } catch (err) {
          node.error(`receipt in: cannot store the receipt: ${(err as Error).message}`);
          fault(res, 500, 'Server', 'The receipt could not be stored; please resend');
          return;
        }
        res.status(200).type(XML).send(buildReceiptResponse());
        if (handled.duplicate) {
          node.status({ fill: 'grey', shape: 'dot', text: t('duplicate', { code: parsed.receipt.code }, `duplicate ${parsed.receipt.code}`) });
          return;
        }
        count++;
        const receipt = { type: parsed.receipt.type, code: parsed.receipt.code, reason: parsed.receipt.reason, errors: parsed.receipt.errors ?? [] };
        const submissionId = handled.shipment?.submissionId;
        const msg = {
          _msgid: RED.util.generateId(),
          topic: parsed.receipt.code,
          payload: { receipt, shipment: handled.shipment, submissionId },
          receipt,
          shipment: handled.shipment,
          submissionId,
          transactionId: parsed.transactionId,
          distributionTransactionId: parsed.distributionTransactionId,
        };
        const fill = handled.outcome === 'accepted' ? 'green' : handled.outcome === 'rejected' ? 'red' : 'yellow';
        node.status({
          fill,
          shape: 'dot',
          text:
            handled.outcome === 'unknown'
              ? t('unknown', { n: count }, `${count}: unknown shipment`)
              : t('receipt', { n: count, code: parsed.receipt.code }, `${count}: ${parsed.receipt.code}`),
        });
        const outputs: Array<typeof msg | null> = [null, null, null];
        outputs[handled.outcome === 'accepted' ? 0 : handled.outcome === 'rejected' ? 1 : 2] = msg;
        node.send(outputs);
      })().catch((err) => {
        node.error(`receipt in: ${(err as Error).message}`);
        if (!res.headersSent) fault(res, 500, 'Server', 'Internal error');
      });
    };

    const errorHandler = (err: Error, _req: Request, res: Response, next: NextFunction): void => {
      if (res.headersSent) return next(err);
      fault(res, 500, 'Server', 'Internal error');
    };
    RED.httpNode.post(path, handler, errorHandler);
    node.status({ fill: 'grey', shape: 'ring', text: t('listening', { path }, path) });

    this.on('close', (_removed: boolean, done: () => void) => {
      const router = (RED.httpNode as unknown as { _router?: { stack: RouterLayer[] } })._router;
      if (router) {
        for (let i = router.stack.length - 1; i >= 0; i--) {
          const layer = router.stack[i];
          if (layer.route && layer.route.path === path && layer.route.methods.post) router.stack.splice(i, 1);
        }
      }
      done();
    });
  }

  RED.nodes.registerType('os2-receipt-in', ReceiptInNode, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
};
