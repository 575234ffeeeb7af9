/**
 * The samples webform in keeps (lib/webform/samples.ts) across the ledgers in use (as the OS2 overview finds them,
 * ledger-sources.ts), for the map dialog: one list (expired samples swept from each ledger listed), ids that say which
 * ledger.
 */
import type { NodeAPI } from 'node-red';
import { SampleStore, type Sample } from '../webform/samples';
import { ledgerSources } from './ledger-sources';

export interface SampleListItem {
  /** Opaque: `<webformId>:<n>`, and `@<ledger node id>` when the sample is in an os2-ledger node's store. */
  id: string;
  webformId: string;
  receivedAt: string;
  label: string;
}

function idOf(webformId: string, seq: number, ledgerId: string): string {
  return `${encodeURIComponent(webformId)}:${seq}${ledgerId ? `@${encodeURIComponent(ledgerId)}` : ''}`;
}

function parseId(id: string): { webformId: string; seq: number; ledgerId: string } | undefined {
  const m = /^([^:@]+):([0-9]{1,15})(?:@([^@]+))?$/.exec(id);
  if (!m) return undefined;
  try {
    return { webformId: decodeURIComponent(m[1]), seq: Number(m[2]), ledgerId: m[3] ? decodeURIComponent(m[3]) : '' };
  } catch {
    return undefined;
  }
}

/** Every ledger's samples, newest first; a ledger that cannot be read is left out. */
export async function listSamples(RED: NodeAPI, onError?: (err: Error) => void): Promise<SampleListItem[]> {
  const all: SampleListItem[] = [];
  for (const src of ledgerSources(RED)) {
    try {
      const store = new SampleStore(src.ledger());
      await store.sweep();
      for (const s of await store.list()) {
        all.push({ id: idOf(s.webformId, s.seq, src.id), webformId: s.webformId, receivedAt: s.receivedAt, label: s.label });
      }
    } catch (err) {
      onError?.(err as Error);
    }
  }
  return all.sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
}

/** The sample with this id, or undefined (unknown, expired, or its ledger is gone). */
export async function getSample(RED: NodeAPI, id: string): Promise<(Sample & { id: string }) | undefined> {
  const p = parseId(id);
  if (!p) return undefined;
  const src = ledgerSources(RED).find((s) => s.id === p.ledgerId);
  if (!src) return undefined;
  const s = await new SampleStore(src.ledger()).get(p.webformId, p.seq);
  return s ? { ...s, id } : undefined;
}
