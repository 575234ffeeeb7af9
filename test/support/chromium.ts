// Debian's chromium for the browser tests (playwright-core): found or skipped (never in CI), and launched headless.
import fs from 'node:fs';
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
