/**
 * The PostgreSQL ledger: several Node-RED instances share one database.
 * - Schema (in its own PostgreSQL schema, default `os2_ledger`) created on open, idempotently, under an advisory lock.
 * - createShipment: INSERT … ON CONFLICT DO NOTHING, so the same submission from two instances is one shipment.
 * - Work queue claimed with SELECT … FOR UPDATE SKIP LOCKED and a lease; an expired lease can be claimed again.
 * - Receipts unique on (transaction_id, fingerprint).
 * `pg` is an optional peer dependency, loaded only when this backend is used.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { ACTIVE_STATES } from './types';
import { deleteInBatches } from './batches';
import * as Rows from './rows';
import { APPROVAL_COLUMNS, approvalFromRow, approvalWhere } from './rows';
import type {
  ApprovalDecision,
  ApprovalFilter,
  ApprovalRecord,
  AttemptRecord,
  InboxEntry,
  InboxInput,
  QueueEntry,
  QueueRelease,
  Ledger,
  PurgeResult,
  ReceiptEffect,
  ReceiptRecord,
  ShipmentFilter,
  ShipmentChange,
  ShipmentMove,
  ShipmentRecord,
  ShipmentState,
  StateGuard,
  StoredRecord,
  WorkItem,
} from './types';

export interface PgLedgerOptions {
  connectionString: string;
  /** PostgreSQL schema holding the tables. Default `os2_ledger`. */
  schema?: string;
  /** Pool size. Default 5. */
  max?: number;
  /** Extra pool settings (ssl, …). */
  pool?: Omit<PoolConfig, 'connectionString' | 'max'>;
  /** The most rows one retention batch deletes (batches are smaller while they are slow). Default 500. */
  purgeBatch?: number;
}

type PgModule = typeof import('pg');

function loadPg(): PgModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('pg') as PgModule;
  } catch {
    throw new Error('install pg to use the PostgreSQL ledger (npm install pg in your Node-RED user directory)');
  }
}

/** The schema version this code writes and reads (see migrate). */
export const PG_SCHEMA_VERSION = 5;

export class PgLedger implements Ledger {
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    private readonly s: string,
    private readonly purgeBatch: number,
  ) {}

  static async open(options: PgLedgerOptions): Promise<PgLedger> {
    const schema = options.schema ?? 'os2_ledger';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`Invalid PostgreSQL schema name "${schema}" (lower-case letters, digits, _)`);
    const pg = loadPg();
    const pool = new pg.Pool({ connectionTimeoutMillis: 10_000, ...options.pool, connectionString: options.connectionString, max: options.max ?? 5 });
    pool.on('error', () => undefined); // an idle client lost its connection; the next query reconnects
    const ledger = new PgLedger(pool, `"${schema}"`, options.purgeBatch ?? 500);
    try {
      await ledger.migrate(schema);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error(`Could not prepare the PostgreSQL ledger: ${(err as Error).message}`);
    }
    return ledger;
  }

  private async migrate(schema: string): Promise<void> {
    const s = this.s;
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`os2-ledger:${schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.shipments (
        transaction_id text PRIMARY KEY,
        distribution_transaction_id text,
        submission_id text NOT NULL,
        webform_id text,
        objekt_type text,
        state text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        request text,
        response text,
        last_error text,
        meta jsonb)`);
      await c.query(`CREATE INDEX IF NOT EXISTS shipments_distribution_idx ON ${s}.shipments (distribution_transaction_id)`);
      await c.query(`CREATE INDEX IF NOT EXISTS shipments_created_idx ON ${s}.shipments (created_at)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.attempts (
        id bigserial PRIMARY KEY,
        transaction_id text NOT NULL REFERENCES ${s}.shipments (transaction_id) ON DELETE CASCADE,
        at timestamptz NOT NULL,
        ok boolean NOT NULL,
        error_class text,
        error text,
        duration_ms integer)`);
      await c.query(`CREATE INDEX IF NOT EXISTS attempts_tx_idx ON ${s}.attempts (transaction_id)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.receipts (
        id text PRIMARY KEY,
        transaction_id text NOT NULL,
        distribution_transaction_id text,
        type text NOT NULL,
        code text NOT NULL,
        reason text,
        errors jsonb NOT NULL,
        received_at timestamptz NOT NULL,
        fingerprint text NOT NULL,
        raw text,
        seq bigserial,
        UNIQUE (transaction_id, fingerprint))`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.inbox (
        id text PRIMARY KEY,
        webform_id text,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.work_queue (
        transaction_id text PRIMARY KEY,
        not_before timestamptz NOT NULL,
        owner text,
        lease_until timestamptz)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.cursor (
        scope text NOT NULL,
        key text NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (scope, key))`);
      await c.query(`ALTER TABLE ${s}.work_queue ADD COLUMN IF NOT EXISTS queue text NOT NULL DEFAULT 'default'`);
      await c.query(`CREATE INDEX IF NOT EXISTS work_queue_due_idx ON ${s}.work_queue (queue, not_before)`);
      // Numbered migrations from here on (ledger_info.schema_version), the same steps as the embedded schema's.
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.ledger_info (name text PRIMARY KEY, value text NOT NULL)`);
      const { rows } = await c.query(`SELECT value FROM ${s}.ledger_info WHERE name = 'schema_version'`);
      const version = rows.length ? Number(rows[0].value) : 1;
      if (version > PG_SCHEMA_VERSION)
        throw new Error(`the ledger schema has version ${version}, newer than this package knows (${PG_SCHEMA_VERSION}); upgrade the package`);
      if (version < 2) {
        // 2: bulky payloads out of the hot rows (requests/responses → bodies, raw receipts → receipt_raw)
        await c.query(`CREATE TABLE ${s}.bodies (
          transaction_id text PRIMARY KEY REFERENCES ${s}.shipments (transaction_id) ON DELETE CASCADE,
          request text,
          response text)`);
        await c.query(`INSERT INTO ${s}.bodies (transaction_id, request, response)
          SELECT transaction_id, request, response FROM ${s}.shipments WHERE request IS NOT NULL OR response IS NOT NULL`);
        await c.query(`ALTER TABLE ${s}.shipments DROP COLUMN request, DROP COLUMN response`);
        await c.query(`CREATE TABLE ${s}.receipt_raw (
          receipt_id text PRIMARY KEY REFERENCES ${s}.receipts (id) ON DELETE CASCADE,
          raw text NOT NULL)`);
        await c.query(`INSERT INTO ${s}.receipt_raw (receipt_id, raw) SELECT id, raw FROM ${s}.receipts WHERE raw IS NOT NULL`);
        await c.query(`ALTER TABLE ${s}.receipts DROP COLUMN raw`);
        await c.query(`CREATE INDEX IF NOT EXISTS shipments_state_idx ON ${s}.shipments (state, created_at)`);
        await c.query(`CREATE INDEX IF NOT EXISTS shipments_updated_idx ON ${s}.shipments (updated_at)`);
        await c.query(`CREATE INDEX IF NOT EXISTS receipts_tx_idx ON ${s}.receipts (transaction_id)`);
        await c.query(`CREATE INDEX IF NOT EXISTS receipts_received_idx ON ${s}.receipts (received_at)`);
      }
      if (version < 3) {
        // 3: the names receipts use for a shipment's files (as the embedded schema's migration 2)
        await c.query(`CREATE TABLE ${s}.file_keys (
          key text PRIMARY KEY,
          transaction_id text NOT NULL REFERENCES ${s}.shipments (transaction_id) ON DELETE CASCADE)`);
        await c.query(`CREATE INDEX file_keys_tx_idx ON ${s}.file_keys (transaction_id)`);
        for (const field of ['sftpName', 'fileTransferUuid']) {
          await c.query(`INSERT INTO ${s}.file_keys (key, transaction_id)
            SELECT f.value ->> '${field}', s.transaction_id
            FROM ${s}.shipments s, jsonb_array_elements(CASE WHEN jsonb_typeof(s.meta -> 'sftp' -> 'files') = 'array' THEN s.meta -> 'sftp' -> 'files' ELSE '[]'::jsonb END) f
            WHERE jsonb_typeof(f.value -> '${field}') = 'string'
            ON CONFLICT (key) DO NOTHING`);
        }
      }
      if (version < 4) {
        // 4: records written with compare-and-set and leases (as the embedded schema's migration 3)
        await c.query(`CREATE TABLE IF NOT EXISTS ${s}.records (
          key text PRIMARY KEY,
          value jsonb NOT NULL,
          version integer NOT NULL,
          updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
        await c.query(`CREATE INDEX IF NOT EXISTS records_updated_idx ON ${s}.records (updated_at)`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${s}.leases (
          name text PRIMARY KEY,
          owner text NOT NULL,
          lease_until timestamptz NOT NULL)`);
      }
      if (version < 5) {
        // 5: messages waiting in an approve node and their decisions (as the embedded schema's migration 4)
        await c.query(`CREATE TABLE IF NOT EXISTS ${s}.approvals (
          id text PRIMARY KEY,
          queue text NOT NULL,
          state text NOT NULL,
          title text NOT NULL,
          created_at timestamptz NOT NULL,
          deadline_at timestamptz NOT NULL,
          remind_at timestamptz,
          reminded boolean NOT NULL DEFAULT false,
          view jsonb,
          msg jsonb,
          decided_by text,
          decided_at timestamptz,
          reason text,
          edits jsonb,
          emit_owner text,
          emit_until timestamptz,
          emitted_at timestamptz)`);
        await c.query(`CREATE INDEX IF NOT EXISTS approvals_queue_idx ON ${s}.approvals (queue, state, created_at)`);
        await c.query(`CREATE INDEX IF NOT EXISTS approvals_emitted_idx ON ${s}.approvals (emitted_at)`);
        await c.query(`CREATE INDEX IF NOT EXISTS approvals_unemitted_idx ON ${s}.approvals (queue) WHERE emitted_at IS NULL AND state <> 'waiting'`);
      }
      await c.query(`INSERT INTO ${s}.ledger_info (name, value) VALUES ('schema_version', $1) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, [
        String(PG_SCHEMA_VERSION),
      ]);
    });
  }

  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    this.checkOpen();
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  private q(text: string, values?: unknown[]) {
    this.checkOpen();
    return this.pool.query(text, values);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('The PostgreSQL ledger is closed');
  }

  async createShipment(init: Parameters<Ledger['createShipment']>[0], enqueue?: QueueEntry): Promise<{ created: boolean; shipment: ShipmentRecord }> {
    const s = this.s;
    const created = await this.tx(async (c) => {
      const r = await c.query(
        `INSERT INTO ${s}.shipments (transaction_id, distribution_transaction_id, submission_id, webform_id, objekt_type, state,
           created_at, updated_at, last_error, meta)
         VALUES ($1,$2,$3,$4,$5,$6, clock_timestamp(), clock_timestamp(), $7,$8)
         ON CONFLICT (transaction_id) DO NOTHING`,
        [...Rows.shipmentIdentityValues(init), init.lastError ?? null, init.meta === undefined ? null : JSON.stringify(init.meta)],
      );
      if (r.rowCount !== 1) return false;
      if (init.request !== undefined || init.response !== undefined) {
        await c.query(`INSERT INTO ${s}.bodies (transaction_id, request, response) VALUES ($1,$2,$3)`, [
          init.transactionId,
          init.request ?? null,
          init.response ?? null,
        ]);
      }
      for (const a of init.attempts ?? []) await this.insertAttempt(c, init.transactionId, a);
      if (enqueue) await c.query(this.enqueueSql, [init.transactionId, enqueue.notBefore ?? null, enqueue.queue]);
      return true;
    });
    const shipment = await this.getShipment(init.transactionId);
    if (!shipment) throw new Error(`Shipment ${init.transactionId} vanished`);
    return { created, shipment };
  }

  async updateShipment(transactionId: string, patch: ShipmentChange, guard?: StateGuard): Promise<ShipmentRecord> {
    return this.tx((c) => this.patchIn(c, transactionId, patch, guard));
  }

  /**
   * Applies a patch inside the transaction of `c`; the state guard is decided by the row as it is then. Returns the
   * shipment as the patch left it (without bodies), read in the same statement: no second round trip.
   */
  private async patchIn(c: PoolClient, transactionId: string, patch: ShipmentChange, guard?: StateGuard): Promise<ShipmentRecord> {
    const s = this.s;
    if (guard?.onlyIfMoved && guard.keepStateIf?.length) {
      const [current] = await this.selectShipments('WHERE transaction_id = $1 FOR UPDATE OF sh', [transactionId], false, c);
      if (current && guard.keepStateIf.includes(current.state)) return current;
    }
    const sets: string[] = ['updated_at = clock_timestamp()'];
    const values: unknown[] = [transactionId];
    for (const [key, column] of Object.entries(Rows.SHIPMENT_COLUMNS)) {
      if (!(key in patch)) continue;
      const v = (patch as Record<string, unknown>)[key];
      values.push(v === undefined ? null : key === 'meta' ? JSON.stringify(v) : v);
      if (key === 'state' && guard?.keepStateIf?.length) {
        values.push([...guard.keepStateIf]);
        sets.push(`${column} = CASE WHEN ${column} = ANY($${values.length}::text[]) THEN ${column} ELSE $${values.length - 1}::text END`);
      } else sets.push(`${column} = $${values.length}`);
    }
    const r = await c.query(
      `UPDATE ${s}.shipments sh SET ${sets.join(', ')} WHERE transaction_id = $1 RETURNING sh.*${patch.attempts ? '' : `, ${this.attemptList()}`}`,
      values,
    );
    if (r.rowCount !== 1) throw new Error(`No shipment with AnvenderTransaktionsID ${transactionId}`);
    if ('request' in patch || 'response' in patch) {
      const has = (k: 'request' | 'response') => k in patch;
      await c.query(
        `INSERT INTO ${s}.bodies (transaction_id, request, response) VALUES ($1, $2, $3)
         ON CONFLICT (transaction_id) DO UPDATE SET request = CASE WHEN $4 THEN EXCLUDED.request ELSE ${s}.bodies.request END,
           response = CASE WHEN $5 THEN EXCLUDED.response ELSE ${s}.bodies.response END`,
        [transactionId, patch.request ?? null, patch.response ?? null, has('request'), has('response')],
      );
    }
    if (patch.attempts) {
      await c.query(`DELETE FROM ${s}.attempts WHERE transaction_id = $1`, [transactionId]);
      for (const a of patch.attempts) await this.insertAttempt(c, transactionId, a);
      return this.toShipment(
        r.rows[0],
        patch.attempts.map((a) => Rows.strip({ at: iso(a.at), ok: a.ok, errorClass: a.errorClass, error: a.error, durationMs: a.durationMs })),
      );
    }
    return this.toShipment(r.rows[0], this.attemptsOf(r.rows[0]));
  }

  async addAttempt(transactionId: string, a: AttemptRecord, move?: ShipmentMove, release?: QueueRelease): Promise<ShipmentRecord> {
    const s = this.s;
    // One statement: touch the shipment and add the attempt only if it exists.
    const r = await this.q(
      `WITH sh AS (UPDATE ${s}.shipments SET updated_at = clock_timestamp() WHERE transaction_id = $1 RETURNING transaction_id)
       INSERT INTO ${s}.attempts (transaction_id, at, ok, error_class, error, duration_ms) SELECT sh.transaction_id, $2, $3, $4, $5, $6 FROM sh`,
      [transactionId, a.at, a.ok, a.errorClass ?? null, a.error ?? null, a.durationMs ?? null],
    );
    if (r.rowCount !== 1) throw new Error(`No shipment with AnvenderTransaktionsID ${transactionId}`);
    // the move as its own write right after (as the outbox wrote them before), each a statement of its own; the
    // queue item's release last, as the worker wrote it before
    const shipment = move ? await this.updateShipment(transactionId, move.patch, move.guard) : (await this.getShipment(transactionId, { bodies: false }))!;
    if (release) await this.release(transactionId, release.owner);
    return shipment;
  }

  private async insertAttempt(c: PoolClient, transactionId: string, a: AttemptRecord): Promise<void> {
    await c.query(`INSERT INTO ${this.s}.attempts (transaction_id, at, ok, error_class, error, duration_ms) VALUES ($1,$2,$3,$4,$5,$6)`, [
      transactionId,
      a.at,
      a.ok,
      a.errorClass ?? null,
      a.error ?? null,
      a.durationMs ?? null,
    ]);
  }

  async getShipment(transactionId: string, options: { bodies?: boolean } = {}): Promise<ShipmentRecord | undefined> {
    return (await this.selectShipments('WHERE transaction_id = $1', [transactionId], options.bodies !== false))[0];
  }

  async shipmentStates(transactionIds: readonly string[]): Promise<Map<string, ShipmentState>> {
    const states = new Map<string, ShipmentState>();
    if (!transactionIds.length) return states;
    const { rows } = await this.q(`SELECT transaction_id, state FROM ${this.s}.shipments WHERE transaction_id = ANY($1::text[])`, [[...transactionIds]]);
    for (const r of rows as Array<{ transaction_id: string; state: ShipmentState }>) states.set(r.transaction_id, r.state);
    return states;
  }

  async findByDistributionId(distributionTransactionId: string): Promise<ShipmentRecord | undefined> {
    return (await this.selectShipments('WHERE distribution_transaction_id = $1 ORDER BY created_at DESC LIMIT 1', [distributionTransactionId], true))[0];
  }

  async addFileKeys(transactionId: string, keys: readonly string[]): Promise<string[]> {
    const unique = [...new Set(keys)].filter(Boolean);
    if (!unique.length) return [];
    await this.q(`INSERT INTO ${this.s}.file_keys (key, transaction_id) SELECT k, $2 FROM unnest($1::text[]) AS k ON CONFLICT (key) DO NOTHING`, [
      unique,
      transactionId,
    ]);
    const { rows } = await this.q(`SELECT key FROM ${this.s}.file_keys WHERE key = ANY($1::text[]) AND transaction_id <> $2`, [unique, transactionId]);
    return rows.map((r: { key: string }) => r.key);
  }

  async findByFileKey(key: string): Promise<ShipmentRecord | undefined> {
    return (await this.selectShipments(`WHERE transaction_id = (SELECT transaction_id FROM ${this.s}.file_keys WHERE key = $1)`, [key], false))[0];
  }

  async listShipments(filter: ShipmentFilter = {}): Promise<ShipmentRecord[]> {
    const { where, values } = pgWhere(filter);
    let sql = `${where} ORDER BY created_at DESC, transaction_id`;
    if (filter.limit !== undefined) {
      values.push(filter.limit);
      sql += ` LIMIT $${values.length}`;
    }
    if (filter.offset) {
      values.push(filter.offset);
      sql += ` OFFSET $${values.length}`;
    }
    return this.selectShipments(sql, values, !!filter.includeBodies);
  }

  async countShipments(filter: Omit<ShipmentFilter, 'limit' | 'offset' | 'includeBodies'> = {}): Promise<number> {
    const { where, values } = pgWhere(filter);
    const { rows } = await this.q(`SELECT count(*)::int AS n FROM ${this.s}.shipments ${where}`, values);
    return rows[0].n as number;
  }

  /**
   * Shipments with their attempts in one round trip (the attempts aggregated per row) and, with `bodies`, their
   * request and response. `tail` is the WHERE/ORDER/LIMIT part; `c` a transaction's client.
   */
  /** A shipment's attempts as one JSON column (`attempt_list`) of a query on `shipments sh`. */
  private attemptList(): string {
    return `COALESCE((SELECT json_agg(json_build_object('at', a.at, 'ok', a.ok, 'error_class', a.error_class, 'error', a.error,
      'duration_ms', a.duration_ms) ORDER BY a.id) FROM ${this.s}.attempts a WHERE a.transaction_id = sh.transaction_id), '[]'::json) AS attempt_list`;
  }

  private attemptsOf(r: Record<string, any>): AttemptRecord[] {
    return (r.attempt_list as Array<Record<string, any>>).map((a) =>
      Rows.strip({ at: iso(a.at), ok: a.ok, errorClass: a.error_class ?? undefined, error: a.error ?? undefined, durationMs: a.duration_ms ?? undefined }),
    );
  }

  private async selectShipments(tail: string, values: unknown[], bodies = false, c?: PoolClient): Promise<ShipmentRecord[]> {
    const s = this.s;
    const attempts = this.attemptList();
    const sql = bodies
      ? `SELECT sh.*, ${attempts}, b.request, b.response FROM ${s}.shipments sh LEFT JOIN ${s}.bodies b USING (transaction_id) ${tail}`
      : `SELECT sh.*, ${attempts} FROM ${s}.shipments sh ${tail}`;
    const { rows } = await (c ?? this.pool).query(sql, values);
    return rows.map((r) => this.toShipment(r, this.attemptsOf(r)));
  }

  private toShipment(r: Record<string, any>, attempts: AttemptRecord[]): ShipmentRecord {
    return Rows.shipmentFromRow(r, attempts, { request: r.request, response: r.response }, PG_ROWS);
  }

  async addReceipt(receipt: ReceiptRecord, effect?: ReceiptEffect): Promise<{ duplicate: boolean; receipt: ReceiptRecord; shipment?: ShipmentRecord }> {
    const s = this.s;
    const id = receipt.id ?? randomUUID();
    const { duplicate, shipment: after } = await this.tx(async (c): Promise<{ duplicate: boolean; shipment?: ShipmentRecord }> => {
      // the receipt and its raw text in one statement: the raw row only when the receipt is new
      const r = await c.query(
        `WITH r AS (INSERT INTO ${s}.receipts (${Rows.RECEIPT_INSERT_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
           ON CONFLICT (transaction_id, fingerprint) DO NOTHING RETURNING id),
         x AS (INSERT INTO ${s}.receipt_raw (receipt_id, raw) SELECT id, $10::text FROM r WHERE $10::text IS NOT NULL)
         SELECT count(*)::int AS n FROM r`,
        [...Rows.receiptRowValues(id, receipt), receipt.raw ?? null],
      );
      if (r.rows[0].n !== 1) return { duplicate: true };
      // The shipment as it is now, locked until the receipt and its effect commit together.
      const current = (await this.selectShipments(`WHERE transaction_id = $1${effect ? ' FOR UPDATE OF sh' : ''}`, [receipt.transactionId], false, c))[0];
      const change = current && effect?.(current);
      if (!change || !Object.keys(change.patch).length) return { duplicate: false, shipment: current };
      return { duplicate: false, shipment: await this.patchIn(c, receipt.transactionId, change.patch, change.guard) };
    });
    // a new receipt is what was stored; a duplicate is answered with the one stored first
    let stored: ReceiptRecord = Rows.strip({ ...receipt, id, errors: receipt.errors ?? [], receivedAt: iso(receipt.receivedAt) });
    if (duplicate) {
      const { rows } = await this.q(
        `SELECT r.*, x.raw FROM ${s}.receipts r LEFT JOIN ${s}.receipt_raw x ON x.receipt_id = r.id WHERE r.transaction_id = $1 AND r.fingerprint = $2`,
        [receipt.transactionId, receipt.fingerprint],
      );
      stored = toReceiptRow(rows[0]);
    }
    // a new receipt's shipment was read (and changed) in its transaction; a duplicate's is read now
    const shipment = duplicate ? (await this.selectShipments('WHERE transaction_id = $1', [receipt.transactionId]))[0] : after;
    return { duplicate, receipt: stored, ...(shipment ? { shipment } : {}) };
  }

  async listReceipts(transactionId: string, options: { raw?: boolean } = {}): Promise<ReceiptRecord[]> {
    const s = this.s;
    const { rows } = await this.q(
      options.raw
        ? `SELECT r.*, x.raw FROM ${s}.receipts r LEFT JOIN ${s}.receipt_raw x ON x.receipt_id = r.id WHERE r.transaction_id = $1 ORDER BY r.seq`
        : `SELECT * FROM ${s}.receipts WHERE transaction_id = $1 ORDER BY seq`,
      [transactionId],
    );
    return rows.map(toReceiptRow);
  }

  async putInbox(entry: InboxInput): Promise<{ created: boolean }> {
    const r = await this.q(this.inboxInsert(1), inboxValues(entry));
    return { created: r.rowCount === 1 };
  }

  /** Inserts the inbox entry in parameters $n… (inboxValues), once per row of `from` (none: once); an existing id is kept. */
  private inboxInsert(n: number, from = ''): string {
    return `INSERT INTO ${this.s}.inbox (id, webform_id, payload, received_at)
       SELECT $${n}::text, $${n + 1}::text, $${n + 2}::jsonb, COALESCE($${n + 3}::timestamptz, clock_timestamp()) ${from}
       ON CONFLICT (id) DO NOTHING`;
  }

  async ackInbox(id: string): Promise<void> {
    await this.q(`DELETE FROM ${this.s}.inbox WHERE id = $1`, [id]);
  }

  async pendingInbox(): Promise<InboxEntry[]> {
    const { rows } = await this.q(`SELECT * FROM ${this.s}.inbox ORDER BY received_at, id`);
    return rows.map((r) => Rows.strip({ id: r.id, webformId: r.webform_id ?? undefined, payload: r.payload, receivedAt: iso(r.received_at) }));
  }

  async enqueue(transactionId: string, notBefore?: Date, queue = 'default'): Promise<void> {
    await this.q(this.enqueueSql, [transactionId, notBefore ?? null, queue]);
  }

  /** Schedules $1 at $2 (null: now) in queue $3, clearing an expired lease (Ledger.enqueue). */
  private get enqueueSql(): string {
    return `INSERT INTO ${this.s}.work_queue (transaction_id, not_before, queue) VALUES ($1, COALESCE($2::timestamptz, clock_timestamp()), $3)
       ON CONFLICT (transaction_id) DO UPDATE SET not_before = EXCLUDED.not_before, queue = EXCLUDED.queue, owner = NULL, lease_until = NULL
         WHERE ${this.s}.work_queue.lease_until IS NULL OR ${this.s}.work_queue.lease_until < clock_timestamp()`;
  }

  async claimDue(owner: string, limit: number, leaseMs: number, now?: Date, queue = 'default'): Promise<WorkItem[]> {
    const s = this.s;
    const { rows } = await this.q(
      `WITH clock AS (SELECT COALESCE($4::timestamptz, clock_timestamp()) AS now),
       due AS (
         SELECT w.transaction_id FROM ${s}.work_queue w, clock
          WHERE w.queue = $5 AND w.not_before <= clock.now AND (w.lease_until IS NULL OR w.lease_until < clock.now)
          ORDER BY w.not_before
          LIMIT $2
          FOR UPDATE OF w SKIP LOCKED)
       UPDATE ${s}.work_queue q SET owner = $1, lease_until = clock.now + ($3::double precision * interval '1 millisecond')
         FROM due, clock WHERE q.transaction_id = due.transaction_id
       RETURNING q.*`,
      [owner, limit, leaseMs, now ?? null, queue],
    );
    return rows.map(toWorkRow).sort((a, b) => (a.notBefore < b.notBefore ? -1 : a.notBefore > b.notBefore ? 1 : 0));
  }

  async extendLease(transactionId: string, owner: string, leaseMs: number, now?: Date): Promise<boolean> {
    const r = await this.q(
      `UPDATE ${this.s}.work_queue SET lease_until = COALESCE($4::timestamptz, clock_timestamp()) + ($3::double precision * interval '1 millisecond')
        WHERE transaction_id = $1 AND owner = $2`,
      [transactionId, owner, leaseMs, now ?? null],
    );
    return r.rowCount === 1;
  }

  async release(transactionId: string, owner: string, retryAt?: Date): Promise<boolean> {
    const r = retryAt
      ? await this.q(`UPDATE ${this.s}.work_queue SET not_before = $3, owner = NULL, lease_until = NULL WHERE transaction_id = $1 AND owner = $2`, [
          transactionId,
          owner,
          retryAt,
        ])
      : await this.q(`DELETE FROM ${this.s}.work_queue WHERE transaction_id = $1 AND owner = $2`, [transactionId, owner]);
    return r.rowCount === 1;
  }

  async listQueue(): Promise<WorkItem[]> {
    const { rows } = await this.q(`SELECT * FROM ${this.s}.work_queue ORDER BY not_before, transaction_id`);
    return rows.map(toWorkRow);
  }

  async addCursor(scope: string, key: string): Promise<{ created: boolean }> {
    const r = await this.q(`INSERT INTO ${this.s}.cursor (scope, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [scope, key]);
    return { created: r.rowCount === 1 };
  }

  async listCursor(scope: string): Promise<string[]> {
    const { rows } = await this.q(`SELECT key FROM ${this.s}.cursor WHERE scope = $1 ORDER BY seen_at, key`, [scope]);
    return rows.map((r) => r.key as string);
  }

  async getRecord(key: string): Promise<StoredRecord | undefined> {
    const { rows } = await this.q(`SELECT value, version, updated_at FROM ${this.s}.records WHERE key = $1`, [key]);
    const r = rows[0];
    return r ? { value: r.value, version: Number(r.version), updatedAt: iso(r.updated_at) } : undefined;
  }

  async putRecord(key: string, value: unknown, expectVersion: number, inbox?: InboxInput): Promise<boolean> {
    const s = this.s;
    const text = JSON.stringify(value);
    const write =
      expectVersion === 0
        ? `INSERT INTO ${s}.records (key, value, version) VALUES ($1, $2::jsonb, 1) ON CONFLICT DO NOTHING`
        : `UPDATE ${s}.records SET value = $2::jsonb, version = version + 1, updated_at = clock_timestamp() WHERE key = $1 AND version = $3`;
    const values: unknown[] = expectVersion === 0 ? [key, text] : [key, text, expectVersion];
    if (!inbox) return (await this.q(write, values)).rowCount === 1;
    // one statement, so one transaction: the inbox entry only beside the record's write
    const { rows } = await this.q(
      `WITH rec AS (${write} RETURNING 1), box AS (${this.inboxInsert(values.length + 1, 'FROM rec')})
       SELECT count(*)::int AS written FROM rec`,
      [...values, ...inboxValues(inbox)],
    );
    return rows[0].written === 1;
  }

  async takeLease(name: string, owner: string, ms: number, now?: Date): Promise<boolean> {
    const r = await this.q(
      `WITH clock AS (SELECT COALESCE($4::timestamptz, clock_timestamp()) AS now)
       INSERT INTO ${this.s}.leases (name, owner, lease_until)
         SELECT $1, $2, clock.now + ($3::double precision * interval '1 millisecond') FROM clock
       ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
         WHERE ${this.s}.leases.owner = EXCLUDED.owner OR ${this.s}.leases.lease_until < COALESCE($4::timestamptz, clock_timestamp())`,
      [name, owner, ms, now ?? null],
    );
    return r.rowCount === 1;
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await this.q(`DELETE FROM ${this.s}.leases WHERE name = $1 AND owner = $2`, [name, owner]);
  }

  async addApproval(a: Omit<ApprovalRecord, 'reminded' | 'state'>): Promise<void> {
    await this.q(
      `INSERT INTO ${this.s}.approvals (id, queue, state, title, created_at, deadline_at, remind_at, view, msg)
       VALUES ($1, $2, 'waiting', $3, $4, $5, $6, $7::jsonb, $8::jsonb) ON CONFLICT (id) DO NOTHING`,
      [a.id, a.queue, a.title, a.createdAt, a.deadlineAt, a.remindAt ?? null, JSON.stringify(a.view ?? null), JSON.stringify(a.msg ?? null)],
    );
  }

  async getApproval(id: string, options: { msg?: boolean } = {}): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.q(`SELECT ${APPROVAL_COLUMNS}${options.msg ? ', msg' : ''} FROM ${this.s}.approvals WHERE id = $1`, [id]);
    return rows[0] ? approvalFromRow(rows[0], PG_ROWS) : undefined;
  }

  async listApprovals(filter: ApprovalFilter = {}): Promise<ApprovalRecord[]> {
    const { where, params } = approvalWhere(filter, (n) => `$${n}`);
    const { rows } = await this.q(
      `SELECT ${APPROVAL_COLUMNS} FROM ${this.s}.approvals ${where} ORDER BY created_at, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, filter.limit ?? null, filter.offset ?? 0],
    );
    return rows.map((r) => approvalFromRow(r, PG_ROWS));
  }

  async countApprovals(filter: Omit<ApprovalFilter, 'limit' | 'offset'> = {}): Promise<number> {
    const { where, params } = approvalWhere(filter, (n) => `$${n}`);
    const { rows } = await this.q(`SELECT count(*)::int AS n FROM ${this.s}.approvals ${where}`, params);
    return Number(rows[0].n);
  }

  async decideApproval(id: string, d: ApprovalDecision): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.q(
      `UPDATE ${this.s}.approvals SET state = $2, decided_by = $3, decided_at = $4, reason = $5, edits = $6::jsonb, msg = COALESCE($7::jsonb, msg)
       WHERE id = $1 AND state = 'waiting' RETURNING ${APPROVAL_COLUMNS}`,
      [id, d.state, d.by, d.at, d.reason ?? null, d.edits ? JSON.stringify(d.edits) : null, d.msg === undefined ? null : JSON.stringify(d.msg)],
    );
    return rows[0] ? approvalFromRow(rows[0], PG_ROWS) : undefined;
  }

  async dueApprovals(queue: string, now: Date): Promise<ApprovalRecord[]> {
    const { rows } = await this.q(
      `SELECT ${APPROVAL_COLUMNS} FROM ${this.s}.approvals WHERE queue = $1 AND state = 'waiting'
       AND (deadline_at <= $2 OR (remind_at <= $2 AND NOT reminded)) ORDER BY deadline_at`,
      [queue, now],
    );
    return rows.map((r) => approvalFromRow(r, PG_ROWS));
  }

  async markApprovalReminded(id: string): Promise<boolean> {
    const r = await this.q(`UPDATE ${this.s}.approvals SET reminded = true WHERE id = $1 AND NOT reminded AND state = 'waiting'`, [id]);
    return r.rowCount === 1;
  }

  async claimDecidedApprovals(queue: string, owner: string, limit: number, leaseMs: number, now?: Date): Promise<ApprovalRecord[]> {
    const cols = APPROVAL_COLUMNS.split(', ')
      .map((c) => `q.${c}`)
      .join(', ');
    const { rows } = await this.q(
      `WITH clock AS (SELECT COALESCE($5::timestamptz, clock_timestamp()) AS now),
       due AS (
         SELECT a.id FROM ${this.s}.approvals a, clock
          WHERE a.queue = $1 AND a.emitted_at IS NULL AND a.state <> 'waiting' AND (a.emit_until IS NULL OR a.emit_until < clock.now)
          ORDER BY a.decided_at LIMIT $3 FOR UPDATE OF a SKIP LOCKED)
       UPDATE ${this.s}.approvals q SET emit_owner = $2, emit_until = clock.now + ($4::double precision * interval '1 millisecond')
         FROM due, clock WHERE q.id = due.id
       RETURNING ${cols}, q.msg`,
      [queue, owner, limit, leaseMs, now ?? null],
    );
    return rows.map((r) => approvalFromRow(r, PG_ROWS));
  }

  async markApprovalEmitted(id: string, owner: string): Promise<boolean> {
    const r = await this.q(
      `UPDATE ${this.s}.approvals SET emitted_at = clock_timestamp(), emit_until = NULL WHERE id = $1 AND emit_owner = $2 AND emitted_at IS NULL`,
      [id, owner],
    );
    return r.rowCount === 1;
  }

  /** In batches (each its own short transaction), so retention never holds locks on many rows at once. */
  async purgeOlderThan(cutoff: Date): Promise<PurgeResult> {
    this.checkOpen();
    // One connection of the pool for the whole purge: through the shared pool every batch queued behind the writers'
    // statements (64 in flight: 10,000 shipments took 39 s at 100 k), and the batch's measured cost was that queue's.
    const c = await this.pool.connect();
    try {
      return await this.purgeOn(c, cutoff);
    } finally {
      c.release();
    }
  }

  private async purgeOn(c: PoolClient, cutoff: Date): Promise<PurgeResult> {
    const s = this.s;
    // Each batch its own short statement, sized by what the last one cost (batches.ts): measured at 1 M shipments,
    // fixed batches of 1,000 held a concurrent writer up to 490 ms.
    const purge = (sql: string, extra: unknown[] = []) =>
      deleteInBatches(
        async (limit) => {
          this.checkOpen();
          const started = performance.now();
          const r = await c.query(sql, [cutoff, ...extra, limit]);
          return { changes: r.rowCount ?? 0, ms: performance.now() - started };
        },
        this.purgeBatch,
        50,
      );
    const shipments = await purge(
      `DELETE FROM ${s}.shipments WHERE transaction_id IN (
         SELECT sh.transaction_id FROM ${s}.shipments sh WHERE sh.updated_at < $1 AND NOT (sh.state = ANY($2))
           AND NOT EXISTS (SELECT 1 FROM ${s}.work_queue w WHERE w.transaction_id = sh.transaction_id)
         LIMIT $3 FOR UPDATE SKIP LOCKED)`,
      [ACTIVE_STATES],
    );
    const receipts = await purge(
      `DELETE FROM ${s}.receipts WHERE id IN (
         SELECT r.id FROM ${s}.receipts r WHERE r.received_at < $1
           AND NOT EXISTS (SELECT 1 FROM ${s}.shipments sh WHERE sh.transaction_id = r.transaction_id)
         LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    );
    await purge(`DELETE FROM ${s}.approvals WHERE id IN (SELECT id FROM ${s}.approvals WHERE emitted_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`);
    await purge(`DELETE FROM ${s}.records WHERE key IN (SELECT key FROM ${s}.records WHERE updated_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`);
    return { shipments, receipts };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

function iso(v: unknown): string {
  return v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString();
}

/** PostgreSQL rows: timestamptz come as Date, jsonb already parsed. */
const PG_ROWS: Rows.RowCodec = { time: iso, json: <T>(v: unknown) => v as T };
const toReceiptRow = (r: Record<string, unknown>) => Rows.receiptFromRow(r, PG_ROWS);
const toWorkRow = (r: Record<string, unknown>) => Rows.workFromRow(r, PG_ROWS);
const pgWhere = (filter: Omit<ShipmentFilter, 'limit' | 'offset' | 'includeBodies'>) => Rows.shipmentWhere(filter, (n) => `$${n}`);

/** An inbox entry's parameters, in the order of PgLedger's inboxInsert. */
function inboxValues(e: InboxInput): unknown[] {
  return [e.id, e.webformId ?? null, JSON.stringify(e.payload ?? null), e.receivedAt ?? null];
}
