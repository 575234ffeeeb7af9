/**
 * Who still uses a configuration's resource (a ledger, a serviceplatform's connections): Node-RED stops all nodes of a
 * deploy or shutdown at once, config nodes included, so a ledger node closing its store or a serviceplatform node
 * closing its connections would cut off fordeling out's sends still finishing — a send the platform got, then
 * repeated by the next claimant; a result never recorded. A user holds the resource while it works; the config node
 * waits for the holds (bounded) before it closes.
 */
const holds = new WeakMap<object, { count: number; waiters: Array<() => void> }>();

/** Marks `resource` in use; the returned function ends that use (once). */
export function hold(resource: object): () => void {
  const h = holds.get(resource) ?? { count: 0, waiters: [] };
  holds.set(resource, h);
  h.count++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--h.count > 0) return;
    for (const w of h.waiters.splice(0)) w();
  };
}

/** Resolves once nobody holds `resource`, or after `maxMs`. */
export function whenReleased(resource: object, maxMs: number): Promise<void> {
  const h = holds.get(resource);
  if (!h || h.count === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, maxMs);
    h.waiters.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
