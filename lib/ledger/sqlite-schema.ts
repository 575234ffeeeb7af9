/**
 * The embedded ledger's schema, as numbered migrations run at open (SQLite's `user_version` holds the number applied).
 * Tables and columns have the same names as in the PostgreSQL ledger (`pg-ledger.ts`); what differs is what the
 * engines differ in: timestamps are ISO 8601 UTC text (they sort as text), JSON is text, booleans are 0/1, and a
 * shipment's request and response are two rows of `bodies` (see there).
 * A migration is appended, never edited: a database at version n runs migrations n+1… in one transaction.
 */
import type Database from 'better-sqlite3';

export const SQLITE_MIGRATIONS: readonly string[] = [
  // 1: the ledger
  `CREATE TABLE shipments (
     transaction_id TEXT PRIMARY KEY,
     distribution_transaction_id TEXT,
     submission_id TEXT NOT NULL,
     webform_id TEXT,
     objekt_type TEXT,
     state TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     last_error TEXT,
     meta TEXT);
   CREATE INDEX shipments_distribution_idx ON shipments (distribution_transaction_id) WHERE distribution_transaction_id IS NOT NULL;
   CREATE INDEX shipments_created_idx ON shipments (created_at);
   CREATE INDEX shipments_state_idx ON shipments (state, created_at);
   CREATE INDEX shipments_webform_idx ON shipments (webform_id, created_at);
   CREATE INDEX shipments_updated_idx ON shipments (updated_at);
   -- Requests and responses: read only for a shipment's detail and a send, never by a list. One row per body (kind
   -- 'request' or 'response'): SQLite rewrites a whole row on update, so a response must not share a row with a
   -- 1 MB request. (PostgreSQL keeps both in one row: its TOAST leaves an unchanged large value where it is.)
   CREATE TABLE bodies (
     id INTEGER PRIMARY KEY,
     transaction_id TEXT NOT NULL REFERENCES shipments (transaction_id) ON DELETE CASCADE,
     kind TEXT NOT NULL CHECK (kind IN ('request', 'response')),
     body TEXT NOT NULL,
     UNIQUE (transaction_id, kind));
   CREATE TABLE attempts (
     id INTEGER PRIMARY KEY,
     transaction_id TEXT NOT NULL REFERENCES shipments (transaction_id) ON DELETE CASCADE,
     at TEXT NOT NULL,
     ok INTEGER NOT NULL,
     error_class TEXT,
     error TEXT,
     duration_ms INTEGER);
   CREATE INDEX attempts_tx_idx ON attempts (transaction_id);
   CREATE TABLE receipts (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     transaction_id TEXT NOT NULL,
     distribution_transaction_id TEXT,
     type TEXT NOT NULL,
     code TEXT NOT NULL,
     reason TEXT,
     errors TEXT NOT NULL,
     received_at TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     UNIQUE (transaction_id, fingerprint));
   CREATE INDEX receipts_received_idx ON receipts (received_at);
   CREATE TABLE receipt_raw (
     receipt_id TEXT PRIMARY KEY REFERENCES receipts (id) ON DELETE CASCADE,
     raw TEXT NOT NULL);
   CREATE TABLE inbox (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     webform_id TEXT,
     payload TEXT NOT NULL,
     received_at TEXT NOT NULL);
   CREATE TABLE work_queue (
     transaction_id TEXT PRIMARY KEY,
     queue TEXT NOT NULL DEFAULT 'default',
     not_before TEXT NOT NULL,
     owner TEXT,
     lease_until TEXT);
   CREATE INDEX work_queue_due_idx ON work_queue (queue, not_before);
   CREATE TABLE cursor (
     seq INTEGER PRIMARY KEY,
     scope TEXT NOT NULL,
     key TEXT NOT NULL,
     seen_at TEXT NOT NULL,
     UNIQUE (scope, key));
   -- Facts about this database (e.g. that a file ledger was imported into it).
   CREATE TABLE ledger_info (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // 2: the names receipts use for a shipment's files (SFTP names, FileTransferUUIDs), so receipt in finds the shipment
  // with one indexed lookup instead of reading months of shipments
  `CREATE TABLE file_keys (
     key TEXT PRIMARY KEY,
     transaction_id TEXT NOT NULL REFERENCES shipments (transaction_id) ON DELETE CASCADE);
   CREATE INDEX file_keys_tx_idx ON file_keys (transaction_id);`,
  // 3: records written with compare-and-set (what webform in passed on per submission, its fetch cursor) and leases
  // (one poller per site and form among instances)
  `CREATE TABLE records (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     version INTEGER NOT NULL,
     updated_at TEXT NOT NULL);
   CREATE INDEX records_updated_idx ON records (updated_at);
   CREATE TABLE leases (
     name TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     lease_until TEXT NOT NULL);`,
  // 4: messages waiting in an approve node for a person's decision, and the decision (the audit)
  `CREATE TABLE approvals (
     id TEXT PRIMARY KEY,
     queue TEXT NOT NULL,
     state TEXT NOT NULL,
     title TEXT NOT NULL,
     created_at TEXT NOT NULL,
     deadline_at TEXT NOT NULL,
     remind_at TEXT,
     reminded INTEGER NOT NULL DEFAULT 0,
     view TEXT,
     msg TEXT,
     decided_by TEXT,
     decided_at TEXT,
     reason TEXT,
     edits TEXT,
     emit_owner TEXT,
     emit_until TEXT,
     emitted_at TEXT);
   CREATE INDEX approvals_queue_idx ON approvals (queue, state, created_at);
   CREATE INDEX approvals_due_idx ON approvals (state, deadline_at);
   CREATE INDEX approvals_emitted_idx ON approvals (emitted_at);
   CREATE INDEX approvals_unemitted_idx ON approvals (queue) WHERE emitted_at IS NULL AND state <> 'waiting';`,
];

/**
 * Fills `file_keys` from the SFTP records already in shipments' meta (`meta.sftp.files[].sftpName` and
 * `.fileTransferUuid`): run after migration 2 and after a file-ledger import. Keeps existing keys.
 */
export const SQLITE_FILE_KEYS_BACKFILL = ['sftpName', 'fileTransferUuid']
  .map(
    (field) => `INSERT OR IGNORE INTO file_keys (key, transaction_id)
     SELECT json_extract(f.value, '$.${field}'), s.transaction_id
     FROM shipments s, json_each(s.meta, '$.sftp.files') f
     WHERE s.meta IS NOT NULL AND json_valid(s.meta) AND json_type(s.meta, '$.sftp.files') = 'array'
       AND json_type(f.value, '$.${field}') = 'text';`,
  )
  .join('\n');

/** Brings the database to the newest schema. Refuses a database made by a newer version of this package. */
export function migrateSqlite(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SQLITE_MIGRATIONS.length) {
    throw new Error(`The ledger database has schema version ${current}, newer than this package knows (${SQLITE_MIGRATIONS.length}); upgrade the package`);
  }
  if (current === SQLITE_MIGRATIONS.length) return current;
  db.transaction(() => {
    for (let v = current; v < SQLITE_MIGRATIONS.length; v++) db.exec(SQLITE_MIGRATIONS[v]);
    if (current < 2) db.exec(SQLITE_FILE_KEYS_BACKFILL);
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
  }).immediate();
  return SQLITE_MIGRATIONS.length;
}
