/**
 * webform in, fetch mode: polls the OS2forms REST API through an os2forms site every interval (lib/webform/poller.ts),
 * with the outcome of each poll on the status dot and failures logged without personal data. Its cursor is a record
 * in the ledger (the chosen ledger, else the default embedded one), read at the start of every poll and written at
 * its end. Instances sharing a ledger poll a site + form one at a time: a lease in the ledger, renewed as it polls;
 * when its holder stops, another instance takes over once the lease has run out.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { NodeStatus } from 'node-red';
import type { Ledger } from '../ledger/types';
import { readLegacyCursor } from '../webform/cursor-store';
import { Intake, type IntakeSettings } from '../webform/intake';
import type { Os2formsSite } from '../webform/os2forms-client';
import { type FetchCursor, emptyCursor, pollOnce } from '../webform/poller';
import type { StatusText } from './status-text';
import type { IntakeCounts, IntakeOutputs } from './webform-intake';

export interface FetchLoopOptions {
  site: Os2formsSite;
  siteId: string;
  webformId: string;
  nodeId: string;
  intervalMs: number;
  fetchFiles: boolean;
  draftMaxAgeMs: number;
  overlapMs: number;
  ledger: () => Ledger;
  userDir?: string;
  intake: IntakeSettings;
  counts: IntakeCounts;
  out: IntakeOutputs;
  status: (s: NodeStatus) => void;
  warn: (text: string) => void;
  t: StatusText;
}

const time = () => new Date().toISOString().slice(11, 19);

/** The lease time of a poller: three intervals, at least 10 s. */
export const leaseMsFor = (intervalMs: number) => Math.max(3 * intervalMs, 10_000);

/**
 * A cursor from before this one (a set of `sid:N` keys in the ledger's cursor table, or a file under the user
 * directory): its sids count as handled, so an upgrade passes nothing on again.
 */
async function legacyCursor(ledger: Ledger, o: FetchLoopOptions): Promise<FetchCursor> {
  const keys = new Set(await ledger.listCursor(`webform-in:${o.siteId}:${o.webformId}`));
  if (o.userDir) {
    const file = path.join(o.userDir, 'os2-state', `webform-in-${o.nodeId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
    for (const k of await readLegacyCursor(file)) keys.add(k);
  }
  const cursor = emptyCursor();
  for (const k of keys) if (k.startsWith('sid:')) cursor.recent[k.slice(4)] = 0;
  return cursor;
}

/** Starts polling at once; the returned function stops it and resolves when the poll in progress has ended. */
export function startFetchLoop(o: FetchLoopOptions): () => Promise<void> {
  const { t, webformId } = o;
  const owner = `${os.hostname()}:${process.pid}:${o.nodeId}`;
  const leaseName = `webform-in:poll:${o.siteId}:${webformId}`;
  const cursorKey = `webform-in:cursor:${o.siteId}:${webformId}`;
  const leaseMs = leaseMsFor(o.intervalMs);
  let intake: { ledger: Ledger; intake: Intake } | undefined;
  /** The intake of the ledger in use (made once; again only if the ledger object changed). */
  const intakeFor = (ledger: Ledger) => (intake?.ledger === ledger ? intake : (intake = { ledger, intake: new Intake(ledger, o.intake) })).intake;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    try {
      const ledger = o.ledger();
      if (!(await ledger.takeLease(leaseName, owner, leaseMs))) {
        o.status({ fill: 'grey', shape: 'ring', text: t('standby', { webform: webformId }, `standby: another instance polls ${webformId}`) });
        return;
      }
      o.status({ fill: 'blue', shape: 'dot', text: t('pollingNow', { webform: webformId }, `polling ${webformId}…`) });
      const stored = await ledger.getRecord(cursorKey);
      const cursor = stored ? (stored.value as FetchCursor) : await legacyCursor(ledger, o);
      const r = await pollOnce({
        client: o.site.client(),
        webformId,
        cursor,
        intake: intakeFor(ledger),
        fetchFiles: o.fetchFiles,
        overlapMs: o.overlapMs,
        draftMaxAgeMs: o.draftMaxAgeMs,
        handle: (d, s) => o.counts.apply(d, s, o.out),
        log: o.out.log,
        keepGoing: async () => !closed && (await ledger.takeLease(leaseName, owner, leaseMs)),
      });
      if (!(await ledger.putRecord(cursorKey, r.cursor, stored?.version ?? 0))) {
        o.warn(`webform in: the fetch cursor of ${webformId} was changed by another instance; read again next poll`);
      }
      if (closed) return;
      const now = time();
      const counts = o.counts.text(t);
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
        const vars = { webform: webformId, time: now, count: r.passed, drafts: r.drafts };
        o.status({ fill: 'green', shape: 'dot', text: t('polling', vars, `polling ${webformId}; last poll ${now} (${r.passed} new)`) + counts });
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
  return async () => {
    closed = true;
    if (timer) clearTimeout(timer);
    await running;
    // handed over at once: another instance need not wait for the lease to run out
    await Promise.resolve()
      .then(() => o.ledger().releaseLease(leaseName, owner))
      .catch(() => undefined);
  };
}
