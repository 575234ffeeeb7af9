/**
 * Keeping the raw request body for `webform in` in a real Node-RED.
 *
 * Node-RED mounts its admin app (editor + Admin API) at httpAdminRoot — by default `/`, the same root as the
 * HTTP nodes — *before* the node app, and the admin app parses every JSON and form-encoded body with a 5 MB
 * limit. So a POST to a node's path arrives with its stream already consumed (no raw bytes for the HMAC check)
 * or has already been answered 413 above 5 MB. The test helper has no admin app in front, so only a real
 * Node-RED shows this.
 *
 * The hook below puts one small middleware at the front of the server's main app (before the admin app's
 * mount) that, for a POST to this node's path, only marks the request as parsed (`_body`) and claimed, so the admin
 * app's parsers leave the stream alone; the node's route then authenticates first and reads the raw body itself with
 * its own limit (nothing is buffered for a request without the right secret header). It is removed when the node closes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RawBodyRequest extends IncomingMessage {
  /** Set by the hook: the stream is untouched and belongs to webform in. */
  os2BodyClaimed?: boolean;
  /** Set by body-parser (and by this hook) once a body has been consumed. */
  _body?: boolean;
  body?: unknown;
  path?: string;
}

interface Layer {
  handle: unknown;
  name?: string;
}
interface ExpressApp {
  _router?: { stack: Layer[] };
  use(fn: unknown): void;
}

function normaliseRoot(root: unknown): string {
  if (root === false) return '';
  let r = typeof root === 'string' && root ? root : '/';
  if (!r.startsWith('/')) r = '/' + r;
  return r.endsWith('/') ? r : r + '/';
}

/**
 * Installs the hook in the application that Node-RED's HTTP-node app is mounted in (`RED.httpNode.parent`, the
 * server's main app, which mounts the admin app first); returns a function that removes it. Without a parent
 * (as in the test helper) nothing stands in front of the node app and nothing is installed.
 */
export function installRawBodyHook(nodeApp: unknown, settings: { httpNodeRoot?: unknown; httpRoot?: unknown }, nodePath: string): () => void {
  const app = (nodeApp as { parent?: ExpressApp } | undefined)?.parent;
  if (!app || typeof app.use !== 'function' || settings.httpNodeRoot === false) return () => {};
  // Express matches routes case-insensitively and with an optional trailing slash; so does the hook.
  const fullPath = (normaliseRoot(settings.httpNodeRoot ?? settings.httpRoot) + nodePath.replace(/^\/+/, '')).replace(/\/+$/, '').toLowerCase();

  const hook = (req: RawBodyRequest, _res: ServerResponse, next: () => void): void => {
    const pathname = (req.path ?? new URL(req.url ?? '/', 'http://localhost').pathname)
      .replace(/\/{2,}/g, '/')
      .replace(/\/+$/, '')
      .toLowerCase();
    if (req.method !== 'POST' || req._body || pathname !== fullPath) {
      next();
      return;
    }
    req._body = true; // body-parser skips a request whose body was already read
    req.os2BodyClaimed = true;
    next();
  };

  app.use(hook);
  const stack = app._router?.stack;
  if (stack) {
    // Move the layer just added to after express' own query/init layers, before the admin app's mount.
    const layer = stack.pop()!;
    const init = stack.findIndex((l) => l.name === 'expressInit');
    const mount = stack.findIndex((l) => l.name === 'mounted_app');
    stack.splice(init >= 0 ? init + 1 : mount >= 0 ? mount : stack.length, 0, layer);
  }
  return () => {
    const s = app._router?.stack;
    if (!s) return;
    const i = s.findIndex((l) => l.handle === hook);
    if (i >= 0) s.splice(i, 1);
  };
}
