/**
 * `os2-webform-in`: receives OS2forms submissions (push: the Webform remote-post handler POSTs to a path on
 * Node-RED's HTTP node server) or fetches them (fetch: polls the OS2forms REST API through an `os2-os2forms-site`
 * config node), and emits one normalised `Submission` per message. The receive stages are lib/node-red/webform-push.ts
 * and lib/node-red/webform-fetch.ts; this file reads the settings, picks the inbox and registers.
 */
import type { IncomingMessage } from 'node:http';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { registerInbox } from '../../lib/ledger/inbox-registry';
import type { Ledger } from '../../lib/ledger/types';
import { ledgerFor } from '../../lib/node-red/ledger';
import { installRawBodyHook } from '../../lib/node-red/raw-body-hook';
import { removeRoute } from '../../lib/node-red/routes';
import { statusText } from '../../lib/node-red/status-text';
import { startFetchLoop } from '../../lib/node-red/webform-fetch';
import { type Handler, type Res, fail, fromInbox, pushHandler, pushSettings, replayInboxOnStart } from '../../lib/node-red/webform-push';
import type { Submission } from '../../lib/sf2900/model';
import type { Os2formsSite } from '../../lib/webform/os2forms-client';

/** Settings as the editor stores them; `ledger` (optional os2-ledger): push — the inbox, fetch — the cursor. */
type WebformInDef = NodeDef &
  Record<'mode' | 'path' | 'auth' | 'authHeader' | 'hmacHeader' | 'webformId' | 'site' | 'ledger', string | undefined> & {
    maxBodyMb?: string | number;
    interval?: string | number;
    fetchFiles?: boolean;
  };

export = function (RED: NodeAPI) {
  function WebformInNode(this: Node<{ secret: unknown }>, config: WebformInDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = statusText(RED, 'webform-in');
    const red = (text: string) => node.status({ fill: 'red', shape: 'ring', text });
    const ledgerNode = config.ledger ? (RED.nodes.getNode(config.ledger) as unknown as { ledger(): Ledger; ready?: Promise<Ledger> } | null) : null;
    if (config.ledger && !ledgerNode) {
      node.error('webform in: the chosen ledger configuration is missing');
      return red(t('noLedger', {}, 'ledger configuration missing'));
    }
    const emit = (submission: Submission, inboxId?: string) =>
      node.send({
        _msgid: RED.util.generateId(),
        payload: submission,
        submissionId: submission.submission.uuid,
        ...(inboxId ? { _os2InboxId: inboxId } : {}),
      } as never);

    if (config.mode === 'fetch') {
      const site = config.site ? (RED.nodes.getNode(config.site) as unknown as Os2formsSite | null) : null;
      const webformId = (config.webformId ?? '').trim();
      const problem = !site ? 'no os2forms site configured' : site.configError ? site.configError : !webformId ? 'no webform id configured' : undefined;
      if (problem || !site) return (node.error(`webform in: ${problem}`), red(problem!));
      const iv = Number(config.interval);
      const stop = startFetchLoop({
        site,
        siteId: String(config.site),
        webformId,
        nodeId: node.id,
        intervalMs: Math.round((Number.isFinite(iv) && iv > 0 ? Math.max(iv, 0.05) : 60) * 1000),
        fetchFiles: config.fetchFiles !== false,
        ledger: ledgerNode?.ledger(),
        userDir: (RED.settings as unknown as { userDir?: string }).userDir,
        emit: (s) => emit(s),
        status: (s) => node.status(s),
        warn: (text) => node.warn(text),
        t,
      });
      node.on('close', (_removed: boolean, done: () => void) => void stop().then(done, done));
      return;
    }

    const settings = RED.settings as unknown as Record<string, unknown>;
    if (settings.httpNodeRoot === false) {
      node.warn('webform in: the HTTP node server is disabled (httpNodeRoot: false); no route created');
      return red(t('httpDisabled', {}, 'HTTP node server disabled'));
    }
    const raw = (config.path ?? '').trim();
    if (!raw) return (node.warn('webform in: no path configured'), red(t('noPath', {}, 'no path configured')));
    const url = raw.startsWith('/') ? raw : `/${raw}`;
    // The inbox: the chosen ledger, else the default embedded ledger whenever the deployed flows deliver (a fordeling
    // out exists to acknowledge it). A flow that only receives keeps nothing, as a plain http in would.
    let needsInbox = !!ledgerNode;
    RED.nodes.eachNode((n) => {
      if (n.type === 'os2-fordeling-out' && !(n as { d?: boolean }).d) needsInbox = true;
    });
    let inbox: Ledger | undefined;
    let unregister = () => {};
    if (needsInbox) {
      try {
        inbox = ledgerFor(RED, ledgerNode)();
        unregister = registerInbox(inbox);
      } catch (err) {
        node.error(`webform in: ${(err as Error).message}`);
      }
    }
    let closing = false;
    const cancelReplay = replayInboxOnStart((RED as unknown as { events?: Parameters<typeof replayInboxOnStart>[0] }).events, async () => {
      if (!inbox) return;
      try {
        await ledgerNode?.ready;
        const pending = await inbox.pendingInbox();
        if (pending.length) node.log(`webform in: putting ${pending.length} accepted submission(s) back into the flow`);
        for (const e of pending) if (!closing) emit(fromInbox(e.payload), e.id);
      } catch (err) {
        node.error(`webform in: the ledger inbox cannot be read: ${(err as Error).message}`);
      }
    });

    const secret = typeof node.credentials?.secret === 'string' ? node.credentials.secret : '';
    const listening = t('listening', { path: url }, `listening on ${url}`);
    if (!secret) red(t('noSecret', {}, 'no secret configured: refusing all requests'));
    else node.status({ fill: 'green', shape: 'dot', text: listening });
    const callback = pushHandler({
      settings: pushSettings(config),
      secret,
      inbox,
      needsInbox,
      emit,
      accepted: () => {
        const now = new Date().toISOString().slice(11, 19);
        node.status({ fill: 'green', shape: 'dot', text: t('listeningLast', { path: url, time: now }, `${listening} · last ${now}`) });
      },
      storeFailed: (err) => {
        node.error(`webform in: a submission could not be stored, answered 503: ${err.message}`);
        node.status({ fill: 'red', shape: 'dot', text: t('storeFailed', {}, 'ledger cannot store: answering 503') });
      },
      error: (text) => node.error(text),
    });
    const errorHandler = (err: unknown, _req: IncomingMessage, res: Res, _next: unknown) => {
      node.warn(`webform in: ${(err as Error)?.message ?? err}`);
      fail(res, 500, 'internal error');
    };
    const mw = settings.httpNodeMiddleware;
    const middleware: Handler | Handler[] = typeof mw === 'function' || Array.isArray(mw) ? (mw as Handler | Handler[]) : (_req, _res, next) => next();
    (RED.httpNode as unknown as { post(path: string, ...handlers: unknown[]): void }).post(url, middleware, callback, errorHandler);
    const removeRawBodyHook = installRawBodyHook(RED.httpNode, RED.settings as never, url);

    node.on('close', (_removed: boolean, done: () => void) => {
      removeRoute(RED.httpNode, url, 'post');
      removeRawBodyHook();
      closing = true;
      cancelReplay();
      unregister();
      done();
    });
  }

  RED.nodes.registerType('os2-webform-in', WebformInNode, {
    credentials: { secret: { type: 'password' } },
  });
};
