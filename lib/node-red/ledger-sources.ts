/**
 * The ledgers in use in this Node-RED: every deployed `os2-ledger` config node's, and the process's default embedded
 * ledger unless a ledger node already is that same store. The OS2 sidebar lists from them; readiness and metrics
 * probe and count them.
 */
import type { NodeAPI } from 'node-red';
import { defaultLedgerDir } from '../ledger/default-ledger';
import type { Ledger } from '../ledger/types';
import { ledgerFor, userDirOf } from './ledger';

export interface LedgerSource {
  /** The ledger node's id ('' for the default ledger). */
  id: string;
  name: string;
  ledger: () => Ledger;
}

export function ledgerSources(RED: NodeAPI): LedgerSource[] {
  const out: LedgerSource[] = [];
  const seen = new Set<string>();
  RED.nodes.eachNode((def) => {
    if (def.type !== 'os2-ledger') return;
    const node = RED.nodes.getNode(def.id) as unknown as { ledger?: () => Ledger; storeKey?: string } | null;
    if (!node || typeof node.ledger !== 'function') return;
    if (node.storeKey) seen.add(node.storeKey);
    out.push({ id: def.id, name: def.name || def.id, ledger: () => node.ledger!() });
  });
  if (!seen.has(`embedded:${defaultLedgerDir(userDirOf(RED))}`)) out.unshift({ id: '', name: 'default', ledger: ledgerFor(RED, null) });
  return out;
}
