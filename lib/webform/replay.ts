/**
 * Replay memory of webform in (push, HMAC with a timestamp): a signed request is taken once. Its MAC is remembered in
 * the ledger's records (compare-and-set, so instances sharing a PostgreSQL ledger decide once, and the embedded ledger
 * keeps it over a restart) under `webform-in:replay:<sha256 of the MAC>` until the request's timestamp leaves the window;
 * after that the timestamp check refuses it anyway. The record holds only that expiry: no body, no MAC. Old records
 * go with the ledger's retention (records last written before the cutoff).
 *
 * A legitimate repeat is a new request (a new timestamp, so a new MAC): it is not a replay, and the intake decides what
 * it is (intake.ts: a repeat, unchanged, or a change).
 */
import { createHash } from 'node:crypto';
import type { Ledger } from '../ledger/types';

interface ReplayRecord {
  /** Until when the request's timestamp is inside the window (ISO 8601). */
  expiresAt: string;
  /** Given back: the request was not taken (the submission could not be stored), so the same request may come again. */
  released?: boolean;
}

/** A request taken: `release` gives it back when it was not accepted after all. */
export interface ReplayClaim {
  release(): Promise<void>;
}

export class ReplayMemory {
  constructor(private readonly ledger: Ledger) {}

  /** The record's key: a digest of the MAC. */
  static keyOf(mac: Buffer): string {
    return `webform-in:replay:${createHash('sha256').update(mac).digest('hex')}`;
  }

  /**
   * Takes the request with this MAC, remembered until `expiresAt`; undefined when it was taken before (and not given
   * back) and has not expired: a replay. Resolve = durable.
   */
  async claim(mac: Buffer, expiresAt: Date, now: number = Date.now()): Promise<ReplayClaim | undefined> {
    const key = ReplayMemory.keyOf(mac);
    for (let tries = 0; tries < 5; tries++) {
      const stored = await this.ledger.getRecord(key);
      const seen = stored?.value as ReplayRecord | undefined;
      if (seen && !seen.released && Date.parse(seen.expiresAt) > now) return undefined;
      const value: ReplayRecord = { expiresAt: expiresAt.toISOString() };
      const version = stored?.version ?? 0;
      // another writer in between (another instance took the same request): read again, and it is a replay
      if (await this.ledger.putRecord(key, value, version)) {
        return {
          release: async () => {
            await this.ledger.putRecord(key, { ...value, released: true }, version + 1);
          },
        };
      }
    }
    throw new Error('the replay record kept changing under concurrent writes; try again');
  }
}
