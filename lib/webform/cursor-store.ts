/**
 * The fetch cursor file of versions before the cursor moved into the ledger: `{version, updated, seen: ["sid:N", …]}`
 * under `<userDir>/os2-state/`. Read once on upgrade (lib/node-red/webform-fetch.ts) so nothing already emitted is
 * emitted again; never written any more.
 */
import { promises as fsp } from 'node:fs';

/** The keys an earlier version recorded; [] when there is no file. A file that cannot be read is an error, never a reset. */
export async function readLegacyCursor(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`cursor file ${file} is not valid JSON; fix or remove it (removing re-emits every submission)`);
  }
  const seen = (parsed as { seen?: unknown })?.seen;
  if (!Array.isArray(seen) || !seen.every((s) => typeof s === 'string')) {
    throw new Error(`cursor file ${file} has no "seen" list; fix or remove it (removing re-emits every submission)`);
  }
  return seen;
}
