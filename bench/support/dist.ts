import * as path from 'node:path';

/**
 * A module of the shipped build (dist/, compiled by tsc as Node-RED loads it; `npm run build` first), typed as its
 * lib/ source. Benches measure this, not tsx's on-the-fly transpile of lib/: the two differ (tsconfig.json's target
 * turns object spread into Object.assign, which on Node 20 is more than ten times faster).
 */
export function fromDist<T>(module: string): T {
  return require(path.resolve(__dirname, '..', '..', 'dist', module)) as T;
}
