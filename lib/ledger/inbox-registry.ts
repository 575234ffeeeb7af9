/**
 * Which ledgers hold a push inbox in this process (webform in registers the ledger it writes submissions to), so
 * that fordeling out can acknowledge a submission's inbox entry once it has recorded the shipment — whichever ledger
 * config node each of them uses. No Node-RED dependency.
 */
import type { Ledger } from './types';

const inboxes = new Map<Ledger, number>();

/** Registers `ledger` as holding inbox entries; returns the function that unregisters it (call it on close). */
export function registerInbox(ledger: Ledger): () => void {
  inboxes.set(ledger, (inboxes.get(ledger) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (inboxes.get(ledger) ?? 1) - 1;
    if (n <= 0) inboxes.delete(ledger);
    else inboxes.set(ledger, n);
  };
}

/** The ledgers holding inbox entries, plus `own` (once each). */
export function inboxLedgers(own?: Ledger): Ledger[] {
  const all = new Set<Ledger>(inboxes.keys());
  if (own) all.add(own);
  return [...all];
}

/** Acknowledges the inbox entries `ids` in every inbox ledger (unknown ids are ignored by the ledger). */
export async function ackInboxEverywhere(ids: Iterable<string>, own?: Ledger): Promise<void> {
  const unique = [...new Set(ids)].filter((id) => typeof id === 'string' && id.length > 0);
  if (!unique.length) return;
  await Promise.all(
    inboxLedgers(own).map(async (l) => {
      for (const id of unique) await l.ackInbox(id);
    }),
  );
}
