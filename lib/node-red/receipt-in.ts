/**
 * receipt in's two receiving stages without the node's registration: the SOAP endpoint FordelingskvitteringModtag
 * (authenticate → read the body, bounded → parse → record through the outbox → answer → emit) and the message a
 * receipt becomes — the same shape for SOAP and SFTP receipts, on output 1 accepted, 2 rejected, 3 unknown shipment.
 */
import type { Request, Response } from 'express';
import type { TLSSocket } from 'node:tls';
import { handleReceipt, type AuthResult, type CallerInfo } from '../delivery/receipt-handling';
import type { Ledger, ShipmentRecord } from '../ledger/types';
import { buildReceiptResponse, parseReceiptRequest } from '../sf2900/receipts';
import { buildSoapFault, isSoapFault } from '../sf2900/soap';

/** Largest receipt request accepted (receipts are small; this bounds memory per request). */
export const MAX_RECEIPT_BYTES = 1024 * 1024;
const XML = 'text/xml; charset=utf-8';

export type ReceiptOutcome = 'accepted' | 'rejected' | 'unknown';

export interface ReceiptEvent {
  receipt: { type: string; code: string; reason?: string; errors: Array<{ code: string; text: string }> };
  outcome: ReceiptOutcome;
  shipment?: ShipmentRecord;
  transactionId?: string;
  distributionTransactionId?: string;
  /** SFTP receipts: the file and what it said. */
  sftp?: Record<string, unknown>;
}

/** The three outputs for a receipt: its message on the output of its outcome. */
export function receiptOutputs(e: ReceiptEvent, msgid: string): Array<Record<string, unknown> | null> {
  const submissionId = e.shipment?.submissionId;
  const msg = {
    _msgid: msgid,
    topic: e.receipt.code,
    payload: { receipt: e.receipt, shipment: e.shipment, submissionId, ...(e.sftp ? { sftp: e.sftp } : {}) },
    receipt: e.receipt,
    shipment: e.shipment,
    submissionId,
    transactionId: e.transactionId,
    distributionTransactionId: e.distributionTransactionId ?? e.shipment?.distributionTransactionId,
    ...(e.sftp ? { sftp: e.sftp } : {}),
  };
  const outputs: Array<Record<string, unknown> | null> = [null, null, null];
  outputs[e.outcome === 'accepted' ? 0 : e.outcome === 'rejected' ? 1 : 2] = msg;
  return outputs;
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

/** A SOAP fault with a TransportKvittering FEJL, as the anvender WSDL answers a refused request. */
export function receiptFault(res: Response, status: number, code: 'Client' | 'Server', text: string): void {
  res
    .status(status)
    .type(XML)
    .send(buildSoapFault({ faultCode: code, faultString: text, transportKvittering: { code: 'FEJL', reason: text, errors: [] }, transportKvitteringNs: 'v2' }));
}

export interface ReceiptEndpointOptions {
  authenticate: (c: CallerInfo) => AuthResult;
  ledger: () => Ledger;
  /** A new receipt (not an exact duplicate), recorded. */
  onReceipt: (e: ReceiptEvent) => void;
  onDuplicate: (code: string) => void;
  warn: (text: string) => void;
  error: (text: string) => void;
}

/** The express handler of the receipt endpoint. */
export function receiptEndpoint(o: ReceiptEndpointOptions): (req: Request, res: Response) => void {
  return (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const verdict = o.authenticate({
      remoteAddress: socket.remoteAddress,
      authorization: req.headers.authorization,
      peerFingerprint256: peer?.fingerprint256 || undefined,
    });
    if (!verdict.ok) {
      o.warn(`receipt in: refused a caller (${verdict.status}): ${verdict.reason}`);
      if (verdict.status === 401) res.set('WWW-Authenticate', 'Basic realm="receipt in", charset="UTF-8"');
      receiptFault(res, verdict.status, 'Client', verdict.status === 401 ? 'Authentication required' : 'Forbidden');
      return;
    }
    void receive(o, req, res).catch((err) => {
      o.error(`receipt in: ${(err as Error).message}`);
      if (!res.headersSent) receiptFault(res, 500, 'Server', 'Internal error');
    });
  };
}

async function receive(o: ReceiptEndpointOptions, req: Request, res: Response): Promise<void> {
  let text: string;
  try {
    text = await readBody(req, MAX_RECEIPT_BYTES);
  } catch (err) {
    receiptFault(res, (err as { status?: number }).status ?? 400, 'Client', (err as Error).message);
    return;
  }
  let parsed: ReturnType<typeof parseReceiptRequest>;
  try {
    parsed = parseReceiptRequest(text);
  } catch (err) {
    const reason = isSoapFault(err) ? 'a SOAP fault is not a receipt' : (err as Error).message;
    o.warn(`receipt in: malformed request: ${reason}`);
    receiptFault(res, 500, 'Client', `Malformed FordelingskvitteringModtagAnvenderRequest: ${reason}`);
    return;
  }
  let handled: Awaited<ReturnType<typeof handleReceipt>>;
  try {
    handled = await handleReceipt(o.ledger(), parsed, text);
  } catch (err) {
    o.error(`receipt in: cannot store the receipt: ${(err as Error).message}`);
    receiptFault(res, 500, 'Server', 'The receipt could not be stored; please resend');
    return;
  }
  res.status(200).type(XML).send(buildReceiptResponse());
  if (handled.duplicate) return o.onDuplicate(parsed.receipt.code);
  o.onReceipt({
    receipt: { type: parsed.receipt.type, code: parsed.receipt.code, reason: parsed.receipt.reason, errors: parsed.receipt.errors ?? [] },
    outcome: handled.outcome,
    shipment: handled.shipment,
    transactionId: parsed.transactionId,
    distributionTransactionId: parsed.distributionTransactionId,
  });
}
