/**
 * webform in, push mode, as a route on Node-RED's HTTP node server: the inbox chosen (the ledger whenever the flows
 * deliver), the inbox put back into the flow on start, the route and its raw-body hook added, and all of it removed
 * on close (after Node-RED's http in node, 21-httpin.js). The receive stages themselves are in webform-push.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Node, NodeAPI } from 'node-red';
import { registerInbox } from '../ledger/inbox-registry';
import type { Ledger } from '../ledger/types';
import { Intake } from '../webform/intake';
import { ReplayMemory } from '../webform/replay';
import { installRawBodyHook } from './raw-body-hook';
import { removeRoute } from './routes';
import { RatedStatus } from './status-rate';
import type { StatusText } from './status-text';
import { type Handler, type Res, fail, fromInbox, pushHandler, pushSettings, replayInboxOnStart } from './webform-push';
import { type IntakeCounts, type IntakeOutputs, intakeSettings } from './webform-intake';

export interface PushRouteParts {
  RED: NodeAPI;
  node: Node<{ secret: unknown }>;
  config: Record<string, unknown>;
  t: StatusText;
  /** The chosen ledger node (inbox and intake), or null: the default embedded ledger. */
  ledgerNode: { ready?: Promise<Ledger> } | null;
  ledger: () => Ledger;
  counts: IntakeCounts;
  out: IntakeOutputs;
}

export function startPushRoute(p: PushRouteParts): void {
  const { RED, node, config, t } = p;
  const red = (text: string) => node.status({ fill: 'red', shape: 'ring', text });
  const settings = RED.settings as unknown as Record<string, unknown>;
  if (settings.httpNodeRoot === false) {
    node.warn('webform in: the HTTP node server is disabled (httpNodeRoot: false); no route created');
    return red(t('httpDisabled', {}, 'HTTP node server disabled'));
  }
  const raw = String(config.path ?? '').trim();
  if (!raw) return (node.warn('webform in: no path configured'), red(t('noPath', {}, 'no path configured')));
  const url = raw.startsWith('/') ? raw : `/${raw}`;
  // The inbox: the chosen ledger, else the default embedded ledger whenever the deployed flows deliver (a fordeling
  // out exists to acknowledge it). The intake (what was passed on per submission) always lives in the ledger.
  let needsInbox = !!p.ledgerNode;
  RED.nodes.eachNode((n) => {
    if (n.type === 'os2-fordeling-out' && !(n as { d?: boolean }).d) needsInbox = true;
  });
  let ledger: Ledger | undefined;
  let unregister = () => {};
  try {
    ledger = p.ledger();
    if (needsInbox) unregister = registerInbox(ledger);
  } catch (err) {
    node.error(`webform in: ${(err as Error).message}`);
  }
  const inbox = needsInbox ? ledger : undefined;
  let closing = false;
  const cancelReplay = replayInboxOnStart((RED as unknown as { events?: Parameters<typeof replayInboxOnStart>[0] }).events, async () => {
    if (!inbox) return;
    try {
      await p.ledgerNode?.ready;
      const pending = await inbox.pendingInbox();
      if (pending.length) node.log(`webform in: putting ${pending.length} accepted submission(s) back into the flow`);
      for (const e of pending) if (!closing) p.out.pass(fromInbox(e.payload), e.id);
    } catch (err) {
      node.error(`webform in: the ledger inbox cannot be read: ${(err as Error).message}`);
    }
  });

  const secret = typeof node.credentials?.secret === 'string' ? node.credentials.secret : '';
  const listening = t('listening', { path: url }, `listening on ${url}`);
  if (!secret) red(t('noSecret', {}, 'no secret configured: refusing all requests'));
  else node.status({ fill: 'green', shape: 'dot', text: listening });
  const dot = new RatedStatus((s) => node.status(s));
  const push = pushSettings(config);
  // HMAC without a timestamp (allowed unless required): accepted the old way, with no replay protection — said once in
  // the log, and in the status while the last accepted request came so
  let untimed = false;
  let warned = false;
  const callback = pushHandler({
    settings: push,
    secret,
    keepInbox: !!inbox,
    needsInbox,
    intake: ledger ? new Intake(ledger, intakeSettings(config)) : undefined,
    replay: ledger ? new ReplayMemory(ledger) : undefined,
    counts: p.counts,
    out: p.out,
    untimed: () => {
      untimed = true;
      if (!warned) {
        warned = true;
        node.warn(
          `webform in: a signed request came without header ${push.timestampHeader}: accepted without replay protection (set Timestamp to required once the sender signs with one)`,
        );
      }
    },
    // per submission: at a bounded rate, the text made only when shown (status-rate.ts)
    accepted: () => {
      const last = untimed;
      untimed = false;
      dot.rated(() => {
        const now = new Date().toISOString().slice(11, 19);
        const text = t('listeningLast', { path: url, time: now }, `${listening} · last ${now}`) + p.counts.text(t);
        if (!last) return { fill: 'green', shape: 'dot', text };
        return { fill: 'yellow', shape: 'dot', text: `${text} · ${t('untimed', {}, 'no timestamp: replay protection off')}` };
      });
    },
    storeFailed: (err) => {
      node.error(`webform in: a submission could not be stored, answered 503: ${err.message}`);
      dot.now({ fill: 'red', shape: 'dot', text: t('storeFailed', {}, 'ledger cannot store: answering 503') });
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
    dot.close();
    cancelReplay();
    unregister();
    done();
  });
}
