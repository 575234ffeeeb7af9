// The delivery flow the multi-instance tests run on each Node-RED: webform in (push, shared secret) → a JOURNALPOST
// built in a function node → fordeling out, on a PostgreSQL ledger, against the simulator. The same node ids on every
// instance: one delivery queue, claimed by whichever instance is free.
import type { Simulator } from '../../simulator';
import type { SimulatorCerts } from './certs';
import { buildJournalpostCode } from './node-red';
import { serviceplatformNode } from './platform';

export interface DeliveryFlowOptions {
  sim: Pick<Simulator, 'url'>;
  certs: SimulatorCerts;
  /** The push path, e.g. /scaleout/in. */
  path: string;
  secret: string;
  connectionString: string;
  template: object;
  /** fordeling out's settings over the defaults (concurrency 8, fast retries). */
  fordelingOut?: Record<string, unknown>;
  /** fordeling out's wires (default none). */
  wires?: string[][];
  /** More nodes on the tab (e.g. reporters for the outputs). */
  extra?: Array<Record<string, unknown>>;
}

export function deliveryFlow(o: DeliveryFlowOptions): { flows: Array<Record<string, unknown>>; credentials: Record<string, Record<string, unknown>> } {
  return {
    flows: [
      { id: 't', type: 'tab', label: 'delivery' },
      { id: 'c1', type: 'os2-certificate', name: 'client' },
      serviceplatformNode(o.sim, o.certs),
      { id: 'L', type: 'os2-ledger', backend: 'postgresql', retentionDays: '0' },
      { id: 'w1', z: 't', type: 'os2-webform-in', mode: 'push', path: o.path, auth: 'header', authHeader: 'X-Webform-Secret', ledger: 'L', wires: [['f1']] },
      { id: 'f1', z: 't', type: 'function', func: buildJournalpostCode(o.template), outputs: 1, wires: [['fo']] },
      {
        id: 'fo',
        z: 't',
        type: 'os2-fordeling-out',
        serviceplatform: 'sp',
        ledger: 'L',
        attempts: '20',
        retryBase: '0.2',
        retryCap: '1',
        concurrency: '8',
        ...o.fordelingOut,
        wires: o.wires ?? [[], []],
      },
      ...(o.extra ?? []).map((n) => ({ z: 't', ...n })),
    ],
    credentials: {
      c1: { keyPem: o.certs.client.key, certPem: o.certs.client.cert },
      sp: { ca: o.certs.ca.cert },
      w1: { secret: o.secret },
      L: { connectionString: o.connectionString },
    },
  };
}
