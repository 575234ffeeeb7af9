/**
 * A local stand-in for the Serviceplatform's Fordelingskomponent (SF2900, DistributionService/3, certificate model).
 *
 * - HTTPS on loopback with its own test CA; a TLS client certificate from that CA is required
 *   (requestCert + rejectUnauthorized), and AuthorityContext/MunicipalityCVR must equal the CVR in its subject.
 * - POST {SERVICE_PATH}: FordelingsobjektAfsend, FordelingsmodtagerList, FordelingsmodtagerValider, chosen by the
 *   body element and checked against the SOAPAction header. Each request body is validated against the official
 *   contract (DistributionServiceMsg.xsd); a malformed request gets a SOAP fault with TransportKvittering FEJL.
 * - After an accepted FordelingsobjektAfsend it posts a Teknisk receipt (MODTAGET) and later a Forretning receipt
 *   (ACCEPTERET, or by rule AFVIST/FEJLET, e.g. a KLE subject no receiver is set up for) to the sender's endpoint.
 * - Fault switches (`sim.faults`) may be changed at any time; counters in `sim.stats`.
 *
 * - Token model (simulator/token.ts) on a second HTTPS port without client-certificate authentication: an STS at
 *   STS_PATH issuing SAML assertions to known certificates, and SERVICE_PATH verifying assertion, signature,
 *   timestamp and MessageID (replay) before handling the request as in the certificate model.
 *
 * Fault codes in TransportKvittering (FejlKode) are the simulator's own: the real platform's codes are not public.
 */
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo, Socket } from 'net';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomUUID } from 'crypto';
import type { PeerCertificate, TLSSocket } from 'tls';
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import { buildAfsendResponse, parseAfsendRequest } from '../lib/sf2900/afsend';
import { child, childElements } from '../lib/xml/dom';
import {
  buildModtagerListResponse,
  buildModtagerValiderResponse,
  parseModtagerListRequest,
  parseModtagerValiderRequest,
  type ModtagerSystem,
} from '../lib/sf2900/modtager-list';
import { NS, SERVICE_PATH, SOAP_ACTIONS, SOAP11_CONTENT_TYPE } from '../lib/sf2900/namespaces';
import type { DistributionContextData, FejlEntry, Kvittering } from '../lib/sf2900/parts';
import { buildReceiptRequest } from '../lib/sf2900/receipts';
import { buildSoapFault, soapEnvelope } from '../lib/sf2900/soap';
import { parseXmlSafely } from '../lib/xml/safe-xml';
import { loadXsd, type XsdSchema } from '../lib/xml/xsd';
import { cvrFromSubject, generateCerts, type SimulatorCerts } from './certs';
import { STS_PATH, TokenRefusal, TokenService } from './token';

/** A receiver set up in the simulated Fordelingskomponent (a "fordelingsregel"). */
export interface ReceiverRule {
  /** The receiving authority (RoutingMyndighed). */
  authorityCvr: string;
  /** KLE subject; `*` matches any. */
  kle: string;
  /** Handling facet; absent matches any. */
  handlingFacet?: string;
  systemUuid: string;
  systemName: string;
  /** The Forretning receipt this receiver sends (default ACCEPTERET). */
  outcome?: 'ACCEPTERET' | 'AFVIST' | 'FEJLET';
  /** Begrundelse of an AFVIST/FEJLET outcome. */
  reason?: string;
}

/** KP – Ekstern Test (Netcompany) as in OS2forms' example webforms, plus a receiver by system UUID only. */
export const DEFAULT_RECEIVERS: ReceiverRule[] = [
  { authorityCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01', systemUuid: '2b2a6f0e-6c1b-4b4f-9a57-6f1d2d3c4b5a', systemName: 'KP – Ekstern Test' },
  { authorityCvr: '12345678', kle: '*', systemUuid: '7c9e6679-7425-40de-944b-e07fc1f90ae7', systemName: 'Testkommune ESDH' },
];

export interface FaultSwitches {
  /** Delay before each request is handled. */
  latencyMs?: number;
  /** Answer requests with this HTTP status (plain text, not SOAP), with httpStatusProbability (default 1). */
  httpStatus?: 500 | 502 | 503 | 504;
  httpStatusProbability?: number;
  /** Probability (0..1) of closing the connection without any answer, before the request is handled. */
  dropConnection?: number;
  /** Probability (0..1) of never answering (the client times out); the request is not handled, its connection closed after stallMs. */
  stall?: number;
  /** How long a stalled request is held before its connection is closed (default 30 s). */
  stallMs?: number;
  /** Probability (0..1) of handling an Afsend (accepting it, sending its receipts) and then dropping the connection. */
  dropAfterAccept?: number;
  /** Post every receipt twice. */
  duplicateReceipt?: boolean;
  /** Post (and await) the Teknisk receipt before the synchronous Afsend response is written. */
  receiptBeforeResponse?: boolean;
}

export interface ReceiptTarget {
  /** The sender's FordelingskvitteringModtag endpoint (http or https). Without one, no receipts are sent. */
  url?: string;
  basicAuth?: { username: string; password: string };
  /** Client certificate the simulator presents to an https receipt endpoint. */
  clientCert?: { key: string; cert: string };
  /** CA certificate(s) to trust for an https receipt endpoint. */
  ca?: string | string[];
}

export interface SimulatorOptions {
  /** Certificates to use; default: made with openssl into certDir (or a temporary directory). */
  certs?: SimulatorCerts;
  certDir?: string;
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Where the official contract lives (default $SF2900_CONTRACT_DIR, else ../shared/sf2900 from the working directory). */
  contractDir?: string;
  /** Validate request bodies against the contract XSD (default true). */
  validate?: boolean;
  /** Where receipts go (changeable later through sim.receipt). */
  receiptUrl?: string;
  receiptBasicAuth?: { username: string; password: string };
  receiptClientCert?: { key: string; cert: string };
  receiptCa?: string | string[];
  /** Delay between the Afsend response and the Teknisk receipt (default 20 ms). */
  technicalReceiptDelayMs?: number;
  /** Delay between the Teknisk and the Forretning receipt (default 150 ms). */
  businessReceiptDelayMs?: number;
  /** Retries of a receipt the sender's endpoint did not take (network error, non-2xx); default 2. */
  receiptRetries?: number;
  /** Receivers set up in the simulated Fordelingskomponent (default DEFAULT_RECEIVERS). */
  receivers?: ReceiverRule[];
  /** What to do with an AnvenderTransaktionsID already accepted: answer again with the same DistributionTransktionsID (default) or reject. */
  duplicatePolicy?: 'accept' | 'reject';
  /** Initial fault switches. */
  faults?: FaultSwitches;
  /** Random source for the fault probabilities (tests may make it deterministic). */
  random?: () => number;
  /** One line per event (default: silent). Never receives message content. */
  log?: (line: string) => void;
  /** Token model: further known client certificates (PEM; those from the simulator's CA are known anyway), assertion life. */
  token?: { clients?: string[]; tokenLifetimeMs?: number; audience?: string };
  /** Port of the token-model server (default 0, any free port). */
  tokenPort?: number;
}

export interface SimulatorStats {
  /** Every HTTP request to the service path, faulted ones included. */
  requests: number;
  /** Requests held without an answer by the `stall` fault switch. */
  stalled?: number;
  /** FordelingsobjektAfsend requests accepted (duplicates included). */
  accepted: number;
  /** Distinct AnvenderTransaktionsIDs accepted. */
  distinctTransactions: number;
  /** Accepts of an AnvenderTransaktionsID that had been accepted before. */
  duplicates: number;
  /** Requests answered with a SOAP fault. */
  faults: number;
  /** Receipts the sender's endpoint took (2xx). */
  receiptsSent: number;
  /** Receipts that could not be delivered after all retries. */
  receiptsFailed: number;
}

export interface SentReceipt {
  transactionId: string;
  distributionTransactionId: string;
  code: string;
  type: string;
  /** HTTP status of the delivery, or 0 for a network error. */
  status: number;
  ok: boolean;
  /** The request body element that was posted (for conformance tests). */
  xml: string;
  at: Date;
}

export interface Shipment {
  transactionId: string;
  distributionTransactionId: string;
  context: DistributionContextData;
  objektType?: string;
  objectId?: string;
  formularType?: string;
  /** How many times it was accepted. */
  count: number;
  receiver?: ReceiverRule;
  /** SHA-256 (hex) of the decoded FormularIndhold of a FORMULAR, as it arrived. */
  formularContentSha256?: string;
}

export interface Simulator extends EventEmitter {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** url + SERVICE_PATH */
  readonly serviceUrl: string;
  readonly port: number;
  readonly certs: SimulatorCerts;
  /** The CA a client must trust (PEM) and whose client certificates are accepted. */
  readonly ca: string;
  /** Token model: https://127.0.0.1:<token port> (use as base URL), its service URL and the STS URL. */
  readonly tokenUrl: string;
  readonly tokenServiceUrl: string;
  readonly stsUrl: string;
  /** The STS signing certificate (PEM) a client pins. */
  readonly stsCert: string;
  /** Token model state and switches: tokenLifetimeMs, clockOffsetMs, revokeBefore, clients, stats. */
  readonly token: TokenService;
  faults: FaultSwitches;
  receipt: ReceiptTarget;
  receivers: ReceiverRule[];
  duplicatePolicy: 'accept' | 'reject';
  readonly stats: SimulatorStats;
  readonly shipments: Map<string, Shipment>;
  readonly receiptsLog: SentReceipt[];
  /** Resolves when every scheduled receipt has been delivered (or given up). */
  idle(): Promise<void>;
  /** Resets counters, shipments and the receipt log (not the fault switches). */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

const OPERATIONS: Record<string, { action: string; name: string }> = {
  FordelingsobjektAfsendRequest: { action: SOAP_ACTIONS.afsend, name: 'FordelingsobjektAfsend' },
  FordelingsmodtagerListRequest: { action: SOAP_ACTIONS.modtagerList, name: 'FordelingsmodtagerList' },
  FordelingsmodtagerValiderRequest: { action: SOAP_ACTIONS.modtagerValider, name: 'FordelingsmodtagerValider' },
  FordelingskvitteringModtagRequest: { action: SOAP_ACTIONS.kvitteringModtag, name: 'FordelingskvitteringModtag' },
};

/** A request the platform refuses: answered as SOAP fault. */
class Refusal extends Error {
  constructor(
    readonly faultCode: 'Client' | 'Server',
    message: string,
    readonly errors: FejlEntry[],
    readonly kind: 'transport' | 'platform' = 'transport',
    readonly httpStatus = 500,
  ) {
    super(message);
  }
}

function defaultContractDir(): string {
  return process.env.SF2900_CONTRACT_DIR || path.resolve(process.cwd(), '..', 'shared', 'sf2900');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function peerCvr(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerCertificate() as PeerCertificate | undefined;
  if (!cert || !cert.subject) return undefined;
  const s = cert.subject as unknown as Record<string, string | string[] | undefined>;
  const parts = ['serialNumber', 'O', 'CN']
    .map((k) => s[k])
    .flat()
    .filter(Boolean) as string[];
  return cvrFromSubject(parts.join(' '));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Refusal('Client', `Request larger than ${MAX_BODY_BYTES} bytes`, [{ code: 'STOERRELSE', text: 'Request too large' }], 'transport', 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function matchReceiver(
  rules: ReceiverRule[],
  ctx: { routingCvr?: string; kle?: string; handlingFacet?: string; receivingSystemUuid?: string },
): ReceiverRule | undefined {
  return rules.find((r) => {
    if (r.authorityCvr !== ctx.routingCvr) return false;
    if (ctx.receivingSystemUuid) return r.systemUuid.toLowerCase() === ctx.receivingSystemUuid.toLowerCase();
    if (r.kle !== '*' && r.kle !== ctx.kle) return false;
    return !r.handlingFacet || !ctx.handlingFacet || r.handlingFacet === ctx.handlingFacet;
  });
}

export async function createSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const log = opts.log ?? (() => undefined);
  const random = opts.random ?? Math.random;
  let schema: XsdSchema | undefined;
  if (opts.validate !== false) {
    const xsd = path.join(opts.contractDir ?? defaultContractDir(), 'contract', 'DistributionServiceMsg.xsd');
    if (!fs.existsSync(xsd)) {
      throw new Error(`The SF2900 contract was not found at ${xsd}: set SF2900_CONTRACT_DIR (or contractDir / --contract-dir), or turn validation off`);
    }
    schema = await loadXsd(xsd);
  }
  // Certificates made for this instance only live in a temporary directory removed on close.
  const tempCertDir = !opts.certs && !opts.certDir ? fs.mkdtempSync(path.join(os.tmpdir(), 'sf2900-sim-')) : undefined;
  const certs = opts.certs ?? (await generateCerts(opts.certDir ?? tempCertDir!, { reuse: !!opts.certDir }));
  const techDelay = opts.technicalReceiptDelayMs ?? 20;
  const businessDelay = opts.businessReceiptDelayMs ?? 150;
  const retries = opts.receiptRetries ?? 2;

  const stats: SimulatorStats = { requests: 0, accepted: 0, distinctTransactions: 0, duplicates: 0, faults: 0, receiptsSent: 0, receiptsFailed: 0 };
  const shipments = new Map<string, Shipment>();
  const receiptsLog: SentReceipt[] = [];
  const pending = new Set<Promise<void>>();
  const timers = new Map<NodeJS.Timeout, () => void>();
  const sockets = new Set<Socket>();
  let closed = false;

  const emitter = new EventEmitter();
  const sim = emitter as Simulator & { faults: FaultSwitches; receipt: ReceiptTarget; receivers: ReceiverRule[]; duplicatePolicy: 'accept' | 'reject' };
  sim.faults = { ...(opts.faults ?? {}) };
  sim.receipt = { url: opts.receiptUrl, basicAuth: opts.receiptBasicAuth, clientCert: opts.receiptClientCert, ca: opts.receiptCa };
  sim.receivers = opts.receivers ?? DEFAULT_RECEIVERS;
  sim.duplicatePolicy = opts.duplicatePolicy ?? 'accept';

  function track(p: Promise<void>): void {
    pending.add(p);
    p.finally(() => pending.delete(p)).catch(() => undefined);
  }

  function later(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.set(t, resolve);
    });
  }

  function postOnce(target: ReceiptTarget, body: string): Promise<number> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(target.url!);
      } catch {
        resolve(0);
        return;
      }
      const headers: Record<string, string | number> = {
        'Content-Type': SOAP11_CONTENT_TYPE,
        SOAPAction: '""',
        'Content-Length': Buffer.byteLength(body),
      };
      if (target.basicAuth) headers.Authorization = `Basic ${Buffer.from(`${target.basicAuth.username}:${target.basicAuth.password}`).toString('base64')}`;
      const options: https.RequestOptions = { method: 'POST', headers, timeout: 10_000 };
      if (url.protocol === 'https:') {
        options.agent = false;
        if (target.ca) options.ca = target.ca;
        if (target.clientCert) {
          options.key = target.clientCert.key;
          options.cert = target.clientCert.cert;
        }
      }
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, options, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(0));
      req.end(body);
    });
  }

  async function deliver(shipment: Shipment, receipt: Kvittering): Promise<void> {
    const target = { ...sim.receipt };
    if (!target.url || closed) return;
    const xml = buildReceiptRequest({
      transactionId: shipment.transactionId,
      distributionTransactionId: shipment.distributionTransactionId,
      senderCvr: shipment.context.senderCvr,
      routingCvr: shipment.context.routingCvr,
      routing: { kle: shipment.context.kle, handlingFacet: shipment.context.handlingFacet, receivingSystemUuid: shipment.context.receivingSystemUuid },
      documentFileName: shipment.context.documentFileName,
      receipt,
    });
    const envelope = soapEnvelope(xml);
    const copies = sim.faults.duplicateReceipt ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      let status = 0;
      for (let attempt = 0; attempt <= retries && !closed; attempt++) {
        if (attempt > 0) await later(100 * attempt);
        status = await postOnce(target, envelope);
        if (status >= 200 && status < 300) break;
      }
      const ok = status >= 200 && status < 300;
      if (ok) stats.receiptsSent++;
      else stats.receiptsFailed++;
      const entry: SentReceipt = {
        transactionId: shipment.transactionId,
        distributionTransactionId: shipment.distributionTransactionId,
        code: receipt.code,
        type: receipt.type,
        status,
        ok,
        xml,
        at: new Date(),
      };
      receiptsLog.push(entry);
      log(`receipt ${receipt.type}/${receipt.code} for ${shipment.transactionId}: ${ok ? 'delivered' : `failed (${status || 'network error'})`}`);
      emitter.emit('receipt', entry);
    }
  }

  function businessReceipt(s: Shipment): Kvittering {
    if (!s.receiver) {
      const what = s.context.kle
        ? `KLE ${s.context.kle}${s.context.handlingFacet ? ` ${s.context.handlingFacet}` : ''}`
        : `IT-system ${s.context.receivingSystemUuid}`;
      return {
        code: 'AFVIST',
        type: 'Forretning',
        reason: `Ingen modtager er sat op for ${what} hos myndighed ${s.context.routingCvr}`,
        errors: [{ code: 'INGEN_MODTAGER', text: `Ingen fordelingsregel for ${what} hos ${s.context.routingCvr}` }],
      };
    }
    const outcome = s.receiver.outcome ?? 'ACCEPTERET';
    if (outcome === 'ACCEPTERET') return { code: 'ACCEPTERET', type: 'Forretning', errors: [] };
    const reason = s.receiver.reason ?? `${s.receiver.systemName} har ${outcome === 'AFVIST' ? 'afvist' : 'ikke kunnet behandle'} forsendelsen`;
    return { code: outcome, type: 'Forretning', reason, errors: [{ code: outcome, text: reason }] };
  }

  const TECHNICAL: Kvittering = { code: 'MODTAGET', type: 'Teknisk', errors: [] };

  /** Schedules the receipts of an accepted shipment: Teknisk, then Forretning, in that order. */
  function scheduleReceipts(s: Shipment, technicalFirst: boolean): Promise<void> {
    const chain = (async () => {
      if (technicalFirst) await deliver(s, TECHNICAL);
      else {
        await later(techDelay);
        await deliver(s, TECHNICAL);
      }
      await later(businessDelay);
      await deliver(s, businessReceipt(s));
    })();
    track(chain);
    return chain;
  }

  function validateBody(op: Element): void {
    if (!schema) return;
    const xml = new XMLSerializer().serializeToString(op);
    const result = schema.validate(xml);
    if (!result.valid) {
      throw new Refusal(
        'Client',
        'Request does not conform to the service contract',
        result.errors.slice(0, 20).map((e) => ({ code: 'SKEMA_VALIDERING', text: e.line ? `line ${e.line}: ${e.message}` : e.message })),
      );
    }
  }

  function checkAuthority(op: Element, certCvr: string | undefined): string {
    const ac = child(op, 'AuthorityContext');
    const cvr = ac ? (child(ac, 'MunicipalityCVR')?.textContent ?? '').trim() : '';
    if (!ac || !cvr) {
      throw new Refusal(
        'Client',
        'Security model not provided: neither AuthorityContext nor a token was given',
        [{ code: 'SIKKERHEDSMODEL', text: 'AuthorityContext/MunicipalityCVR is missing' }],
        'platform',
      );
    }
    if (!certCvr) {
      throw new Refusal(
        'Client',
        'The client certificate carries no CVR',
        [{ code: 'CERTIFIKAT', text: 'No CVR in the client certificate subject' }],
        'platform',
      );
    }
    if (cvr !== certCvr) {
      throw new Refusal(
        'Client',
        `AuthorityContext CVR ${cvr} does not match the client certificate's CVR ${certCvr}`,
        [{ code: 'AUTORISATION', text: `The certificate for CVR ${certCvr} may not act for CVR ${cvr}` }],
        'platform',
      );
    }
    return cvr;
  }

  interface Outcome {
    body: string;
    after?: () => void;
    shipment?: Shipment;
  }

  function formularDigest(op: Element): string | undefined {
    const text = op.getElementsByTagNameNS('*', 'FormularIndhold')[0]?.textContent;
    return text
      ? createHash('sha256')
          .update(Buffer.from(text.replace(/\s+/g, ''), 'base64'))
          .digest('hex')
      : undefined;
  }

  async function handleAfsend(op: Element): Promise<Outcome> {
    const info = parseAfsendRequest(op);
    const c = info.context;
    const transactionId = (c.transactionId ?? '').toLowerCase();
    const previous = shipments.get(transactionId);
    if (previous && sim.duplicatePolicy === 'reject') {
      throw new Refusal('Client', `AnvenderTransaktionsID ${transactionId} has already been received`, [
        { code: 'DUPLIKAT', text: `AnvenderTransaktionsID ${transactionId} er allerede modtaget` },
      ]);
    }
    const context: DistributionContextData = {
      transactionId,
      distributionTransactionId: previous?.distributionTransactionId ?? randomUUID(),
      digitalPostMessageId: c.digitalPostMessageId,
      senderCvr: c.senderCvr ?? '',
      routingCvr: c.routingCvr ?? '',
      kle: c.kle,
      handlingFacet: c.handlingFacet,
      receivingSystemUuid: c.receivingSystemUuid,
      documentFileName: c.documentFileName,
    };
    stats.accepted++;
    let shipment: Shipment;
    if (previous) {
      stats.duplicates++;
      previous.count++;
      shipment = previous;
    } else {
      stats.distinctTransactions++;
      shipment = {
        transactionId,
        distributionTransactionId: context.distributionTransactionId!,
        context,
        objektType: info.objektType,
        objectId: info.objectId,
        formularType: info.formularType,
        count: 1,
        receiver: matchReceiver(sim.receivers, context),
        formularContentSha256: formularDigest(op),
      };
      shipments.set(transactionId, shipment);
    }
    log(`accepted ${info.objektType} ${transactionId} → ${shipment.distributionTransactionId}${previous ? ' (duplicate)' : ''}`);
    emitter.emit('accepted', shipment);
    const body = buildAfsendResponse({ receipt: { code: 'MODTAGET', type: 'Teknisk', errors: [] }, context });
    if (sim.faults.receiptBeforeResponse) {
      await scheduleReceiptsBeforeResponse(shipment);
      return { body, shipment };
    }
    return { body, shipment, after: () => void scheduleReceipts(shipment, false) };
  }

  async function scheduleReceiptsBeforeResponse(s: Shipment): Promise<void> {
    // The Teknisk receipt is delivered before the response is written; the Forretning one follows later.
    let technicalDone!: () => void;
    const technical = new Promise<void>((resolve) => (technicalDone = resolve));
    const chain = (async () => {
      await deliver(s, TECHNICAL);
      technicalDone();
      await later(businessDelay);
      await deliver(s, businessReceipt(s));
    })();
    track(chain);
    chain.catch(() => technicalDone());
    await technical;
  }

  function handleList(op: Element): Outcome {
    const q = parseModtagerListRequest(op);
    const systems: ModtagerSystem[] = sim.receivers
      .filter(
        (r) =>
          r.authorityCvr === q.routingCvr &&
          (r.kle === '*' || r.kle === q.kle) &&
          (!q.handlingFacet || !r.handlingFacet || r.handlingFacet === q.handlingFacet),
      )
      .map((r) => ({
        authorityCvr: r.authorityCvr,
        systemUuid: r.systemUuid,
        systemName: r.systemName,
        kle: r.kle === '*' ? (q.kle as string) : r.kle,
        handlingFacet: r.handlingFacet,
      }));
    return { body: buildModtagerListResponse(systems) };
  }

  function handleValider(op: Element): Outcome {
    const q = parseModtagerValiderRequest(op);
    return {
      body: buildModtagerValiderResponse(
        q.routings.map((r) => ({
          routingCvr: r.routingCvr ?? '',
          receivingSystemUuid: (r.receivingSystemUuid ?? '').toLowerCase(),
          canReceive: !!matchReceiver(sim.receivers, { routingCvr: r.routingCvr, receivingSystemUuid: r.receivingSystemUuid }),
        })),
      ),
    };
  }

  /** Token model: the checked request's signed Body (use that, not the envelope) and the token's CVR. */
  function checkToken(text: string): { body: Element; cvr: string } {
    try {
      const r = tokens.check(text);
      return { body: parseXmlSafely(r.signedBody, 'the signed Body').documentElement as unknown as Element, cvr: r.cvr };
    } catch (err) {
      if (err instanceof TokenRefusal) throw new Refusal('Client', err.message, [{ code: err.code, text: err.message }], 'platform');
      throw err;
    }
  }

  async function handleSoap(req: http.IncomingMessage, text: string, mode: 'certificate' | 'token' = 'certificate'): Promise<Outcome> {
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    if (!type.startsWith('text/xml')) {
      throw new Refusal(
        'Client',
        `Content-Type must be text/xml (SOAP 1.1), got "${type || 'none'}"`,
        [{ code: 'SOAP_VERSION', text: 'Only SOAP 1.1 (text/xml) is supported' }],
        'transport',
        415,
      );
    }
    let doc: ReturnType<typeof parseXmlSafely>;
    try {
      doc = parseXmlSafely(text, 'Request');
    } catch (err) {
      throw new Refusal('Client', 'Request is not well-formed XML', [{ code: 'XML_FEJL', text: (err as Error).message }]);
    }
    const env = doc.documentElement as unknown as Element;
    if (env.localName !== 'Envelope' || env.namespaceURI !== NS.soap11) {
      throw new Refusal('Client', 'Request is not a SOAP 1.1 envelope', [{ code: 'SOAP_FEJL', text: `Root element is <${env.nodeName}>` }]);
    }
    const token = mode === 'token' ? checkToken(text) : undefined;
    const body = token ? token.body : childElements(env).find((e) => e.localName === 'Body' && e.namespaceURI === NS.soap11);
    const ops = childElements(body);
    if (ops.length !== 1)
      throw new Refusal('Client', 'SOAP Body must contain exactly one element', [{ code: 'SOAP_FEJL', text: `Body has ${ops.length} elements` }]);
    const op = ops[0];
    const known = op.namespaceURI === NS.v3 ? OPERATIONS[op.localName ?? ''] : undefined;
    if (!known)
      throw new Refusal('Client', `Unknown operation element {${op.namespaceURI ?? ''}}${op.localName}`, [
        { code: 'UKENDT_OPERATION', text: `${op.localName}` },
      ]);
    const action = req.headers.soapaction;
    if (action === undefined) throw new Refusal('Client', 'SOAPAction header is missing', [{ code: 'SOAP_FEJL', text: 'SOAPAction header is missing' }]);
    const unquoted = String(action)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (unquoted !== known.action) {
      throw new Refusal('Client', `SOAPAction "${unquoted}" does not match ${known.name}`, [
        { code: 'SOAP_FEJL', text: `Expected SOAPAction ${known.action}` },
      ]);
    }
    // Like the platform: who is calling first (certificate + AuthorityContext), then what was sent.
    checkAuthority(op, token ? token.cvr : peerCvr(req.socket as TLSSocket));
    validateBody(op);
    switch (known.name) {
      case 'FordelingsobjektAfsend':
        return handleAfsend(op);
      case 'FordelingsmodtagerList':
        return handleList(op);
      case 'FordelingsmodtagerValider':
        return handleValider(op);
      default:
        throw new Refusal('Server', `${known.name} is not implemented by the simulator`, [{ code: 'IKKE_UNDERSTOETTET', text: known.name }]);
    }
  }

  function respond(res: http.ServerResponse, status: number, body: string, contentType = SOAP11_CONTENT_TYPE): void {
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse, mode: 'certificate' | 'token' = 'certificate'): Promise<void> {
    const urlPath = (req.url ?? '').split('?')[0];
    if (mode === 'token' && urlPath === STS_PATH && req.method === 'POST') {
      let answer: { status: number; body: string };
      try {
        answer = tokens.issue(await readBody(req));
      } catch {
        answer = tokens.issue('');
      }
      log(answer.status === 200 ? 'STS: token issued' : 'STS: token request refused');
      respond(res, answer.status, answer.body, 'application/soap+xml; charset=utf-8');
      return;
    }
    if (urlPath !== SERVICE_PATH) {
      respond(res, 404, 'Not found\n', 'text/plain');
      return;
    }
    if (req.method === 'GET' && /^wsdl/i.test((req.url ?? '').split('?')[1] ?? '')) {
      const wsdl = path.join(opts.contractDir ?? defaultContractDir(), 'contract', 'wsdl', 'context', 'DistributionService.wsdl');
      fs.readFile(wsdl, 'utf8', (err, data) => (err ? respond(res, 404, 'No WSDL\n', 'text/plain') : respond(res, 200, data, 'text/xml; charset=utf-8')));
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      respond(res, 405, 'Method not allowed\n', 'text/plain');
      return;
    }
    stats.requests++;
    emitter.emit('request', { path: urlPath, soapAction: req.headers.soapaction });
    const f = sim.faults;
    if (f.latencyMs && f.latencyMs > 0) await sleep(f.latencyMs);
    if (f.dropConnection && random() < f.dropConnection) {
      log('fault: dropping the connection');
      req.socket.destroy();
      return;
    }
    if (f.stall && random() < f.stall) {
      log('fault: stalling (no answer)');
      stats.stalled = (stats.stalled ?? 0) + 1;
      const held = setTimeout(() => req.socket.destroy(), f.stallMs ?? 30_000);
      held.unref();
      req.socket.once('close', () => clearTimeout(held));
      req.resume();
      return;
    }
    if (f.httpStatus && random() < (f.httpStatusProbability ?? 1)) {
      log(`fault: HTTP ${f.httpStatus}`);
      req.resume();
      respond(res, f.httpStatus, `${http.STATUS_CODES[f.httpStatus] ?? 'Error'}\n`, 'text/plain');
      return;
    }
    let outcome: Outcome;
    try {
      const text = await readBody(req);
      outcome = await handleSoap(req, text, mode);
    } catch (err) {
      stats.faults++;
      if (err instanceof Refusal) {
        log(`fault: ${err.message}`);
        const fault =
          err.kind === 'platform'
            ? buildSoapFault({ faultCode: err.faultCode, faultString: err.message, platformErrors: err.errors })
            : buildSoapFault({
                faultCode: err.faultCode,
                faultString: err.message,
                transportKvittering: { code: 'FEJL', reason: err.message, errors: err.errors },
              });
        if (!res.headersSent && !res.destroyed) respond(res, err.httpStatus, fault);
        return;
      }
      log(`internal error: ${(err as Error).message}`);
      if (!res.headersSent && !res.destroyed) respond(res, 500, buildSoapFault({ faultCode: 'Server', faultString: 'Internal simulator error' }));
      return;
    }
    if (outcome.shipment && f.dropAfterAccept && random() < f.dropAfterAccept) {
      log('fault: accepted, then dropping the connection');
      outcome.after?.();
      req.socket.destroy();
      return;
    }
    respond(res, 200, outcome.body);
    outcome.after?.();
  }

  const server = https.createServer(
    {
      key: certs.server.key,
      cert: certs.server.cert,
      ca: [certs.ca.cert],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      onRequest(req, res).catch((err) => {
        log(`internal error: ${(err as Error).message}`);
        if (!res.headersSent && !res.destroyed) respond(res, 500, buildSoapFault({ faultCode: 'Server', faultString: 'Internal simulator error' }));
      });
    },
  );
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // Token model: the identity travels in the signed message, so no client certificate is asked for.
  const tokens = new TokenService({ sts: certs.sts, ca: certs.ca.cert, ...opts.token });
  const tokenServer = https.createServer({ key: certs.server.key, cert: certs.server.cert }, (req, res) => {
    onRequest(req, res, 'token').catch((err) => {
      log(`internal error: ${(err as Error).message}`);
      if (!res.headersSent && !res.destroyed) respond(res, 500, buildSoapFault({ faultCode: 'Server', faultString: 'Internal simulator error' }));
    });
  });
  tokenServer.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', (err) => {
    emitter.emit('tlsRefused', err);
    log(`TLS refused: ${err.message.split('\n')[0]}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    tokenServer.once('error', reject);
    tokenServer.listen(opts.tokenPort ?? 0, opts.host ?? '127.0.0.1', () => {
      tokenServer.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  const base = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const tokenBase = `https://${host.includes(':') ? `[${host}]` : host}:${(tokenServer.address() as AddressInfo).port}`;

  Object.defineProperties(sim, {
    url: { value: base, enumerable: true },
    serviceUrl: { value: `${base}${SERVICE_PATH}`, enumerable: true },
    port: { value: port, enumerable: true },
    certs: { value: certs, enumerable: true },
    ca: { value: certs.ca.cert, enumerable: true },
    tokenUrl: { value: tokenBase, enumerable: true },
    tokenServiceUrl: { value: `${tokenBase}${SERVICE_PATH}`, enumerable: true },
    stsUrl: { value: `${tokenBase}${STS_PATH}`, enumerable: true },
    stsCert: { value: tokens.stsCert, enumerable: true },
    token: { value: tokens, enumerable: true },
    stats: { value: stats, enumerable: true },
    shipments: { value: shipments, enumerable: true },
    receiptsLog: { value: receiptsLog, enumerable: true },
  });
  sim.idle = async () => {
    while (pending.size) await Promise.allSettled([...pending]);
  };
  sim.reset = () => {
    for (const k of Object.keys(stats) as (keyof SimulatorStats)[]) stats[k] = 0;
    shipments.clear();
    receiptsLog.length = 0;
    tokens.reset();
  };
  sim.close = async () => {
    if (closed) return;
    closed = true;
    for (const [t, resolve] of timers) {
      clearTimeout(t);
      resolve();
    }
    timers.clear();
    await Promise.all([
      new Promise<void>((resolve) => server.close(() => resolve())),
      new Promise<void>((resolve) => tokenServer.close(() => resolve())),
      Promise.resolve().then(() => {
        for (const s of sockets) s.destroy();
      }),
    ]);
    if (tempCertDir) fs.rmSync(tempCertDir, { recursive: true, force: true });
    log('closed');
  };
  log(`listening on ${base}${SERVICE_PATH}`);
  return sim;
}
