/**
 * The embedded ledger: SQLite through better-sqlite3, the default when no `ledger` config node is chosen.
 *
 * - One database file (`ledger.db`, with its `-wal` and `-shm`) in the ledger's directory; WAL journal with
 *   a change is acknowledged only once its commit is on disk: the WAL's fsync runs off the event loop, shared by the
 *   commits made meanwhile (`wal-sync.ts`). WAL checkpoints run in a worker thread (`sqlite-checkpointer.ts`), never
 *   on the event loop.
 * - One owner: `ledger.db-owner`, a one-row SQLite file in `locking_mode=EXCLUSIVE`, is written at open and so held
 *   locked until close (the operating system drops the lock with a killed process): a second Node-RED on the same
 *   directory is refused instead of sharing leases it cannot see.
 * - Group commit: the changes asked for within one turn of the event loop run in one transaction (each in its own
 *   savepoint, so one failing change does not undo the others) and share one commit and one fsync.
 * - Bulky payloads are apart from the hot rows: requests/responses in `bodies`, raw receipts in `receipt_raw`; lists
 *   never read them. Nothing is held in memory beyond SQLite's page cache (`cache_size`, 16 MiB).
 * - `:memory:` gives a throw-away ledger with the same code (tests).
 * Schema and migrations: `sqlite-schema.ts`.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import {
  APPROVAL_COLUMNS,
  approvalFromRow,
  approvalWhere,
  RECEIPT_INSERT_COLUMNS,
  SHIPMENT_COLUMNS as COLUMNS,
  receiptFromRow,
  receiptRowValues,
  shipmentIdentityValues,
  shipmentFromRow,
  shipmentWhere,
  strip,
  workFromRow,
  type RowCodec,
} from './rows';
import { deleteInBatches } from './batches';
import { Checkpointer, type CheckpointerOptions } from './sqlite-checkpointer';
import { migrateSqlite, SQLITE_FILE_KEYS_BACKFILL } from './sqlite-schema';
import { WalSync, type Fsync, type FsyncSync } from './wal-sync';
import { ACTIVE_STATES } from './types';
import type {
  AttemptRecord,
  InboxEntry,
  InboxInput,
  QueueEntry,
  QueueRelease,
  ReceiptRecord,
  ShipmentChange,
  ShipmentMove,
  ShipmentRecord,
  ShipmentState,
  WorkItem,
} from './types';
import type { ApprovalDecision, ApprovalFilter, ApprovalRecord, Ledger, PurgeResult, ReceiptEffect, ShipmentFilter, StateGuard, StoredRecord } from './types';

export interface SqliteLedgerOptions {
  /** The clock (tests inject a fake one). */
  now?: () => Date;
  /** The WAL checkpoint thread's settings (tests). */
  checkpoint?: CheckpointerOptions;
  /** Rows deleted per retention batch (the event loop is given back between batches). Default 200. */
  purgeBatch?: number;
  /** How the WAL is put on disk (tests: an fsync that waits or fails). Default `fs.fsync`, and `fs.fsyncSync` for a lone change. */
  fsync?: Fsync;
  fsyncSync?: FsyncSync;
}

export const DB_FILE = 'ledger.db';
/** Held locked by the process that has the ledger open (see the module comment). */
export const OWNER_FILE = 'ledger.db-owner';

/** Bounds of one group commit (see write): measured, 64 FORMULARs with 1 MB PDFs in one commit held the loop 2.1 s. */
const COMMIT_ITEMS = 256;
const COMMIT_BYTES = 4 * 1024 * 1024;

type Row = Record<string, unknown>;

/** Columns of `shipments` a patch may set, by record field. */

interface Pending {
  fn: () => unknown;
  /** One SQL statement: atomic by itself (SQLite undoes a failing statement alone), so it needs no savepoint. */
  single: boolean;
  /** About how many bytes it writes (bodies, payloads), to bound one commit. */
  bytes: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class SqliteLedger implements Ledger {
  private readonly now: () => Date;
  private readonly purgeBatch: number;
  private pending: Pending[] = [];
  private readonly statements = new Map<string, Database.Statement>();
  private scheduled = false;
  private closed = false;
  private readonly db: Database.Database;
  private readonly owner: Database.Database | undefined;
  readonly file: string;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly wal: WalSync | undefined;
  /**
   * The group commit and each change's savepoint, wrapped once: better-sqlite3's `transaction()` builds four wrapper
   * functions per call, which was 6.8 % of a ledger-bound profile when called per change.
   */
  private readonly inCommit: (run: () => void) => void;
  private readonly inSavepoint: (fn: () => unknown) => unknown;

  /** Opens (creating if needed) `<dir>/ledger.db`; `':memory:'` for a throw-away ledger. Throws a clear error. */
  constructor(dir: string, options: SqliteLedgerOptions = {}) {
    const opened = openDatabase(dir);
    this.db = opened.db;
    this.owner = opened.owner;
    this.file = opened.file;
    this.now = options.now ?? (() => new Date());
    this.purgeBatch = options.purgeBatch ?? 200;
    this.inCommit = this.db.transaction((run: () => void) => run()).immediate;
    this.inSavepoint = this.db.transaction((fn: () => unknown) => fn());
    if (this.file !== ':memory:') {
      this.wal = new WalSync(`${this.file}-wal`, options.fsync, () => this.pending.length && this.schedule(), options.fsyncSync);
      try {
        this.checkpointer = new Checkpointer(this.file, options.checkpoint);
      } catch (err) {
        this.db.close();
        this.owner?.close();
        throw storeError(err, this.file, 'open');
      }
    }
  }

  /**
   * A prepared statement, kept for its SQL text: preparing (parsing and planning) every call was 5.5 % of Node-RED's
   * CPU in the end-to-end bench. Statements here are used only with run/get/all (never iterate, pluck or raw, which
   * would change a shared statement). Bounded: list filters make a few dozen texts, not thousands.
   */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      if (this.statements.size >= 500) this.statements.clear();
      st = this.db.prepare(sql); // the one place that prepares
      this.statements.set(sql, st);
    }
    return st;
  }

  // ---------- writing: group commit ----------

  /**
   * Runs `fn` inside the next shared transaction; resolves after that transaction committed. `bytes`: about how much it
   * writes, so that one commit (which holds the event loop) stays bounded: large FORMULAR bodies go a few at a time.
   */
  private write<T>(fn: () => T, bytes = 0, single = false): Promise<T> {
    if (this.closed) return Promise.reject(new Error('The ledger is closed'));
    if (this.wal?.failed) return Promise.reject(storeError(this.wal.failed, this.file, 'write'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, bytes, single, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** A change of one SQL statement (atomic by itself, so it needs no savepoint in the shared commit). */
  private writeStatement<T>(fn: () => T, bytes = 0): Promise<T> {
    return this.write(fn, bytes, true);
  }

  private schedule(): void {
    if (this.scheduled || this.wal?.syncing) return; // committed once the running fsync returns (wal-sync.ts)
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** The next batch: at most COMMIT_ITEMS changes and, past the first, COMMIT_BYTES of bodies. */
  private nextBatch(): Pending[] {
    let n = 0;
    let bytes = 0;
    while (n < this.pending.length && n < COMMIT_ITEMS) {
      bytes += this.pending[n].bytes;
      if (n > 0 && bytes > COMMIT_BYTES) break;
      n++;
    }
    return this.pending.splice(0, n);
  }

  private flush(): void {
    this.scheduled = false;
    this.checkpointer?.takeHold();
    const held = this.checkpointer?.holding();
    if (held) {
      // the checkpoint thread is catching up so the WAL can start over: the changes wait, the event loop runs on
      void held.then(() => this.pending.length && this.schedule());
      return;
    }
    const batch = this.nextBatch();
    if (!batch.length) return;
    if (this.wal?.failed) {
      // an fsync failed: the file's state is unknown, nothing more is written (wal-sync.ts)
      const e = storeError(this.wal.failed, this.file, 'write');
      for (const item of batch) item.reject(e);
      return;
    }
    if (this.pending.length) this.schedule(); // the rest in the next turn: the event loop runs in between
    const results: Array<{ ok: true; v: unknown } | { ok: false; e: Error }> = [];
    try {
      this.inCommit(() => {
        for (const item of batch) {
          if (!this.db.inTransaction) {
            // SQLite rolled the whole transaction back (disk full, I/O error): nothing more may run in it.
            results.push({ ok: false, e: new Error('The ledger transaction was rolled back') });
            continue;
          }
          try {
            results.push({ ok: true, v: item.single ? item.fn() : this.inSavepoint(item.fn) });
          } catch (e) {
            results.push({ ok: false, e: e as Error });
          }
        }
        const fatal = results.find((r): r is { ok: false; e: Error } => !r.ok && isStoreFailure(r.e));
        if (fatal) throw fatal.e;
      });
    } catch (err) {
      const e = storeError(err, this.file, 'write');
      for (const item of batch) item.reject(e);
      return;
    }
    const settle = () =>
      batch.forEach((item, i) => {
        const r = results[i];
        if (r.ok) item.resolve(r.v);
        else item.reject(r.e);
      });
    if (!this.wal) return settle();
    this.wal.committed();
    // a lone change while the event loop is quiet: fsynced in place (wal-sync.ts); else off the loop, shared
    if (batch.length === 1 && this.wal.loopIsQuiet() && this.wal.syncNow() && !this.wal.failed) return settle();
    this.durable().then(settle, (e: Error) => {
      for (const item of batch) item.reject(e);
    });
  }

  /** Resolves once what was committed so far is on disk (wal-sync.ts). */
  private durable(): Promise<void> {
    return this.wal ? this.wal.durable().catch((err: unknown) => Promise.reject(storeError(err, this.file, 'write'))) : Promise.resolve();
  }

  /** A read, refused once closed; answered once the commits it may have seen are on disk (wal-sync.ts). */
  private read<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('The ledger is closed'));
    let value: T;
    try {
      value = fn();
    } catch (err) {
      return Promise.reject(storeError(err, this.file, 'read'));
    }
    return this.durable().then(() => value);
  }

  private iso(): string {
    return this.now().toISOString();
  }

  // ---------- shipments ----------

  createShipment(init: Parameters<Ledger['createShipment']>[0], enqueue?: QueueEntry): Promise<{ created: boolean; shipment: ShipmentRecord }> {
    return this.write(() => {
      const now = this.iso();
      const identity = shipmentIdentityValues(init);
      const meta = json(init.meta);
      const r = this.stmt(
        `INSERT INTO shipments (transaction_id, distribution_transaction_id, submission_id, webform_id, objekt_type, state, created_at, updated_at, last_error, meta)
           VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (transaction_id) DO NOTHING`,
      ).run(...identity, now, now, init.lastError ?? null, meta);
      const created = r.changes === 1;
      if (!created) return { created, shipment: this.shipmentSync(init.transactionId, true)! }; // the stored one, to decide on
      // only the bodies it has: a new shipment has none to remove
      const bodies: { request?: string; response?: string } = {};
      if (init.request !== undefined) bodies.request = init.request;
      if (init.response !== undefined) bodies.response = init.response;
      this.setBodies(init.transactionId, bodies);
      for (const a of init.attempts ?? []) this.insertAttempt(init.transactionId, a);
      if (enqueue) this.enqueueSync(init.transactionId, enqueue.notBefore, enqueue.queue);
      // what was just written, as a read would give it (not read back: two queries less on every new shipment)
      const [transaction_id, distribution_transaction_id, submission_id, webform_id, objekt_type, state] = identity;
      const row = {
        transaction_id,
        distribution_transaction_id,
        submission_id,
        webform_id,
        objekt_type,
        state,
        created_at: now,
        updated_at: now,
        last_error: init.lastError ?? null,
        meta,
      };
      const attempts = (init.attempts ?? []).map((a) => strip({ at: a.at, ok: !!a.ok, errorClass: a.errorClass, error: a.error, durationMs: a.durationMs }));
      return { created, shipment: shipmentFromRow(row, attempts, { request: init.request, response: init.response }, SQLITE_ROWS) };
    }, sizeOf(init.request) + sizeOf(init.response));
  }

  updateShipment(transactionId: string, patch: ShipmentChange, guard?: StateGuard): Promise<ShipmentRecord> {
    const change = () => this.changed(transactionId, this.patchSync(transactionId, patch, guard));
    // without bodies or attempts the change is one UPDATE, atomic without a savepoint; what follows only reads. (A read
    // failing for another reason than the store would leave the change stored while the caller is told it failed; a
    // store failure rolls the whole batch back.)
    if (!('request' in patch || 'response' in patch || patch.attempts)) return this.writeStatement(change);
    return this.write(change, sizeOf(patch.request) + sizeOf(patch.response));
  }

  /** The shipment (without bodies) from the row a write returned; read when the guard left it unchanged (no row). */
  private changed(transactionId: string, row: Row | undefined): ShipmentRecord {
    return row ? this.toShipments([row], false)[0] : this.shipmentSync(transactionId, false)!;
  }

  /**
   * The shipment's row as changed (RETURNING: the row is not read again), or undefined when the guard left it alone.
   * The guard is part of the UPDATE itself (its WHERE, or a CASE for the state), so the state it decides on is the one
   * it changes: no read before it.
   */
  private patchSync(transactionId: string, patch: ShipmentChange, guard?: StateGuard): Row | undefined {
    const keep = guard?.keepStateIf?.length ? guard.keepStateIf : undefined;
    const kept = keep ? `state IN (${keep.map(() => '?').join(',')})` : '';
    const sets = ['updated_at = ?'];
    const values: unknown[] = [this.iso()];
    for (const [key, column] of Object.entries(COLUMNS)) {
      if (!(key in patch)) continue;
      const v = (patch as Record<string, unknown>)[key];
      if (key === 'state' && keep) {
        sets.push(`state = CASE WHEN ${kept} THEN state ELSE ? END`);
        values.push(...keep, v);
        continue;
      }
      sets.push(`${column} = ?`);
      values.push(key === 'meta' ? json(v) : (v ?? null));
    }
    let where = 'transaction_id = ?';
    values.push(transactionId);
    if (keep && guard?.onlyIfMoved) {
      where += ` AND NOT ${kept}`;
      values.push(...keep);
    }
    const row = this.stmt(`UPDATE shipments SET ${sets.join(', ')} WHERE ${where} RETURNING *`).get(...values) as Row | undefined;
    if (!row) {
      if (!this.stmt('SELECT 1 FROM shipments WHERE transaction_id = ?').get(transactionId)) {
        throw new Error(`No shipment with AnvenderTransaktionsID ${transactionId}`);
      }
      return undefined; // the guard kept it as it was
    }
    if ('request' in patch || 'response' in patch) this.setBodies(transactionId, patch);
    if (patch.attempts) {
      this.stmt('DELETE FROM attempts WHERE transaction_id = ?').run(transactionId);
      for (const a of patch.attempts) this.insertAttempt(transactionId, a);
    }
    return row;
  }

  /**
   * Writes the given bodies (undefined removes one), leaving the other alone. One row per body: SQLite rewrites a whole
   * row on update, so a response stored beside a 1.4 MB request rewrote the request each time (measured: 1.1 s commits).
   */
  private setBodies(transactionId: string, b: { request?: string; response?: string }): void {
    for (const kind of ['request', 'response'] as const) {
      if (!(kind in b)) continue;
      const body = b[kind];
      if (body === undefined || body === null) this.stmt('DELETE FROM bodies WHERE transaction_id = ? AND kind = ?').run(transactionId, kind);
      else
        this.stmt('INSERT INTO bodies (transaction_id, kind, body) VALUES (?,?,?) ON CONFLICT (transaction_id, kind) DO UPDATE SET body = excluded.body').run(
          transactionId,
          kind,
          body,
        );
    }
  }

  addAttempt(transactionId: string, attempt: AttemptRecord, move?: ShipmentMove, release?: QueueRelease): Promise<ShipmentRecord> {
    return this.write(() => {
      // in the same savepoint: the move, the attempt and the queue item's release are stored all or none
      let row = move ? this.patchSync(transactionId, move.patch, move.guard) : undefined;
      row ??= this.stmt('UPDATE shipments SET updated_at = ? WHERE transaction_id = ? RETURNING *').get(this.iso(), transactionId) as Row | undefined;
      if (!row) throw new Error(`No shipment with AnvenderTransaktionsID ${transactionId}`);
      this.insertAttempt(transactionId, attempt);
      if (release) this.releaseSync(transactionId, release.owner);
      return this.toShipments([row], false)[0];
    }, sizeOf(move?.patch.request) + sizeOf(move?.patch.response));
  }

  private insertAttempt(transactionId: string, a: AttemptRecord): void {
    this.stmt('INSERT INTO attempts (transaction_id, at, ok, error_class, error, duration_ms) VALUES (?,?,?,?,?,?)').run(
      transactionId,
      a.at,
      a.ok ? 1 : 0,
      a.errorClass ?? null,
      a.error ?? null,
      a.durationMs ?? null,
    );
  }

  getShipment(transactionId: string, options: { bodies?: boolean } = {}): Promise<ShipmentRecord | undefined> {
    return this.read(() => this.shipmentSync(transactionId, options.bodies !== false));
  }

  shipmentStates(transactionIds: readonly string[]): Promise<Map<string, ShipmentState>> {
    return this.read(() => {
      const states = new Map<string, ShipmentState>();
      // the ids as one JSON parameter: one statement for any number of them (bound parameters are limited)
      const rows = this.stmt('SELECT transaction_id, state FROM shipments WHERE transaction_id IN (SELECT value FROM json_each(?))').all(
        JSON.stringify(transactionIds),
      ) as Row[];
      for (const r of rows) states.set(r.transaction_id as string, r.state as ShipmentState);
      return states;
    });
  }

  findByDistributionId(distributionTransactionId: string): Promise<ShipmentRecord | undefined> {
    return this.read(() => {
      const row = this.stmt('SELECT transaction_id FROM shipments WHERE distribution_transaction_id = ? ORDER BY created_at DESC LIMIT 1').get(
        distributionTransactionId,
      ) as Row | undefined;
      return row ? this.shipmentSync(row.transaction_id as string, true) : undefined;
    });
  }

  addFileKeys(transactionId: string, keys: readonly string[]): Promise<string[]> {
    return this.write(() => {
      const add = this.stmt('INSERT INTO file_keys (key, transaction_id) VALUES (?,?) ON CONFLICT (key) DO NOTHING');
      const owner = this.stmt('SELECT transaction_id FROM file_keys WHERE key = ?');
      const taken: string[] = [];
      for (const k of new Set(keys)) {
        if (!k || add.run(k, transactionId).changes === 1) continue;
        if ((owner.get(k) as Row).transaction_id !== transactionId) taken.push(k);
      }
      return taken;
    });
  }

  findByFileKey(key: string): Promise<ShipmentRecord | undefined> {
    return this.read(() => {
      const row = this.stmt('SELECT transaction_id FROM file_keys WHERE key = ?').get(key) as Row | undefined;
      return row ? this.shipmentSync(row.transaction_id as string, false) : undefined;
    });
  }

  listShipments(filter: ShipmentFilter = {}): Promise<ShipmentRecord[]> {
    return this.read(() => {
      const { where, values } = sqliteWhere(filter);
      const rows = this.stmt(`SELECT * FROM shipments ${where} ORDER BY created_at DESC, transaction_id LIMIT ? OFFSET ?`).all(
        ...values,
        filter.limit ?? -1,
        filter.offset ?? 0,
      ) as Row[];
      return this.toShipments(rows, !!filter.includeBodies);
    });
  }

  countShipments(filter: Omit<ShipmentFilter, 'limit' | 'offset' | 'includeBodies'> = {}): Promise<number> {
    return this.read(() => {
      const { where, values } = sqliteWhere(filter);
      return (this.stmt(`SELECT count(*) AS n FROM shipments ${where}`).get(...values) as { n: number }).n;
    });
  }

  private shipmentSync(transactionId: string, bodies: boolean): ShipmentRecord | undefined {
    const row = this.stmt('SELECT * FROM shipments WHERE transaction_id = ?').get(transactionId) as Row | undefined;
    return row ? this.toShipments([row], bodies)[0] : undefined;
  }

  private toShipments(rows: Row[], bodies: boolean): ShipmentRecord[] {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.transaction_id as string);
    const attempts = new Map<string, AttemptRecord[]>();
    const bodyOf = new Map<string, { request?: string; response?: string }>();
    // In chunks: SQLite limits the number of bound parameters.
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const marks = chunk.map(() => '?').join(',');
      for (const a of this.stmt(`SELECT * FROM attempts WHERE transaction_id IN (${marks}) ORDER BY id`).all(...chunk) as Row[]) {
        const list = attempts.get(a.transaction_id as string) ?? [];
        list.push(
          strip({
            at: a.at as string,
            ok: a.ok === 1,
            errorClass: (a.error_class ?? undefined) as AttemptRecord['errorClass'],
            error: (a.error ?? undefined) as string | undefined,
            durationMs: (a.duration_ms ?? undefined) as number | undefined,
          }),
        );
        attempts.set(a.transaction_id as string, list);
      }
      if (bodies) {
        for (const b of this.stmt(`SELECT transaction_id, kind, body FROM bodies WHERE transaction_id IN (${marks})`).all(...chunk) as Row[]) {
          const t = b.transaction_id as string;
          bodyOf.set(t, { ...bodyOf.get(t), [b.kind as string]: b.body as string });
        }
      }
    }
    return rows.map((r) => shipmentFromRow(r, attempts.get(r.transaction_id as string) ?? [], bodyOf.get(r.transaction_id as string), SQLITE_ROWS));
  }

  // ---------- receipts ----------

  addReceipt(receipt: ReceiptRecord, effect?: ReceiptEffect): Promise<{ duplicate: boolean; receipt: ReceiptRecord; shipment?: ShipmentRecord }> {
    return this.write(() => {
      const id = receipt.id ?? randomUUID();
      const r = this.stmt(
        `INSERT INTO receipts (${RECEIPT_INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (transaction_id, fingerprint) DO NOTHING`,
      ).run(...receiptRowValues(id, receipt));
      const duplicate = r.changes !== 1;
      if (!duplicate && receipt.raw !== undefined) this.stmt('INSERT INTO receipt_raw (receipt_id, raw) VALUES (?,?)').run(id, receipt.raw);
      let shipment = this.shipmentSync(receipt.transactionId, false);
      if (!duplicate && shipment && effect) {
        const change = effect(shipment);
        if (change && Object.keys(change.patch).length) {
          shipment = this.changed(receipt.transactionId, this.patchSync(receipt.transactionId, change.patch, change.guard));
        }
      }
      const row = this.stmt(
        'SELECT r.*, x.raw FROM receipts r LEFT JOIN receipt_raw x ON x.receipt_id = r.id WHERE r.transaction_id = ? AND r.fingerprint = ?',
      ).get(receipt.transactionId, receipt.fingerprint) as Row;
      return { duplicate, receipt: toReceiptRow(row), ...(shipment ? { shipment } : {}) };
    }, sizeOf(receipt.raw));
  }

  listReceipts(transactionId: string, options: { raw?: boolean } = {}): Promise<ReceiptRecord[]> {
    return this.read(() => {
      const sql = options.raw
        ? 'SELECT r.*, x.raw FROM receipts r LEFT JOIN receipt_raw x ON x.receipt_id = r.id WHERE r.transaction_id = ? ORDER BY r.seq'
        : 'SELECT * FROM receipts WHERE transaction_id = ? ORDER BY seq';
      return (this.stmt(sql).all(transactionId) as Row[]).map(toReceiptRow);
    });
  }

  // ---------- push inbox ----------

  putInbox(entry: InboxInput): Promise<{ created: boolean }> {
    const payload = JSON.stringify(entry.payload ?? null);
    return this.writeStatement(() => this.insertInbox(entry, payload), payload.length);
  }

  private insertInbox(entry: InboxInput, payload: string): { created: boolean } {
    const r = this.stmt('INSERT INTO inbox (id, webform_id, payload, received_at) VALUES (?,?,?,?) ON CONFLICT (id) DO NOTHING').run(
      entry.id,
      entry.webformId ?? null,
      payload,
      entry.receivedAt ?? this.iso(),
    );
    return { created: r.changes === 1 };
  }

  ackInbox(id: string): Promise<void> {
    return this.writeStatement(() => {
      this.stmt('DELETE FROM inbox WHERE id = ?').run(id);
    });
  }

  pendingInbox(): Promise<InboxEntry[]> {
    return this.read(() =>
      (this.stmt('SELECT * FROM inbox ORDER BY received_at, seq').all() as Row[]).map((r) =>
        strip({
          id: r.id as string,
          webformId: (r.webform_id ?? undefined) as string | undefined,
          payload: JSON.parse(r.payload as string) as unknown,
          receivedAt: r.received_at as string,
        }),
      ),
    );
  }

  // ---------- work queue ----------

  enqueue(transactionId: string, notBefore?: Date, queue = 'default'): Promise<void> {
    return this.writeStatement(() => this.enqueueSync(transactionId, notBefore, queue));
  }

  private enqueueSync(transactionId: string, notBefore: Date | undefined, queue: string): void {
    const now = this.iso();
    this.stmt(
      `INSERT INTO work_queue (transaction_id, queue, not_before) VALUES (?,?,?)
       ON CONFLICT (transaction_id) DO UPDATE SET not_before = excluded.not_before, queue = excluded.queue, owner = NULL, lease_until = NULL
       WHERE work_queue.lease_until IS NULL OR work_queue.lease_until < ?`,
    ).run(transactionId, queue, (notBefore ?? this.now()).toISOString(), now);
  }

  claimDue(owner: string, limit: number, leaseMs: number, now?: Date, queue = 'default'): Promise<WorkItem[]> {
    return this.write(() => {
      const at = now ?? this.now();
      const nowIso = at.toISOString();
      const leaseUntil = new Date(at.getTime() + leaseMs).toISOString();
      const due = this.stmt(
        `SELECT transaction_id FROM work_queue WHERE queue = ? AND not_before <= ? AND (lease_until IS NULL OR lease_until < ?)
           ORDER BY not_before, transaction_id LIMIT ?`,
      ).all(queue, nowIso, nowIso, limit) as Row[];
      const claim = this.stmt('UPDATE work_queue SET owner = ?, lease_until = ? WHERE transaction_id = ? RETURNING *');
      return due.map((d) => toWorkRow(claim.get(owner, leaseUntil, d.transaction_id) as Row));
    });
  }

  extendLease(transactionId: string, owner: string, leaseMs: number, now?: Date): Promise<boolean> {
    return this.writeStatement(() => {
      const until = new Date((now ?? this.now()).getTime() + leaseMs).toISOString();
      return this.stmt('UPDATE work_queue SET lease_until = ? WHERE transaction_id = ? AND owner = ?').run(until, transactionId, owner).changes === 1;
    });
  }

  release(transactionId: string, owner: string, retryAt?: Date): Promise<boolean> {
    return this.writeStatement(() => this.releaseSync(transactionId, owner, retryAt));
  }

  private releaseSync(transactionId: string, owner: string, retryAt?: Date): boolean {
    const r = retryAt
      ? this.stmt('UPDATE work_queue SET not_before = ?, owner = NULL, lease_until = NULL WHERE transaction_id = ? AND owner = ?').run(
          retryAt.toISOString(),
          transactionId,
          owner,
        )
      : this.stmt('DELETE FROM work_queue WHERE transaction_id = ? AND owner = ?').run(transactionId, owner);
    return r.changes === 1;
  }

  listQueue(): Promise<WorkItem[]> {
    return this.read(() => (this.stmt('SELECT * FROM work_queue ORDER BY not_before, transaction_id').all() as Row[]).map(toWorkRow));
  }

  // ---------- fetch cursor ----------

  addCursor(scope: string, key: string): Promise<{ created: boolean }> {
    return this.write(() => ({
      created: this.stmt('INSERT INTO cursor (scope, key, seen_at) VALUES (?,?,?) ON CONFLICT DO NOTHING').run(scope, key, this.iso()).changes === 1,
    }));
  }

  listCursor(scope: string): Promise<string[]> {
    return this.read(() => (this.stmt('SELECT key FROM cursor WHERE scope = ? ORDER BY seq').all(scope) as Row[]).map((r) => r.key as string));
  }

  // ---------- records and leases ----------

  getRecord(key: string): Promise<StoredRecord | undefined> {
    return this.read(() => {
      const r = this.stmt('SELECT value, version, updated_at FROM records WHERE key = ?').get(key) as Row | undefined;
      return r ? { value: JSON.parse(r.value as string), version: Number(r.version), updatedAt: r.updated_at as string } : undefined;
    });
  }

  putRecord(key: string, value: unknown, expectVersion: number, inbox?: InboxInput): Promise<boolean> {
    const text = JSON.stringify(value);
    const put = () => {
      const at = this.iso();
      const r =
        expectVersion === 0
          ? this.stmt('INSERT INTO records (key, value, version, updated_at) VALUES (?,?,1,?) ON CONFLICT DO NOTHING').run(key, text, at)
          : this.stmt('UPDATE records SET value = ?, version = version + 1, updated_at = ? WHERE key = ? AND version = ?').run(text, at, key, expectVersion);
      return r.changes === 1;
    };
    if (!inbox) return this.writeStatement(put, text.length);
    // the record and the inbox entry in one savepoint of the shared commit: both or neither
    const payload = JSON.stringify(inbox.payload ?? null);
    return this.write(() => {
      if (!put()) return false;
      this.insertInbox(inbox, payload);
      return true;
    }, text.length + payload.length);
  }

  takeLease(name: string, owner: string, ms: number, now?: Date): Promise<boolean> {
    return this.write(() => {
      const at = now ?? this.now();
      const until = new Date(at.getTime() + ms).toISOString();
      const r = this.stmt(
        `INSERT INTO leases (name, owner, lease_until) VALUES (?,?,?)
           ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
           WHERE leases.owner = excluded.owner OR leases.lease_until < ?`,
      ).run(name, owner, until, at.toISOString());
      return r.changes === 1;
    });
  }

  releaseLease(name: string, owner: string): Promise<void> {
    return this.write(() => void this.stmt('DELETE FROM leases WHERE name = ? AND owner = ?').run(name, owner));
  }

  // ---------- approvals ----------

  addApproval(a: Omit<ApprovalRecord, 'reminded' | 'state'>): Promise<void> {
    const msg = JSON.stringify(a.msg ?? null);
    return this.write(() => {
      this.stmt(
        `INSERT INTO approvals (id, queue, state, title, created_at, deadline_at, remind_at, view, msg)
           VALUES (?,?,'waiting',?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`,
      ).run(a.id, a.queue, a.title, a.createdAt, a.deadlineAt, a.remindAt ?? null, json(a.view), msg);
    }, msg.length);
  }

  getApproval(id: string, options: { msg?: boolean } = {}): Promise<ApprovalRecord | undefined> {
    return this.read(() => {
      const r = this.stmt(`SELECT ${APPROVAL_COLUMNS}${options.msg ? ', msg' : ''} FROM approvals WHERE id = ?`).get(id) as Row | undefined;
      return r ? approvalFromRow(r, SQLITE_ROWS) : undefined;
    });
  }

  listApprovals(filter: ApprovalFilter = {}): Promise<ApprovalRecord[]> {
    const { where, params } = approvalWhere(filter, () => '?');
    return this.read(() =>
      (
        this.stmt(`SELECT ${APPROVAL_COLUMNS} FROM approvals ${where} ORDER BY created_at, id LIMIT ? OFFSET ?`).all(
          ...params,
          filter.limit ?? -1,
          filter.offset ?? 0,
        ) as Row[]
      ).map((r) => approvalFromRow(r, SQLITE_ROWS)),
    );
  }

  countApprovals(filter: Omit<ApprovalFilter, 'limit' | 'offset'> = {}): Promise<number> {
    const { where, params } = approvalWhere(filter, () => '?');
    return this.read(() => Number((this.stmt(`SELECT count(*) AS n FROM approvals ${where}`).get(...params) as Row).n));
  }

  decideApproval(id: string, d: ApprovalDecision): Promise<ApprovalRecord | undefined> {
    const msg = d.msg === undefined ? undefined : JSON.stringify(d.msg);
    return this.write(() => {
      const r = this.stmt(
        `UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, reason = ?, edits = ?, msg = COALESCE(?, msg)
           WHERE id = ? AND state = 'waiting'`,
      ).run(d.state, d.by, d.at, d.reason ?? null, json(d.edits), msg ?? null, id);
      if (r.changes !== 1) return undefined;
      return approvalFromRow(this.stmt(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE id = ?`).get(id) as Row, SQLITE_ROWS);
    }, msg?.length ?? 0);
  }

  dueApprovals(queue: string, now: Date): Promise<ApprovalRecord[]> {
    const at = now.toISOString();
    return this.read(() =>
      (
        this.stmt(
          `SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE queue = ? AND state = 'waiting'
             AND (deadline_at <= ? OR (remind_at <= ? AND reminded = 0)) ORDER BY deadline_at`,
        ).all(queue, at, at) as Row[]
      ).map((r) => approvalFromRow(r, SQLITE_ROWS)),
    );
  }

  markApprovalReminded(id: string): Promise<boolean> {
    return this.write(() => this.stmt("UPDATE approvals SET reminded = 1 WHERE id = ? AND reminded = 0 AND state = 'waiting'").run(id).changes === 1);
  }

  claimDecidedApprovals(queue: string, owner: string, limit: number, leaseMs: number, now?: Date): Promise<ApprovalRecord[]> {
    return this.write(() => {
      const at = now ?? this.now();
      const until = new Date(at.getTime() + leaseMs).toISOString();
      const ids = (
        this.stmt(
          `SELECT id FROM approvals WHERE queue = ? AND emitted_at IS NULL AND state <> 'waiting'
             AND (emit_until IS NULL OR emit_until < ?) ORDER BY decided_at LIMIT ?`,
        ).all(queue, at.toISOString(), limit) as Row[]
      ).map((r) => r.id as string);
      const claim = this.stmt('UPDATE approvals SET emit_owner = ?, emit_until = ? WHERE id = ?');
      const get = this.stmt(`SELECT ${APPROVAL_COLUMNS}, msg FROM approvals WHERE id = ?`);
      return ids.map((id) => (claim.run(owner, until, id), approvalFromRow(get.get(id) as Row, SQLITE_ROWS)));
    });
  }

  markApprovalEmitted(id: string, owner: string): Promise<boolean> {
    return this.write(
      () =>
        this.stmt('UPDATE approvals SET emitted_at = ?, emit_until = NULL WHERE id = ? AND emit_owner = ? AND emitted_at IS NULL').run(this.iso(), id, owner)
          .changes === 1,
    );
  }

  // ---------- import of an older store ----------

  /** Whether `name` was recorded in ledger_info (e.g. an import done). */
  info(name: string): Promise<string | undefined> {
    return this.read(() => (this.stmt('SELECT value FROM ledger_info WHERE name = ?').get(name) as { value: string } | undefined)?.value);
  }

  /**
   * Writes a whole older ledger's content in one transaction, with `marker` recorded in the same transaction, so an
   * import is either complete or absent. Existing rows with the same keys are kept. Returns the number of shipments.
   */
  importAll(
    content: { shipments: ShipmentRecord[]; receipts: ReceiptRecord[]; inbox: InboxEntry[]; queue: WorkItem[]; cursors: Record<string, string[]> },
    marker: { name: string; value: string },
  ): Promise<number> {
    return this.write(() => {
      const ship = this.stmt(
        `INSERT INTO shipments (transaction_id, distribution_transaction_id, submission_id, webform_id, objekt_type, state, created_at, updated_at, last_error, meta)
         VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (transaction_id) DO NOTHING`,
      );
      let n = 0;
      for (const s of content.shipments) {
        const r = ship.run(...shipmentIdentityValues(s), s.createdAt, s.updatedAt, s.lastError ?? null, json(s.meta));
        if (r.changes !== 1) continue;
        n++;
        if (s.request !== undefined || s.response !== undefined) this.setBodies(s.transactionId, { request: s.request, response: s.response });
        for (const a of s.attempts ?? []) this.insertAttempt(s.transactionId, a);
      }
      const rec = this.stmt(`INSERT INTO receipts (${RECEIPT_INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`);
      for (const r of content.receipts) {
        const id = r.id ?? randomUUID();
        const added = rec.run(...receiptRowValues(id, r));
        if (added.changes === 1 && r.raw !== undefined) this.stmt('INSERT INTO receipt_raw (receipt_id, raw) VALUES (?,?)').run(id, r.raw);
      }
      for (const e of content.inbox)
        this.stmt('INSERT INTO inbox (id, webform_id, payload, received_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING').run(
          e.id,
          e.webformId ?? null,
          JSON.stringify(e.payload ?? null),
          e.receivedAt,
        );
      for (const w of content.queue)
        this.stmt('INSERT INTO work_queue (transaction_id, queue, not_before) VALUES (?,?,?) ON CONFLICT DO NOTHING').run(
          w.transactionId,
          w.queue,
          w.notBefore,
        );
      for (const [scope, keys] of Object.entries(content.cursors))
        for (const k of keys) this.stmt('INSERT INTO cursor (scope, key, seen_at) VALUES (?,?,?) ON CONFLICT DO NOTHING').run(scope, k, this.iso());
      this.db.exec(SQLITE_FILE_KEYS_BACKFILL);
      this.stmt('INSERT INTO ledger_info (name, value) VALUES (?,?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(marker.name, marker.value);
      return n;
    });
  }

  // ---------- retention, export ----------

  /** In batches of `purgeBatch` rows, each its own transaction, giving the event loop back in between. */
  async purgeOlderThan(cutoff: Date): Promise<PurgeResult> {
    const at = cutoff.toISOString();
    const active = ACTIVE_STATES.map(() => '?').join(',');
    const shipments = await this.purgeInBatches(
      `DELETE FROM shipments WHERE transaction_id IN (
         SELECT s.transaction_id FROM shipments s WHERE s.updated_at < ? AND s.state NOT IN (${active})
           AND NOT EXISTS (SELECT 1 FROM work_queue w WHERE w.transaction_id = s.transaction_id) LIMIT ?)`,
      [at, ...ACTIVE_STATES],
    );
    const receipts = await this.purgeInBatches(
      `DELETE FROM receipts WHERE seq IN (
         SELECT r.seq FROM receipts r WHERE r.received_at < ?
           AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.transaction_id = r.transaction_id) LIMIT ?)`,
      [at],
    );
    await this.purgeInBatches('DELETE FROM records WHERE key IN (SELECT key FROM records WHERE updated_at < ? LIMIT ?)', [at]);
    await this.purgeInBatches('DELETE FROM approvals WHERE id IN (SELECT id FROM approvals WHERE emitted_at < ? LIMIT ?)', [at]);
    return { shipments, receipts };
  }

  /** Runs a `DELETE … LIMIT ?` (the limit its last parameter) in batches (batches.ts) until nothing is left. */
  private purgeInBatches(sql: string, params: unknown[]): Promise<number> {
    return deleteInBatches(
      (limit) =>
        this.write(() => {
          const started = performance.now();
          const changes = this.stmt(sql).run(...params, limit).changes;
          return { changes, ms: performance.now() - started }; // the delete's own cost, not the wait behind other writes
        }),
      this.purgeBatch,
      1,
      // a batch runs inside a group commit on the event loop, beside the writers' changes: kept short (measured at
      // 1 M shipments: 40 ms batches plus a checkpoint hold made a write wait 117 ms)
      15,
    );
  }

  /** Waits for changes already asked for, then closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.pending.length) await new Promise<void>((resolve) => setImmediate(resolve));
    await this.checkpointer?.stop(); // ends any hold: what is queued is committed now
    while (this.pending.length) this.flush();
    this.closed = true;
    await this.wal?.close();
    this.db.close();
    this.owner?.close();
  }
}

/** Opens the database file with the settings the guarantees rest on, and brings its schema up to date. */
function openDatabase(dir: string): { db: Database.Database; owner?: Database.Database; file: string } {
  const memory = dir === ':memory:';
  const file = memory ? ':memory:' : path.join(path.resolve(dir), DB_FILE);
  let db: Database.Database | undefined;
  let owner: Database.Database | undefined;
  try {
    if (!memory) {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      owner = takeOwnership(path.join(path.dirname(file), OWNER_FILE));
    }
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // NORMAL: COMMIT does not fsync on the event loop; nothing is acknowledged before wal-sync.ts put the WAL on disk
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('cache_size = -16000');
    db.pragma('wal_autocheckpoint = 0'); // checkpoints run in a worker thread (sqlite-checkpointer.ts)
    db.pragma('journal_size_limit = 67108864'); // the WAL file shrinks back to 64 MiB after a checkpoint
    // Each change in a shared commit runs in a savepoint, and a savepoint keeps the pages it changes in a statement
    // journal. SQLite holds that journal in memory up to 64 KiB and then spills it to a new file in /var/tmp, once per
    // commit: with 16 submissions in flight that was 8–34 pwrite64 a submission, to files made and deleted again
    // (strace, bench/e2e.bench.ts). In memory it holds at most the pages one commit changes (COMMIT_ITEMS,
    // COMMIT_BYTES). Sorts move to memory too: the lists sort on indexes (only ties in a temporary b-tree, EXPLAIN QUERY
    // PLAN), and the full sorts (pendingInbox, listQueue) return every row to the caller anyway.
    db.pragma('temp_store = MEMORY');
    migrateSqlite(db);
    // Leases belong to workers of the process that held the file; owning it now, there is none.
    db.prepare('UPDATE work_queue SET owner = NULL, lease_until = NULL WHERE owner IS NOT NULL').run();
  } catch (err) {
    db?.close();
    owner?.close();
    throw storeError(err, file, 'open');
  }
  return { db, owner, file };
}

/**
 * Locks the directory's ledger for this process: a write in `locking_mode=EXCLUSIVE` takes the file's lock and keeps
 * it until the connection closes. Another process (or connection) gets SQLITE_BUSY at once, reported as "in use".
 */
function takeOwnership(ownerFile: string): Database.Database {
  const owner = new Database(ownerFile, { timeout: 0 });
  try {
    owner.pragma('locking_mode = EXCLUSIVE');
    owner.pragma('journal_mode = MEMORY');
    owner.exec('CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER, since TEXT)');
    owner.prepare('INSERT OR REPLACE INTO owner VALUES (1, ?, ?)').run(process.pid, new Date().toISOString());
  } catch (err) {
    owner.close();
    throw err;
  }
  return owner;
}

/** Timestamps are stored as ISO 8601 UTC strings, so they compare as text; a filter's bound is brought to that form. */
function iso(v: string): string {
  const t = Date.parse(v);
  return Number.isNaN(t) ? v : new Date(t).toISOString();
}

function sizeOf(v: string | undefined): number {
  return v?.length ?? 0;
}

function json(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

/** Errors that mean the store itself failed (not this one change): the whole batch is refused. */
function isStoreFailure(e: Error): boolean {
  const code = (e as { code?: string }).code ?? '';
  return /^SQLITE_(FULL|IOERR|READONLY|CORRUPT|NOTADB|CANTOPEN|BUSY|LOCKED|PERM|NOMEM)/.test(code);
}

/** The engine's error as a clear message for a status dot and a log line, keeping the engine's code. */
export function storeError(err: unknown, file: string, doing: 'open' | 'read' | 'write'): Error {
  const e = err as Error & { code?: string };
  const code = e.code ?? '';
  let why: string;
  if (/^SQLITE_FULL/.test(code)) why = 'the disk is full';
  else if (/^SQLITE_READONLY|^SQLITE_PERM|^SQLITE_CANTOPEN/.test(code) || /EACCES|EROFS|readonly/i.test(e.message))
    why = 'the directory or file is not writable';
  else if (/^SQLITE_BUSY|^SQLITE_LOCKED/.test(code))
    why = 'it is in use by another Node-RED or connection (an embedded ledger serves one Node-RED; for several, use PostgreSQL)';
  else if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) why = 'the database file is damaged (restore it from a backup)';
  else if (!code.startsWith('SQLITE_') && !/^E[A-Z]+$/.test(code)) return e;
  else why = e.message;
  const out = new Error(`The ledger at ${file} could not ${doing}: ${why} (${code || e.message})`) as Error & { code?: string; cause?: unknown };
  out.code = code || undefined;
  out.cause = err;
  return out;
}

/** SQLite rows: times are ISO 8601 text, JSON is text. */
const SQLITE_ROWS: RowCodec = { time: (v) => v as string, json: <T>(v: unknown) => JSON.parse(v as string) as T };
const toReceiptRow = (r: Row) => receiptFromRow(r, SQLITE_ROWS);
const toWorkRow = (r: Row) => workFromRow(r, SQLITE_ROWS);
const sqliteWhere = (filter: Omit<ShipmentFilter, 'limit' | 'offset' | 'includeBodies'>) => shipmentWhere(filter, () => '?', iso);
