/**
 * Opening a ledger from settings, for the `os2-ledger` config node and for anyone else needing one:
 * returns at once a Ledger whose calls wait until the backend is open (or fail with the reason it could not open),
 * and runs retention (purge) on a timer.
 */
import * as path from 'node:path';
import { openEmbedded } from './embedded';
import { MemoryLedger } from './memory-ledger';
import { PgLedger } from './pg-ledger';
import type { Ledger, PurgeResult } from './types';

export type LedgerSettings =
  | { backend: 'memory' }
  | { backend: 'embedded'; path: string }
  | { backend: 'postgresql'; connectionString: string; schema?: string };

export interface OpenLedgerOptions {
  /** Keep finished shipments and receipts this many days; 0 = forever. */
  retentionDays?: number;
  /** How often retention runs. Default 6 h (and once right after opening). */
  retentionIntervalMs?: number;
  /** Told after each purge that removed something, and about purge failures. */
  onPurge?: (result: PurgeResult) => void;
  onError?: (err: Error) => void;
  /** Told what happened at open that deserves a log line (an older file ledger imported). */
  onNotice?: (text: string) => void;
}

export interface OpenedLedger {
  /** Usable immediately; calls wait for the backend. */
  ledger: Ledger;
  /** Resolves when the backend is open, rejects with why it is not. */
  ready: Promise<Ledger>;
  /** Stops retention and closes the backend (waiting for pending writes). */
  close(): Promise<void>;
}

const METHODS = [
  'createShipment',
  'updateShipment',
  'addAttempt',
  'getShipment',
  'shipmentStates',
  'findByDistributionId',
  'addFileKeys',
  'findByFileKey',
  'listShipments',
  'addReceipt',
  'listReceipts',
  'countShipments',
  'putInbox',
  'ackInbox',
  'pendingInbox',
  'enqueue',
  'claimDue',
  'extendLease',
  'release',
  'listQueue',
  'addCursor',
  'listCursor',
  'getRecord',
  'putRecord',
  'takeLease',
  'releaseLease',
  'addApproval',
  'getApproval',
  'listApprovals',
  'countApprovals',
  'decideApproval',
  'dueApprovals',
  'markApprovalReminded',
  'claimDecidedApprovals',
  'markApprovalEmitted',
  'purgeOlderThan',
] as const satisfies ReadonlyArray<Exclude<keyof Ledger, 'close'>>;
// every method of the Ledger is forwarded: a method added to the interface and not here fails to compile
type Unforwarded = Exclude<Exclude<keyof Ledger, 'close'>, (typeof METHODS)[number]>;
const everyMethod: [Unforwarded] extends [never] ? true : Unforwarded = true;
void everyMethod;

async function openBackend(settings: LedgerSettings, options: OpenLedgerOptions): Promise<{ ledger: Ledger; close: () => Promise<void> }> {
  const own = (ledger: Ledger) => ({ ledger, close: () => ledger.close() });
  switch (settings.backend) {
    case 'memory':
      return own(new MemoryLedger());
    case 'embedded': {
      if (!settings.path) throw new Error('No directory given for the embedded ledger');
      const { ledger, notice, release } = await openEmbedded(settings.path);
      if (notice) options.onNotice?.(notice);
      return { ledger, close: release };
    }
    case 'postgresql':
      if (!settings.connectionString) throw new Error('No PostgreSQL connection string given (credential or environment variable)');
      return own(await PgLedger.open({ connectionString: settings.connectionString, schema: settings.schema || undefined }));
    default:
      throw new Error(`Unknown ledger backend "${(settings as { backend: string }).backend}"`);
  }
}

export function openLedger(settings: LedgerSettings, options: OpenLedgerOptions = {}): OpenedLedger {
  const backend = openBackend(settings, options);
  const ready = backend.then((b) => b.ledger);
  ready.catch(() => undefined); // reported to callers through their calls and through `ready`
  let timer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  const ledger = { close: () => closeAll() } as Ledger;
  for (const m of METHODS) {
    (ledger as unknown as Record<string, unknown>)[m] = async (...args: unknown[]) => {
      if (closing) throw new Error('The ledger is closed');
      const l = await ready;
      return (l[m] as (...a: unknown[]) => unknown).apply(l, args);
    };
  }

  const days = options.retentionDays ?? 0;
  const purge = async () => {
    try {
      const l = await ready;
      const result = await l.purgeOlderThan(new Date(Date.now() - days * 86_400_000));
      if (result.shipments + result.receipts > 0) options.onPurge?.(result);
    } catch (err) {
      if (!closing) options.onError?.(err as Error);
    }
  };
  if (days > 0) {
    ready.then(purge, () => undefined);
    timer = setInterval(purge, options.retentionIntervalMs ?? 6 * 3600_000);
    timer.unref();
  }

  function closeAll(): Promise<void> {
    closing ??= (async () => {
      if (timer) clearInterval(timer);
      const b = await backend.catch(() => undefined);
      await b?.close();
    })();
    return closing;
  }

  return { ledger, ready, close: closeAll };
}

/** The settings of an `os2-ledger` config node as the editor stores them. */
export interface LedgerConfig {
  backend?: 'embedded' | 'postgresql' | 'memory';
  /** Embedded: directory, relative to the Node-RED user directory; default `os2-ledger`. */
  path?: string;
  /** PostgreSQL schema; default os2_ledger. */
  schema?: string;
  /** PostgreSQL: environment variable holding the connection string when no credential is set. */
  connectionEnv?: string;
}

export const DEFAULT_CONNECTION_ENV = 'OS2_LEDGER_DATABASE_URL';

/** Resolves a config node's settings (+ credential, environment) into backend settings; throws a clear message. */
export function ledgerSettings(
  config: LedgerConfig,
  credentials: { connectionString?: string } | undefined,
  userDir: string,
  env = process.env,
): LedgerSettings {
  const backend = config.backend || 'embedded';
  if (backend === 'memory') return { backend };
  if (backend === 'postgresql') {
    const envName = (config.connectionEnv || DEFAULT_CONNECTION_ENV).trim();
    const connectionString = credentials?.connectionString || env[envName] || '';
    if (!connectionString) throw new Error(`no PostgreSQL connection string: set the credential or the environment variable ${envName}`);
    return { backend, connectionString, schema: (config.schema || '').trim() || undefined };
  }
  if (backend !== 'embedded') throw new Error(`unknown backend "${String(backend)}"`);
  const dir = (config.path || '').trim();
  return { backend, path: dir ? path.resolve(userDir, dir) : path.join(userDir, 'os2-ledger') };
}
