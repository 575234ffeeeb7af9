// The Node-RED editor in a real browser (playwright-core), as the browser tests open it.
import type { Page } from 'playwright-core';

/**
 * Opens the editor at `url` and waits until `ready` (a JavaScript expression evaluated in the page, guarded: the
 * editor's objects appear step by step) holds; then answers no to Node-RED 4's one-time question about update
 * notifications (they would phone home).
 */
export async function openNodeRedEditor(page: Page, url: string, ready: string): Promise<Page> {
  await page.goto(url);
  await page.waitForFunction(`(() => { try { return !!(${ready}); } catch (e) { return false; } })()`, undefined, { timeout: 60_000 });
  const no = page.getByRole('button', { name: 'No, do not enable notifications' });
  if (
    await no.waitFor({ state: 'visible', timeout: 5000 }).then(
      () => true,
      () => false,
    )
  ) {
    await no.click();
    await no.waitFor({ state: 'detached' });
  }
  return page;
}
