/**
 * webform in, push mode: the route OS2forms' remote-post handler POSTs to, as named receive stages (after Node-RED's
 * http in node, 21-httpin.js): authenticate → check the content type → read the raw body (bounded) → verify the HMAC
 * (and its timestamp) → parse → normalise → refuse a replay (a timestamped signature is taken once: replay.ts) → store
 * in the inbox (durable before 202) → emit → answer 202. And the inbox's other half: what was accepted but whose
 * shipment fordeling out never recorded is put back into the flow when the flows start.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Submission } from '../sf2900/model';
import { transactionIdFor } from '../sf2900/transaction-id';
import { DEFAULT_TIMESTAMP_HEADER, DEFAULT_WINDOW_S, verifySharedSecret, verifySignedRequest } from '../webform/auth';
import { HttpError, charset, mediaType, readRawBody } from '../webform/body';
import { FormDecodeError, decodeForm } from '../webform/form-decode';
import { type Decision, type Intake, type SubmissionState, operationOf, stateOf } from '../webform/intake';
import { SubmissionError, normaliseRemotePost } from '../webform/normalise';
import type { ReplayClaim, ReplayMemory } from '../webform/replay';
import type { IntakeCounts, IntakeOutputs } from './webform-intake';
import type { RawBodyRequest } from './raw-body-hook';

export type Res = ServerResponse & { status(code: number): Res; type(t: string): Res; send(body: string): Res; headersSent: boolean };
export type Handler = (req: IncomingMessage, res: Res, next: (err?: unknown) => void) => void;

const DEFAULT_MAX_MB = 25;

/** The inbox id of a submission: its AnvenderTransaktionsID, so fordeling out can acknowledge it even from a rebuilt msg. */
export function inboxIdOf(s: Submission): string {
  return transactionIdFor(s.submission.uuid, s.webform?.id, undefined, s.submission.revision);
}

/** A submission as stored in the inbox: file contents as base64 (JSON-safe). */
export function toInbox(s: Submission): unknown {
  return { ...s, files: s.files.map((f) => (Buffer.isBuffer(f.content) ? { ...f, content: undefined, contentBase64: f.content.toString('base64') } : f)) };
}

export function fromInbox(payload: unknown): Submission {
  const s = payload as Omit<Submission, 'files'> & { files?: Array<Record<string, unknown>> };
  return {
    ...s,
    files: (s.files ?? []).map((f) => {
      const { contentBase64, ...rest } = f as Record<string, unknown>;
      const content = rest.content as { type?: string; data?: number[] } | undefined;
      if (typeof contentBase64 === 'string') return { ...rest, content: Buffer.from(contentBase64, 'base64') };
      if (content && content.type === 'Buffer' && Array.isArray(content.data)) return { ...rest, content: Buffer.from(content.data) };
      return rest;
    }),
  } as unknown as Submission;
}

export function fail(res: Res, status: number, error: string): void {
  if (res.headersSent) return;
  res
    .status(status)
    .type('application/json')
    .send(`${JSON.stringify({ error })}\n`);
}

export interface PushSettings {
  auth: 'header' | 'hmac';
  /** Lower-case header carrying the shared secret or the signature. */
  headerName: string;
  limitBytes: number;
  webformIdHint?: string;
  /** HMAC: lower-case header carrying the signing time (Unix seconds). */
  timestampHeader: string;
  /** HMAC: seconds a timestamp may be from now, either way. */
  windowS: number;
  /** HMAC: refuse a signature without a timestamp (default: accept it the old way, without replay protection). */
  requireTimestamp: boolean;
}

/** The push settings from the node's configuration (a setting missing from a node saved earlier: its default). */
export function pushSettings(c: {
  auth?: string;
  authHeader?: string;
  hmacHeader?: string;
  maxBodyMb?: unknown;
  webformId?: string;
  timestampHeader?: string;
  hmacTimestamp?: string;
  hmacWindowS?: unknown;
}): PushSettings {
  const auth = c.auth === 'hmac' ? 'hmac' : 'header';
  const header = (auth === 'hmac' ? c.hmacHeader : c.authHeader) || (auth === 'hmac' ? 'x-webform-signature' : 'x-webform-secret');
  const mb = Number(c.maxBodyMb);
  const windowS = Number(c.hmacWindowS);
  return {
    auth,
    headerName: header.trim().toLowerCase(),
    limitBytes: Math.round((Number.isFinite(mb) && mb > 0 ? mb : DEFAULT_MAX_MB) * 1024 * 1024),
    webformIdHint: (c.webformId ?? '').trim() || undefined,
    timestampHeader: (c.timestampHeader || DEFAULT_TIMESTAMP_HEADER).trim().toLowerCase(),
    windowS: c.hmacWindowS !== undefined && c.hmacWindowS !== '' && Number.isFinite(windowS) && windowS > 0 ? Math.round(windowS) : DEFAULT_WINDOW_S,
    requireTimestamp: c.hmacTimestamp === 'required',
  };
}

export interface PushReceiverOptions {
  settings: PushSettings;
  secret: string;
  /** Whether accepted submissions are kept in the intake's ledger's inbox until fordeling out acknowledges them. */
  keepInbox: boolean;
  /** True when the flows deliver (an inbox is needed): without one, answer 503 rather than accept without keeping it. */
  needsInbox: boolean;
  /** What was passed on before, per submission (undefined: the ledger is not available, answer 503). */
  intake?: Intake;
  /** Timestamped signatures taken (HMAC); in the same ledger as the intake. */
  replay?: ReplayMemory;
  /** After a 202 for a signature without a timestamp (no replay protection). */
  untimed?: () => void;
  counts: IntakeCounts;
  out: IntakeOutputs;
  /** After a 202. */
  accepted: () => void;
  storeFailed: (err: Error) => void;
  error: (text: string) => void;
}

/** A header's value (the first, if repeated). */
function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The express handler of the push route. */
export function pushHandler(o: PushReceiverOptions): Handler {
  return (req, res) => {
    receive(o, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return fail(res, err.status, err.message);
      if (err instanceof FormDecodeError || err instanceof SubmissionError) return fail(res, 400, err.message);
      o.error(`webform in: ${(err as Error).message}`);
      fail(res, 500, 'internal error');
    });
  };
}

async function receive(o: PushReceiverOptions, req: IncomingMessage, res: Res): Promise<void> {
  const { auth, headerName, limitBytes, webformIdHint } = o.settings;
  // 1. authenticate (a shared secret before reading anything; an HMAC once the raw body is read)
  if (!o.secret) {
    req.resume();
    return fail(res, 503, 'webform in has no secret configured');
  }
  const value = header(req, headerName);
  if (auth === 'header' && !verifySharedSecret(value, o.secret)) {
    req.resume();
    return fail(res, 401, value ? `wrong secret in header ${headerName}` : `missing header ${headerName}`);
  }
  // 2. content type
  const type = mediaType(req.headers['content-type']);
  if (type !== 'application/json' && type !== 'application/x-www-form-urlencoded') {
    req.resume();
    return fail(res, 415, `content type must be application/json or application/x-www-form-urlencoded, not ${type || 'none'}`);
  }
  if (!['utf-8', 'utf8'].includes(charset(req.headers['content-type']))) {
    req.resume();
    return fail(res, 415, 'only charset utf-8 is supported');
  }
  // 3. the raw body, bounded (a body consumed by a parser we did not install cannot be checked byte for byte)
  const r = req as RawBodyRequest;
  if (r._body && !r.os2BodyClaimed) return fail(res, 500, 'the request body was consumed by another middleware before webform in');
  const raw = await readRawBody(req, limitBytes);
  let signed: { mac?: Buffer; expiresAt?: Date } = {};
  if (auth === 'hmac') {
    const { timestampHeader, windowS, requireTimestamp } = o.settings;
    // the request target as on the request line (express keeps it in originalUrl; req.url loses a mount path)
    const target = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const verdict = verifySignedRequest(
      { body: raw, target, signature: value, timestamp: header(req, timestampHeader) },
      { secret: o.secret, signatureHeader: headerName, timestampHeader, windowS, requireTimestamp },
    );
    if (!verdict.ok) return fail(res, 401, verdict.reason);
    signed = verdict;
  }
  // 4. parse and normalise
  const text = raw.toString('utf8');
  let body: unknown;
  if (type === 'application/json') {
    try {
      body = JSON.parse(text);
    } catch (err) {
      return fail(res, 400, `malformed JSON: ${(err as Error).message}`);
    }
  } else body = decodeForm(text);
  const submission = normaliseRemotePost(body, { webformId: webformIdHint });
  // 5. the state: the operation the builder put in this handler URL (?operation=…), checked against in_draft
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  let state: SubmissionState;
  try {
    state = stateOf(operationOf(query.get('operation') ?? undefined), submission.submission.inDraft);
  } catch (err) {
    return fail(res, 400, (err as Error).message);
  }
  // 6. decided and durable before 202: a submission passed on is in the inbox first (put back into the flow on start)
  const { keepInbox, intake } = o;
  if ((o.needsInbox && !keepInbox) || !intake || (signed.mac && !o.replay)) return fail(res, 503, 'webform in: the ledger is not available');
  // a timestamped signature is taken once (across instances sharing the ledger, and over a restart)
  let claim: ReplayClaim | undefined;
  if (signed.mac && signed.expiresAt && o.replay) {
    try {
      claim = await o.replay.claim(signed.mac, signed.expiresAt);
    } catch (err) {
      o.storeFailed(err as Error);
      return fail(res, 503, 'the submission could not be stored; try again later');
    }
    if (!claim) return fail(res, 409, 'replayed request: this signed request was received before');
  }
  let decision: Decision;
  try {
    // a submission passed on is kept in the inbox in the same write as its intake record (one commit for the submission;
    // a timestamped signature's claim above is another)
    decision = await intake.take(submission, state, (d) => {
      if (d.revision > 0) submission.submission.revision = d.revision;
      return keepInbox ? { id: inboxIdOf(submission), webformId: submission.webform?.id, payload: toInbox(submission) } : undefined;
    });
  } catch (err) {
    // not stored, so not accepted: the poster (OS2forms' remote post) is told it failed, and may send it again
    await claim?.release().catch(() => undefined);
    o.storeFailed(err as Error);
    return fail(res, 503, 'the submission could not be stored; try again later');
  }
  // 7. output and answer
  o.counts.apply(decision, submission, o.out, keepInbox && decision.action === 'pass' ? inboxIdOf(submission) : undefined);
  if (auth === 'hmac' && !signed.mac) o.untimed?.();
  o.accepted();
  const outcome = decision.action === 'skip' ? `skipped: ${decision.reason}` : decision.action === 'pass' ? 'passed on' : 'changed after delivery';
  // written directly: express's send() would compute an ETag (a SHA-1 of the body) for every 202
  const answer = `${JSON.stringify({ uuid: submission.submission.uuid, state, outcome })}\n`;
  res.writeHead(202, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(answer) });
  res.end(answer);
}

/**
 * Puts back into the flow what was accepted (202) but not acknowledged, oldest first, once the flows have started (so
 * the wires exist; after 3 s at the latest). Returns a function that cancels it.
 */
export function replayInboxOnStart(
  events: { once(e: string, f: () => void): void; off?(e: string, f: () => void): void } | undefined,
  run: () => Promise<void>,
): () => void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    void run();
  };
  events?.once('flows:started', once);
  const fallback = setTimeout(once, 3000);
  return () => {
    done = true;
    clearTimeout(fallback);
    events?.off?.('flows:started', once);
  };
}
