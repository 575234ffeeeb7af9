import type { IssuedToken } from './response';

export interface TokenCacheOptions {
  /** Refresh this long before NotOnOrAfter (default 15 minutes, as the PHP library does); at most half the token's life. */
  refreshBeforeMs?: number;
  now?: () => number;
}

/**
 * Holds one token and fetches a new one shortly before NotOnOrAfter. Concurrent callers share one fetch; a failed
 * fetch is not cached (the next call tries again).
 */
export class TokenCache {
  private token?: IssuedToken;
  private fetchedAt = 0;
  private inFlight?: Promise<IssuedToken>;
  private readonly refreshBeforeMs: number;
  private readonly now: () => number;
  /** How many times the fetcher ran (for status and tests). */
  fetches = 0;

  constructor(
    private readonly fetcher: () => Promise<IssuedToken>,
    opts: TokenCacheOptions = {},
  ) {
    this.refreshBeforeMs = opts.refreshBeforeMs ?? 15 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** The moment the cached token is replaced. */
  refreshAt(): number | undefined {
    if (!this.token) return undefined;
    const end = this.token.notOnOrAfter.getTime();
    const life = Math.max(0, end - this.fetchedAt);
    return end - Math.min(this.refreshBeforeMs, life / 2);
  }

  async get(): Promise<IssuedToken> {
    const at = this.refreshAt();
    if (this.token && at !== undefined && this.now() < at) return this.token;
    if (!this.inFlight) {
      this.inFlight = (async () => {
        try {
          this.fetches++;
          const fetchedAt = this.now();
          const token = await this.fetcher();
          this.token = token;
          this.fetchedAt = fetchedAt;
          return token;
        } finally {
          this.inFlight = undefined;
        }
      })();
    }
    return this.inFlight;
  }

  /** Forget the token (e.g. after the service refused it). */
  invalidate(): void {
    this.token = undefined;
  }
}
