/**
 * Which ledger a node uses: the chosen `ledger` config node's, else the process's default embedded ledger under the
 * Node-RED user directory (never a store that forgets on restart).
 */
import { defaultLedger } from '../ledger/default-ledger';
import type { Ledger } from '../ledger/types';

/** The Node-RED user directory from the runtime's settings, when it has one. */
export function userDirOf(RED: { settings: unknown }): string | undefined {
  const dir = (RED.settings as { userDir?: unknown } | undefined)?.userDir;
  return typeof dir === 'string' && dir ? dir : undefined;
}

/** A function giving the node's ledger (the config node's, or the default one). */
export function ledgerFor(RED: { settings: unknown }, ledgerNode: { ledger(): Ledger } | null | undefined): () => Ledger {
  return () => (ledgerNode ? ledgerNode.ledger() : defaultLedger(userDirOf(RED)));
}
