/**
 * The package's Prometheus metrics (prom-client), in a registry of its own so nothing else in the process can clash
 * with or read them. Counters and histograms are moved where things happen (webform in's intake, validate, the
 * delivery worker, receipts); what is state — shipments by state, queue depth and how overdue its oldest due item is, approvals
 * waiting, certificate days to expiry — is read from its owners when scraped. Labels are bounded: outcomes, states,
 * classes, receipt codes from a fixed list; never an id, a form's data or a person.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

export const submissions = new Counter({
  name: 'os2_submissions_total',
  help: 'Submissions received by webform in, by what became of them',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const validations = new Counter({
  name: 'os2_validations_total',
  help: 'Messages checked by validate, by result',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const attempts = new Counter({
  name: 'os2_delivery_attempts_total',
  help: 'FordelingsobjektAfsend calls, by outcome (ok, transient, permanent, duplicate-refused)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const sendSeconds = new Histogram({
  name: 'os2_delivery_send_seconds',
  help: 'Time from a shipment taken in (queued) to the platform accepting it',
  buckets: [0.1, 0.5, 1, 2, 5, 15, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600],
  registers: [registry],
});

export const receiptSeconds = new Histogram({
  name: 'os2_delivery_receipt_seconds',
  help: 'Time from a shipment sent to its business (Forretning) receipt',
  buckets: [1, 10, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600, 3 * 86_400],
  registers: [registry],
});

// SOAP receipts' ForretningsValideringsKode, and the SFTP receipts' outcomes (TechnicalReceipt SUCCESS/ERROR,
// BusinessReceipt FileAcceptance ACCEPTED/REJECTED).
const RECEIPT_CODES = new Set(['MODTAGET', 'AFLEVERET', 'ACCEPTERET', 'AFVIST', 'FEJLET', 'OK', 'SUCCESS', 'ERROR', 'ACCEPTED', 'REJECTED']);

export const receipts = new Counter({
  name: 'os2_receipts_total',
  help: 'Receipts received, by type (Teknisk, Forretning, SFTP) and code',
  labelNames: ['type', 'code'] as const,
  registers: [registry],
});

/** Counts a receipt, its code one of a known few (else "other"), so the labels stay bounded. */
export function countReceipt(type: string | undefined, code: string | undefined): void {
  const c = String(code ?? '').toUpperCase();
  const t = /^teknisk$/i.test(type ?? '') ? 'Teknisk' : /^forretning$/i.test(type ?? '') ? 'Forretning' : /^sftp\b/i.test(type ?? '') ? 'SFTP' : 'other';
  receipts.inc({ type: t, code: RECEIPT_CODES.has(c) ? c : 'other' });
}

/** What the state gauges read when scraped (set by the ops plugin, which knows the ledgers and nodes in use). */
export interface StateSource {
  shipmentsByState(): Promise<Record<string, number>>;
  queue(): Promise<{ depth: number; oldestSeconds: number }>;
  approvalsWaiting(): Promise<number>;
  certificates(): Array<{ name: string; daysLeft: number }>;
}

let source: StateSource | undefined;

/** Where the state gauges read from (undefined: they report nothing). */
export function useStateSource(s: StateSource | undefined): void {
  source = s;
}

new Gauge({
  name: 'os2_shipments',
  help: 'Shipments in the ledger(s), by state',
  labelNames: ['state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const [state, n] of Object.entries((await source?.shipmentsByState()) ?? {})) this.set({ state }, n);
  },
});

new Gauge({
  name: 'os2_queue_depth',
  help: 'Shipments waiting in the delivery queue (due now or later)',
  registers: [registry],
  async collect() {
    this.set((await source?.queue())?.depth ?? 0);
  },
});

new Gauge({
  name: 'os2_queue_oldest_seconds',
  help: 'How long the longest-overdue shipment in the delivery queue has been due (a retry counts from its retry time)',
  registers: [registry],
  async collect() {
    this.set((await source?.queue())?.oldestSeconds ?? 0);
  },
});

new Gauge({
  name: 'os2_approvals_waiting',
  help: 'Messages waiting for a decision in approve nodes',
  registers: [registry],
  async collect() {
    this.set((await source?.approvalsWaiting()) ?? 0);
  },
});

new Gauge({
  name: 'os2_certificate_days_to_expiry',
  help: 'Days until a configured certificate expires (negative: expired)',
  labelNames: ['certificate'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const c of source?.certificates() ?? []) this.set({ certificate: c.name }, c.daysLeft);
  },
});

/** What the breaker gauge reads: a registry of circuit breakers keyed `<config id>|<endpoint URL>`. */
export interface BreakerSource {
  states(): Record<string, 'closed' | 'open' | 'half-open'>;
}

const breakerSources = new Map<BreakerSource, number>();
const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * Reports a registry's breakers in `os2_breaker_state` while it is in use (each fordeling out node watches the
 * registry it shares with the others on its serviceplatform); the returned function stops that node's watch.
 */
export function watchBreakers(source: BreakerSource): () => void {
  breakerSources.set(source, (breakerSources.get(source) ?? 0) + 1);
  let watching = true;
  return () => {
    if (!watching) return;
    watching = false;
    const n = (breakerSources.get(source) ?? 1) - 1;
    if (n > 0) breakerSources.set(source, n);
    else breakerSources.delete(source);
  };
}

new Gauge({
  name: 'os2_breaker_state',
  help: 'Circuit breaker per platform endpoint: 0 closed, 1 half-open (probing), 2 open (calls refused)',
  labelNames: ['endpoint'] as const,
  registers: [registry],
  collect() {
    this.reset();
    const worst = new Map<string, number>();
    for (const source of breakerSources.keys()) {
      for (const [key, state] of Object.entries(source.states())) {
        // the key is `<serviceplatform config id>|<URL>`: the URL (never a query string) is the label
        const endpoint = (key.includes('|') ? key.slice(key.indexOf('|') + 1) : key).split('?')[0];
        worst.set(endpoint, Math.max(worst.get(endpoint) ?? 0, BREAKER_VALUE[state] ?? 0));
      }
    }
    for (const [endpoint, v] of worst) this.set({ endpoint }, v);
  },
});
