/**
 * receipt in's two receiving stages without the node's registration: the SOAP endpoint FordelingskvitteringModtag
 * (authenticate → SOAPAction → read the body, bounded → parse → record through the outbox → answer → emit) and the
 * message a receipt becomes — the same shape for SOAP and SFTP receipts, on output 1 accepted, 2 rejected, 3 unknown
 * shipment. Whatever is refused is answered with a SOAP 1.1 fault and stores nothing.
 */
import type { Request, Response } from 'express';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { handleReceipt, type AuthResult, type CallerInfo } from '../delivery/receipt-handling';
import type { Ledger, ShipmentRecord } from '../ledger/types';
import type { RawBodyRequest } from './raw-body-hook';
import { buildReceiptResponse, isReceiptSoapAction, parseReceiptRequest, SoapVersionMismatchError } from '../sf2900/receipts';
import { buildSoapFault } from '../sf2900/soap';

/** Largest receipt request accepted (receipts are small; this bounds memory per request). */
export const MAX_RECEIPT_BYTES = 1024 * 1024;
/**
 * How long a connection closed after a refusal stays half-open (our side shut, nothing more read) before it is
 * destroyed: time for the answer to reach the caller before the reset that unread data causes.
 */
export const CLOSE_LINGER_MS = 2000;
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

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request body as text, at most `limit` bytes: a declared Content-Length over the limit is refused before anything
 * is read, a longer body as soon as it passes the limit — reading stops there (the rest is never buffered).
 */
function readBody(req: Request, limit: number): Promise<string> {
  const r = req as unknown as RawBodyRequest;
  if (typeof r.body === 'string') return Promise.resolve(r.body);
  if (Buffer.isBuffer(r.body)) return Promise.resolve(r.body.toString('utf8'));
  // A parser in front consumed the stream (the raw-body hook keeps Node-RED's admin app off this path; another did).
  if (r._body && !r.os2BodyClaimed) return Promise.reject(new BodyError(415, 'the request body was consumed before receipt in; not a SOAP message'));
  const tooLarge = () => new BodyError(413, `request larger than ${limit} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Answers a request whose body was not (all) read, then closes the connection in stages (RFC 9112 §9.6), so the
 * caller receives the answer even while it is still sending: reading stops, the answer goes out with
 * `Connection: close`, our side of the connection is shut once it is written, and the socket is destroyed
 * CLOSE_LINGER_MS later (or when the caller has closed). Node ends a `Connection: close` answer with
 * `socket.destroySoon()`, which destroys the socket as soon as the answer is written; with the caller's data still
 * unread that sends a TCP reset, which can wipe the answer from the caller's buffers before it reads it — so for this
 * socket destroySoon only shuts our side, and the timer destroys it.
 */
function answerThenClose(req: Request, res: Response, answer: () => void): void {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  // read(0) takes no data but marks the body as taken, so Node does not drain it (read and discard all of it) after
  // the answer; pause() stops the flow, and the socket stops reading once a few kilobytes wait in the request.
  req.read(0);
  req.pause();
  socket.destroySoon = () => {
    if (!socket.writableEnded) socket.end();
  };
  res.once('finish', () => {
    const timer = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  res.set('Connection', 'close');
  answer();
}

/** A SOAP fault with a TransportKvittering FEJL, as the anvender WSDL answers a refused request. */
export function receiptFault(res: Response, status: number, code: 'Client' | 'Server' | 'VersionMismatch', text: string): void {
  res
    .status(status)
    .type(XML)
    .send(buildSoapFault({ faultCode: code, faultString: text, transportKvittering: { code: 'FEJL', reason: text, errors: [] }, transportKvitteringNs: 'v2' }));
}

/** A fault for a request refused before its body was read: the connection is closed unless the body is all in. */
function refuseUnread(req: Request, res: Response, status: number, code: 'Client' | 'Server', text: string): void {
  if (req.complete) receiptFault(res, status, code, text);
  else answerThenClose(req, res, () => receiptFault(res, status, code, text));
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
      refuseUnread(req, res, verdict.status, 'Client', verdict.status === 401 ? 'Authentication required' : 'Forbidden');
      return;
    }
    const header = req.headers.soapaction;
    const action = Array.isArray(header) ? header.join(', ') : header;
    if (action !== undefined && !isReceiptSoapAction(action)) {
      const shown = action.length > 100 ? `${action.slice(0, 100)}…` : action;
      o.warn(`receipt in: refused a request with SOAPAction ${shown}`);
      refuseUnread(req, res, 500, 'Client', `Unexpected SOAPAction ${shown}: FordelingskvitteringModtag has soapAction ""`);
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
    const status = err instanceof BodyError ? err.status : 400;
    o.warn(`receipt in: refused a request (${status}): ${(err as Error).message}`);
    answerThenClose(req, res, () => receiptFault(res, status, 'Client', (err as Error).message));
    return;
  }
  let parsed: ReturnType<typeof parseReceiptRequest>;
  try {
    parsed = parseReceiptRequest(text);
  } catch (err) {
    const reason = (err as Error).message;
    o.warn(`receipt in: malformed request: ${reason}`);
    if (err instanceof SoapVersionMismatchError) receiptFault(res, 500, 'VersionMismatch', `SOAP version mismatch: ${reason}`);
    else receiptFault(res, 500, 'Client', `Malformed FordelingskvitteringModtagAnvenderRequest: ${reason}`);
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
