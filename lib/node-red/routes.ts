/**
 * Routes a node adds to Node-RED's HTTP app (httpNode) and takes away again on close, as Node-RED's own http in
 * node does (21-httpin.js): a redeploy must not leave the old handler answering. Express 4 keeps its layers in
 * `app._router.stack`, Express 5 in `app.router.stack`.
 */
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}
type App = { _router?: { stack: Layer[] }; router?: { stack?: Layer[] } };

function stackOf(app: unknown): Layer[] | undefined {
  const a = app as App;
  return a._router?.stack ?? a.router?.stack;
}

/** Removes every `method` route on exactly `path`. */
export function removeRoute(app: unknown, path: string, method = 'post'): void {
  const stack = stackOf(app);
  if (!stack) return;
  for (let i = stack.length - 1; i >= 0; i--) {
    const r = stack[i].route;
    if (r && r.path === path && r.methods[method]) stack.splice(i, 1);
  }
}
