/**
 * `os2-webform-in`: receives OS2forms submissions (push: the Webform remote-post handler POSTs to a path on
 * Node-RED's HTTP node server) or fetches them (fetch: polls the OS2forms REST API through an `os2-os2forms-site`
 * config node), and emits one normalised `Submission` per message.
 */
import * as path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { statusText } from '../../lib/node-red/status-text';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Submission } from '../../lib/sf2900/model';
import { verifyHmac, verifySharedSecret } from '../../lib/webform/auth';
import { charset, HttpError, mediaType, readRawBody } from '../../lib/webform/body';
import { FileCursorStore, type CursorStore } from '../../lib/webform/cursor-store';
import { decodeForm, FormDecodeError } from '../../lib/webform/form-decode';
import { normaliseRemotePost, SubmissionError } from '../../lib/webform/normalise';
import type { Os2formsSite } from '../../lib/webform/os2forms-client';
import { pollOnce } from '../../lib/webform/poller';
import { installRawBodyHook, type RawBodyRequest } from './raw-body-hook';
import type { Ledger } from '../../lib/ledger/types';
import { LedgerCursorStore } from '../../lib/ledger/cursor-store';
import { registerInbox } from '../../lib/ledger/inbox-registry';
import { ledgerFor } from '../../lib/node-red/ledger';
import { transactionIdFor } from '../../lib/sf2900/transaction-id';

/** The inbox id of a submission: its AnvenderTransaktionsID, so fordeling out can acknowledge it even from a rebuilt msg. */
function inboxIdOf(s: Submission): string {
  return transactionIdFor(s.submission.uuid, s.webform?.id);
}

/** A submission as stored in the inbox: file contents as base64 (JSON-safe). */
function toInbox(s: Submission): unknown {
  return { ...s, files: s.files.map((f) => (Buffer.isBuffer(f.content) ? { ...f, content: undefined, contentBase64: f.content.toString('base64') } : f)) };
}

function fromInbox(payload: unknown): Submission {
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

interface WebformInDef extends NodeDef {
  mode?: 'push' | 'fetch';
  path?: string;
  auth?: 'header' | 'hmac';
  authHeader?: string;
  hmacHeader?: string;
  maxBodyMb?: string | number;
  webformId?: string;
  site?: string;
  interval?: string | number;
  fetchFiles?: boolean;
  /** Optional os2-ledger config: push — the submission is stored before 202 and put back into the flow on start until
   * fordeling out has recorded its shipment; fetch — the cursor lives in the ledger. */
  ledger?: string;
}

type Creds = { secret: unknown };
type Res = ServerResponse & { status(code: number): Res; type(t: string): Res; send(body: string): Res; headersSent: boolean };
type Layer = { route?: { path: string; methods: Record<string, boolean> } };
type Handler = (req: IncomingMessage, res: Res, next: (err?: unknown) => void) => void;

const DEFAULT_MAX_MB = 25;

function fail(res: Res, status: number, error: string): void {
  if (res.headersSent) return;
  res
    .status(status)
    .type('application/json')
    .send(JSON.stringify({ error }) + '\n');
}

function time(d = new Date()): string {
  return d.toISOString().slice(11, 19);
}

export = function (RED: NodeAPI) {
  function WebformInNode(this: Node<Creds>, config: WebformInDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const mode = config.mode === 'fetch' ? 'fetch' : 'push';
    const secret = typeof node.credentials?.secret === 'string' ? node.credentials.secret : '';
    const webformIdHint = (config.webformId ?? '').trim() || undefined;

    const t = statusText(RED, 'webform-in');

    const ledgerNode = config.ledger ? (RED.nodes.getNode(config.ledger) as unknown as { ledger(): Ledger; ready?: Promise<Ledger> } | null) : null;
    if (config.ledger && !ledgerNode) {
      node.error('webform in: the chosen ledger configuration is missing');
      node.status({ fill: 'red', shape: 'ring', text: t('noLedger', {}, 'ledger configuration missing') });
      return;
    }
    const emit = (submission: Submission, inboxId?: string) => {
      const msg: Record<string, unknown> = { _msgid: RED.util.generateId(), payload: submission, submissionId: submission.submission.uuid };
      if (inboxId) msg._os2InboxId = inboxId;
      node.send(msg as never);
    };

    if (mode === 'push') {
      const settings = RED.settings as unknown as Record<string, unknown>;
      if (settings.httpNodeRoot === false) {
        node.warn('webform in: the HTTP node server is disabled (httpNodeRoot: false); no route created');
        node.status({ fill: 'red', shape: 'ring', text: t('httpDisabled', {}, 'HTTP node server disabled') });
        return;
      }
      let url = (config.path ?? '').trim();
      if (!url) {
        node.status({ fill: 'red', shape: 'ring', text: t('noPath', {}, 'no path configured') });
        node.warn('webform in: no path configured');
        return;
      }
      if (!url.startsWith('/')) url = '/' + url;
      let inbox: Ledger | undefined;
      let unregister = () => {};
      let closing = false;
      // The push inbox (stored before 202, put back into the flow on start until fordeling out acknowledges it): in the
      // chosen ledger, else in the default embedded ledger under the user directory whenever the deployed flows deliver
      // (a fordeling out exists to acknowledge it). A flow that only receives keeps nothing, as a plain http in would.
      let delivers = !!ledgerNode;
      RED.nodes.eachNode((n) => {
        if (n.type === 'os2-fordeling-out' && !(n as { d?: boolean }).d) delivers = true;
      });
      if (delivers) {
        try {
          inbox = ledgerFor(RED, ledgerNode)();
          unregister = registerInbox(inbox);
        } catch (err) {
          node.error(`webform in: ${(err as Error).message}`);
        }
      }
      // Put back into the flow what was accepted (202) but whose shipment fordeling out had not recorded: oldest first,
      // once the flows have started (so the wires exist).
      const replay = async () => {
        if (!inbox || closing) return;
        try {
          await ledgerNode?.ready;
          const pending = await inbox.pendingInbox();
          if (pending.length) node.log(`webform in: putting ${pending.length} accepted submission(s) back into the flow`);
          for (const e of pending) {
            if (closing) return;
            emit(fromInbox(e.payload), e.id);
          }
        } catch (err) {
          node.error(`webform in: the ledger inbox cannot be read: ${(err as Error).message}`);
        }
      };
      let replayed = false;
      const replayOnce = () => {
        if (replayed) return;
        replayed = true;
        void replay();
      };
      const events = (RED as unknown as { events?: { once(e: string, f: () => void): void; off?(e: string, f: () => void): void } }).events;
      events?.once('flows:started', replayOnce);
      const replayFallback = setTimeout(replayOnce, 3000);
      const auth = config.auth === 'hmac' ? 'hmac' : 'header';
      const headerName = ((auth === 'hmac' ? config.hmacHeader : config.authHeader) || (auth === 'hmac' ? 'x-webform-signature' : 'x-webform-secret'))
        .trim()
        .toLowerCase();
      const mb = Number(config.maxBodyMb);
      const limit = Math.round((Number.isFinite(mb) && mb > 0 ? mb : DEFAULT_MAX_MB) * 1024 * 1024);
      const listening = t('listening', { path: url }, `listening on ${url}`);
      if (!secret) {
        node.status({ fill: 'red', shape: 'ring', text: t('noSecret', {}, 'no secret configured: refusing all requests') });
      } else {
        node.status({ fill: 'green', shape: 'dot', text: listening });
      }

      const handle = async (req: IncomingMessage, res: Res): Promise<void> => {
        if (!secret) {
          req.resume();
          return fail(res, 503, 'webform in has no secret configured');
        }
        const presented = req.headers[headerName];
        const value = Array.isArray(presented) ? presented[0] : presented;
        if (auth === 'header' && !verifySharedSecret(value, secret)) {
          req.resume();
          return fail(res, 401, value ? `wrong secret in header ${headerName}` : `missing header ${headerName}`);
        }
        const type = mediaType(req.headers['content-type']);
        if (type !== 'application/json' && type !== 'application/x-www-form-urlencoded') {
          req.resume();
          return fail(res, 415, `content type must be application/json or application/x-www-form-urlencoded, not ${type || 'none'}`);
        }
        if (!['utf-8', 'utf8'].includes(charset(req.headers['content-type']))) {
          req.resume();
          return fail(res, 415, 'only charset utf-8 is supported');
        }
        const r = req as RawBodyRequest;
        // A body consumed by a parser we did not install (e.g. httpNodeMiddleware) cannot be checked byte for byte.
        if (r._body && !r.os2BodyClaimed) return fail(res, 500, 'the request body was consumed by another middleware before webform in');
        const raw = await readRawBody(req, limit);
        if (auth === 'hmac' && !verifyHmac(raw, value, secret)) {
          return fail(res, 401, value ? `wrong HMAC-SHA256 signature in header ${headerName}` : `missing header ${headerName}`);
        }
        let body: unknown;
        const text = raw.toString('utf8');
        if (type === 'application/json') {
          try {
            body = JSON.parse(text);
          } catch (err) {
            return fail(res, 400, `malformed JSON: ${(err as Error).message}`);
          }
        } else {
          body = decodeForm(text);
        }
        const submission = normaliseRemotePost(body, { webformId: webformIdHint });
        // a ledger was chosen but cannot be used: refuse (the poster tries again) rather than accept without keeping it
        if (delivers && !inbox) return fail(res, 503, 'webform in: the ledger is not available');
        const inboxId = inbox ? inboxIdOf(submission) : undefined;
        // durable before 202: a submission the poster was told we have is never lost (put back into the flow on start)
        if (inbox && inboxId) {
          try {
            await inbox.putInbox({ id: inboxId, webformId: submission.webform?.id, payload: toInbox(submission) });
          } catch (err) {
            // not stored, so not accepted: the poster (OS2forms' remote post) is told to try again later
            node.error(`webform in: a submission could not be stored, answered 503: ${(err as Error).message}`);
            node.status({ fill: 'red', shape: 'dot', text: t('storeFailed', {}, 'ledger cannot store: answering 503') });
            return fail(res, 503, 'the submission could not be stored; try again later');
          }
        }
        emit(submission, inboxId);
        const now = time();
        node.status({ fill: 'green', shape: 'dot', text: t('listeningLast', { path: url, time: now }, `${listening} · last ${now}`) });
        res
          .status(202)
          .type('application/json')
          .send(JSON.stringify({ uuid: submission.submission.uuid }) + '\n');
      };

      const callback: Handler = (req, res) => {
        handle(req, res).catch((err: unknown) => {
          if (err instanceof HttpError) return fail(res, err.status, err.message);
          if (err instanceof FormDecodeError || err instanceof SubmissionError) return fail(res, 400, err.message);
          node.error(`webform in: ${(err as Error).message}`);
          fail(res, 500, 'internal error');
        });
      };
      const errorHandler = (err: unknown, _req: IncomingMessage, res: Res, _next: unknown) => {
        node.warn(`webform in: ${(err as Error)?.message ?? err}`);
        fail(res, 500, 'internal error');
      };
      const mw = settings.httpNodeMiddleware;
      const middleware: Handler | Handler[] = typeof mw === 'function' || Array.isArray(mw) ? (mw as Handler | Handler[]) : (_req, _res, next) => next();
      const app = RED.httpNode as unknown as {
        post(path: string, ...handlers: unknown[]): void;
        _router: { stack: Layer[] };
      };
      app.post(url, middleware, callback, errorHandler);
      const removeRawBodyHook = installRawBodyHook(RED.httpNode, RED.settings as never, url);

      node.on('close', (_removed: boolean, done: () => void) => {
        const stack = app._router.stack;
        for (let i = stack.length - 1; i >= 0; i--) {
          const r = stack[i]!.route;
          if (r && r.path === url && r.methods.post) stack.splice(i, 1);
        }
        removeRawBodyHook();
        closing = true;
        clearTimeout(replayFallback);
        events?.off?.('flows:started', replayOnce);
        unregister();
        done();
      });
      return;
    }

    // fetch mode
    const site = config.site ? (RED.nodes.getNode(config.site) as unknown as Os2formsSite | null) : null;
    const webformId = webformIdHint;
    const iv = Number(config.interval);
    const intervalMs = Math.round((Number.isFinite(iv) && iv > 0 ? Math.max(iv, 0.05) : 60) * 1000);
    const problem = !site ? 'no os2forms site configured' : site.configError ? site.configError : !webformId ? 'no webform id configured' : undefined;
    if (problem) {
      node.status({ fill: 'red', shape: 'ring', text: problem });
      node.error(`webform in: ${problem}`);
      return;
    }
    const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> = Promise.resolve();
    let store: CursorStore | undefined;

    const tick = async () => {
      try {
        if (!store) {
          if (!userDir) throw new Error('Node-RED has no userDir; cannot keep the fetch cursor');
          store = ledgerNode
            ? await LedgerCursorStore.open(ledgerNode.ledger(), `webform-in:${config.site}:${webformId}`)
            : await FileCursorStore.open(path.join(userDir, 'os2-state', `webform-in-${node.id.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`));
        }
        node.status({ fill: 'blue', shape: 'dot', text: t('pollingNow', { webform: webformId! }, `polling ${webformId}…`) });
        const r = await pollOnce({
          client: site!.client(),
          webformId: webformId!,
          store,
          fetchFiles: config.fetchFiles !== false,
          emit,
          stopped: () => closed,
        });
        if (closed) return;
        if (r.failed.length > 0) {
          const first = r.failed[0]!;
          const now = time();
          node.status({
            fill: 'red',
            shape: 'ring',
            text: t(
              'someFailed',
              { time: now, count: r.failed.length, sid: first.sid, error: first.error },
              `last poll ${now}: ${r.failed.length} failed (sid ${first.sid}: ${first.error}); retrying`,
            ),
          });
          node.warn(
            `webform in: ${r.failed.length} submission(s) of ${webformId} not fetched, retried next poll: ` +
              r.failed.map((f) => `sid ${f.sid}: ${f.error}`).join('; '),
          );
        } else {
          const now = time();
          node.status({
            fill: 'green',
            shape: 'dot',
            text: t('polling', { webform: webformId!, time: now, count: r.emitted }, `polling ${webformId}; last poll ${now} (${r.emitted} new)`),
          });
        }
      } catch (err) {
        if (closed) return;
        const message = (err as Error).message;
        const now = time();
        node.status({ fill: 'red', shape: 'ring', text: t('pollFailed', { time: now, error: message }, `poll failed ${now}: ${message}; retrying`) });
        node.warn(`webform in: poll of ${webformId} failed, retrying in ${intervalMs / 1000} s: ${message}`);
      }
    };
    const schedule = (delay: number) => {
      timer = setTimeout(() => {
        running = tick().finally(() => {
          if (!closed) schedule(intervalMs);
        });
      }, delay);
    };
    schedule(0);

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      if (timer) clearTimeout(timer);
      running.then(done, done);
    });
  }

  RED.nodes.registerType('os2-webform-in', WebformInNode, {
    credentials: { secret: { type: 'password' } },
  });
};
