// Debian's chromium for the browser tests (playwright-core): found or skipped (never in CI), and launched headless.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Skips the suite (`ctx.skip()`) when chromium is missing locally; with CI=true a missing chromium is an error. */
export function requireChromium(ctx: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.env.CI === 'true') throw new Error(`chromium is missing at ${CHROMIUM} (apt-get install chromium); the browser tests may not skip in CI`);
  console.log(`    (skipped: no chromium at ${CHROMIUM}; apt-get install chromium to run the browser tests)`);
  ctx.skip();
}

/** Chromium headless with a fresh, empty profile (playwright makes one per launch) and nothing phoning home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Before a browser suite against the built package: chromium present (or skip, never in CI), `dist/` built (its
 * `builtFile` exists) and the screenshot folder `out` made.
 */
export function prepareBrowserSuite(ctx: Mocha.Context, builtFile: string, out: string): void {
  requireChromium(ctx);
  if (!fs.existsSync(path.resolve(__dirname, '..', '..', 'dist', builtFile)))
    throw new Error('dist/ is missing or stale: run `npm run build` (npm test does) first');
  fs.mkdirSync(out, { recursive: true });
}
