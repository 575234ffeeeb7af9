/**
 * webform in, fetch mode: polls the OS2forms REST API through an os2forms site every interval, emits what is new and
 * keeps the cursor (in the ledger when one is chosen, else a file under the user directory), with the outcome of each
 * poll on the status dot and failures logged without personal data.
 */
import * as path from 'node:path';
import type { NodeStatus } from 'node-red';
import { LedgerCursorStore } from '../ledger/cursor-store';
import type { Ledger } from '../ledger/types';
import type { Submission } from '../sf2900/model';
import { type CursorStore, FileCursorStore } from '../webform/cursor-store';
import type { Os2formsSite } from '../webform/os2forms-client';
import { pollOnce } from '../webform/poller';
import type { StatusText } from './status-text';

export interface FetchLoopOptions {
  site: Os2formsSite;
  siteId: string;
  webformId: string;
  nodeId: string;
  intervalMs: number;
  fetchFiles: boolean;
  ledger?: Ledger;
  userDir?: string;
  emit: (s: Submission) => void;
  status: (s: NodeStatus) => void;
  warn: (text: string) => void;
  t: StatusText;
}

const time = () => new Date().toISOString().slice(11, 19);

/** Starts polling at once; the returned function stops it and resolves when the poll in progress has ended. */
export function startFetchLoop(o: FetchLoopOptions): () => Promise<void> {
  const { t, webformId } = o;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let store: CursorStore | undefined;

  const tick = async () => {
    try {
      if (!store) {
        if (!o.userDir && !o.ledger) throw new Error('Node-RED has no userDir; cannot keep the fetch cursor');
        store = o.ledger
          ? await LedgerCursorStore.open(o.ledger, `webform-in:${o.siteId}:${webformId}`)
          : await FileCursorStore.open(path.join(o.userDir!, 'os2-state', `webform-in-${o.nodeId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`));
      }
      o.status({ fill: 'blue', shape: 'dot', text: t('pollingNow', { webform: webformId }, `polling ${webformId}…`) });
      const r = await pollOnce({ client: o.site.client(), webformId, store, fetchFiles: o.fetchFiles, emit: o.emit, stopped: () => closed });
      if (closed) return;
      const now = time();
      if (r.failed.length > 0) {
        const first = r.failed[0]!;
        const vars = { time: now, count: r.failed.length, sid: first.sid, error: first.error };
        o.status({
          fill: 'red',
          shape: 'ring',
          text: t('someFailed', vars, `last poll ${now}: ${r.failed.length} failed (sid ${first.sid}: ${first.error}); retrying`),
        });
        o.warn(
          `webform in: ${r.failed.length} submission(s) of ${webformId} not fetched, retried next poll: ${r.failed.map((f) => `sid ${f.sid}: ${f.error}`).join('; ')}`,
        );
      } else {
        o.status({
          fill: 'green',
          shape: 'dot',
          text: t('polling', { webform: webformId, time: now, count: r.emitted }, `polling ${webformId}; last poll ${now} (${r.emitted} new)`),
        });
      }
    } catch (err) {
      if (closed) return;
      const message = (err as Error).message;
      const now = time();
      o.status({ fill: 'red', shape: 'ring', text: t('pollFailed', { time: now, error: message }, `poll failed ${now}: ${message}; retrying`) });
      o.warn(`webform in: poll of ${webformId} failed, retrying in ${o.intervalMs / 1000} s: ${message}`);
    }
  };
  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      running = tick().finally(() => {
        if (!closed) schedule(o.intervalMs);
      });
    }, delay);
  };
  schedule(0);
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    return running;
  };
}
