/**
 * Readiness: may this instance take work? Each check answers ok or why not, within a bounded time; the answer carries
 * no secret and no personal data (ledger names, certificate names and dates, flow state only).
 *   - flows: Node-RED has started the flows;
 *   - ledger:<name>: the ledger answers a query (PostgreSQL reachable, the embedded file readable);
 *   - certificate:<name>: not expired (a warning from 30 days before, still ready).
 */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface ReadinessSources {
  flowsStarted(): boolean;
  ledgers(): Array<{ name: string; probe: () => Promise<unknown> }>;
  certificates(): Array<{ name: string; validTo?: string; error?: string }>;
  now?: () => number;
  timeoutMs?: number;
}

export const EXPIRY_WARNING_DAYS = 30;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Days until `validTo` (negative once passed). */
export function daysLeft(validTo: string, now = Date.now()): number {
  return Math.floor((Date.parse(validTo) - now) / 86_400_000);
}

export async function readiness(s: ReadinessSources): Promise<{ ready: boolean; checks: CheckResult[] }> {
  const now = s.now?.() ?? Date.now();
  const checks: CheckResult[] = [{ name: 'flows', ok: s.flowsStarted(), ...(s.flowsStarted() ? {} : { detail: 'the flows have not started' }) }];
  const ledgers = await Promise.all(
    s.ledgers().map(async (l): Promise<CheckResult> => {
      try {
        await within(l.probe(), s.timeoutMs ?? 3000);
        return { name: `ledger:${l.name}`, ok: true };
      } catch (err) {
        // the first line only: a driver's message can be long; connection strings never appear in it (pg masks them)
        return {
          name: `ledger:${l.name}`,
          ok: false,
          detail: String((err as Error)?.message ?? err)
            .split('\n')[0]!
            .slice(0, 200),
        };
      }
    }),
  );
  checks.push(...ledgers);
  for (const c of s.certificates()) {
    if (c.error || !c.validTo) {
      checks.push({ name: `certificate:${c.name}`, ok: false, detail: c.error ?? 'not loaded' });
      continue;
    }
    const days = daysLeft(c.validTo, now);
    if (days < 0 || Date.parse(c.validTo) <= now) checks.push({ name: `certificate:${c.name}`, ok: false, detail: `expired ${c.validTo}` });
    else checks.push({ name: `certificate:${c.name}`, ok: true, ...(days < EXPIRY_WARNING_DAYS ? { detail: `expires in ${days} days (${c.validTo})` } : {}) });
  }
  return { ready: checks.every((c) => c.ok), checks };
}
