/**
 * The shipment ledger: the record of every shipment and every receipt.
 * `fordeling out` writes shipments (before sending, and the result after), `receipt in` correlates receipts
 * with them. Backends: embedded SQLite (the default; `:memory:` for tests) and PostgreSQL (several Node-RED instances).
 * No Node-RED dependency here.
 */

export type ShipmentState =
  | 'received'
  | 'queued'
  | 'sending'
  | 'sent'
  /** Sent, then refused as a duplicate on a repeated send, and no receipt came in time: an operator should look. */
  | 'unconfirmed'
  | 'technically-received'
  | 'accepted'
  | 'rejected'
  | 'failed'
  | 'dead-letter';

export interface AttemptRecord {
  at: string; // ISO 8601
  ok: boolean;
  /** 'permanent' | 'transient' when it failed. */
  errorClass?: 'permanent' | 'transient';
  error?: string;
  durationMs?: number;
}

export interface ShipmentRecord {
  /** AnvenderTransaktionsID (ours, primary key). */
  transactionId: string;
  /** DistributionTransktionsID (the platform's), once known. */
  distributionTransactionId?: string;
  submissionId: string;
  webformId?: string;
  objektType?: string;
  state: ShipmentState;
  attempts: AttemptRecord[];
  createdAt: string;
  updatedAt: string;
  /** The serialised request body (no secrets; may contain personal data, never logged). */
  request?: string;
  /** The platform's response or the last error text. */
  response?: string;
  lastError?: string;
  /** Free-form extra data (e.g. SFTP file names). */
  meta?: Record<string, unknown>;
}

export interface ReceiptRecord {
  /** Assigned by the ledger. */
  id?: string;
  transactionId: string;
  distributionTransactionId?: string;
  /** Kvitteringstype: Teknisk | Forretning | Digital post | sftp ... */
  type: string;
  /** ForretningsValideringsKode: MODTAGET|AFLEVERET|ACCEPTERET|AFVIST|FEJLET (or SFTP codes). */
  code: string;
  reason?: string;
  errors: Array<{ code: string; text: string }>;
  receivedAt: string;
  /** A stable hash of the receipt's content; equal fingerprints for one shipment = an exact duplicate. */
  fingerprint: string;
  raw?: string;
}

/** States only a receipt sets: a send's result must never move a shipment back from one of them. */
export const RECEIPT_STATES: readonly ShipmentState[] = ['technically-received', 'accepted', 'rejected'];

/** A change to a shipment's fields (all but its identity): what updateShipment applies. */
export type ShipmentChange = Partial<Omit<ShipmentRecord, 'transactionId' | 'createdAt'>>;

/**
 * A change and its state guard, applied together with an attempt (Ledger.addAttempt). It cannot replace the
 * attempts: the attempt it comes with is added to them.
 */
export interface ShipmentMove {
  patch: Omit<ShipmentChange, 'attempts'>;
  guard?: StateGuard;
}

/** See Ledger.updateShipment. */
export interface StateGuard {
  keepStateIf?: readonly ShipmentState[];
  /** With keepStateIf: when the state is kept, nothing else of the patch is written either. */
  onlyIfMoved?: boolean;
}

export interface ShipmentFilter {
  state?: ShipmentState;
  webformId?: string;
  since?: string;
  until?: string;
  limit?: number;
  /** Skip this many (paging, with `limit`). */
  offset?: number;
  /**
   * Also load `request` and `response`. They are stored apart from the shipment's row and left out of lists unless
   * asked for; `getShipment` always includes them.
   */
  includeBodies?: boolean;
}

/**
 * What a receipt does to its shipment, decided from the shipment as it is inside the receipt's transaction
 * (see Ledger.addReceipt). Undefined: nothing.
 */
export type ReceiptEffect = (shipment: ShipmentRecord) => { patch: ShipmentChange; guard?: StateGuard } | undefined;

/** A submission `webform in` (push) accepted and must not lose: stored before answering 202, removed once its flow finished. */
export interface InboxEntry {
  /** Unique per submission (e.g. the AnvenderTransaktionsID or the submission uuid). */
  id: string;
  webformId?: string;
  /** The normalised submission (JSON-serialisable). May contain personal data; never logged. */
  payload: unknown;
  receivedAt: string;
}

/** Where and from when a shipment is due in the work queue (Ledger.enqueue's arguments). */
export interface QueueEntry {
  queue: string;
  notBefore?: Date;
}

/** A queue item given back by the worker holding its lease (Ledger.release without a time: it leaves the queue). */
export interface QueueRelease {
  owner: string;
}

/** An inbox entry as written (`receivedAt` defaults to now). */
export type InboxInput = Omit<InboxEntry, 'receivedAt'> & { receivedAt?: string };

/** A shipment waiting to be (re)sent: survives restarts; claimed with a lease so only one worker sends it. */
export interface WorkItem {
  transactionId: string;
  /** Which queue (e.g. one per fordeling-out node, so a worker only sends what it can send). Default 'default'. */
  queue: string;
  /** Not to be claimed before this instant (ISO 8601). */
  notBefore: string;
  /** Who holds the lease, while claimed. */
  owner?: string;
  /** Lease expiry (ISO 8601); after it the item may be claimed again (the owner is presumed dead). */
  leaseUntil?: string;
}

/** Where a message waiting for a person's decision (the approve node) is. */
export type ApprovalState = 'waiting' | 'approved' | 'rejected' | 'expired';

/** A message waiting in an approve node, and its decision once made (the audit). */
export interface ApprovalRecord {
  id: string;
  /** The approve node's queue (several nodes, or instances, may share one). */
  queue: string;
  state: ApprovalState;
  title: string;
  createdAt: string;
  deadlineAt: string;
  /** When the reminder output fires, if any. */
  remindAt?: string;
  reminded: boolean;
  /** What the approver's page shows (rendered at arrival: fields, attachment names), CPR numbers masked unless allowed. */
  view: unknown;
  /** The message to resume with (only with `{ msg: true }` / when claimed). */
  msg?: unknown;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  /** Fields the approver corrected: name → new value. */
  edits?: Record<string, string>;
  /** When its outcome left the node. */
  emittedAt?: string;
}

export interface ApprovalDecision {
  state: Exclude<ApprovalState, 'waiting'>;
  by: string;
  at: string;
  reason?: string;
  edits?: Record<string, string>;
  /** The message with the edits applied (replaces the stored one). */
  msg?: unknown;
}

export interface ApprovalFilter {
  queue?: string;
  state?: ApprovalState;
  limit?: number;
  offset?: number;
}

/** A record (getRecord): its value and the version of its last write (1 for the first). */
export interface StoredRecord {
  value: unknown;
  version: number;
  updatedAt: string;
}

/** What `purgeOlderThan` removed. */
export interface PurgeResult {
  shipments: number;
  receipts: number;
}

export type ExportFilter = Omit<ShipmentFilter, 'limit'>;

/** States in which a shipment is still being worked on; retention never purges these. */
export const ACTIVE_STATES: readonly ShipmentState[] = ['received', 'queued', 'sending'];

export interface Ledger {
  /**
   * Create the shipment if no shipment with this transactionId exists; otherwise return the existing one.
   * This is what makes delivery idempotent per submission. With `enqueue`, a shipment created is also put in that work
   * queue (as `enqueue` does) in the same transaction: recorded and queued, both or neither, in one commit.
   */
  createShipment(
    init: Omit<ShipmentRecord, 'createdAt' | 'updatedAt' | 'attempts'> & { attempts?: AttemptRecord[] },
    enqueue?: QueueEntry,
  ): Promise<{ created: boolean; shipment: ShipmentRecord }>;
  /**
   * Applies the patch. With `guard.keepStateIf`, the patch's `state` is left out — atomically, in the same step —
   * when the shipment's current state is one of those: a late "sent" must not overwrite "accepted" that a receipt,
   * possibly on another instance, wrote in between. Returns the shipment without its bodies (getShipment has them).
   */
  updateShipment(transactionId: string, patch: ShipmentChange, guard?: StateGuard): Promise<ShipmentRecord>;
  /**
   * Returns the shipment without its bodies. With `move`, that patch (guarded as updateShipment's) is applied together
   * with the attempt: on the embedded engine in the same transaction (one write: a send's attempt and its move to
   * `sent` are stored both or neither, in one commit); on PostgreSQL right after it, as two writes. With `release`, the
   * shipment's queue item then leaves the queue if `release.owner` holds it (as `release` without a time): on the
   * embedded engine in the same transaction, on PostgreSQL as a write of its own after the others.
   */
  addAttempt(transactionId: string, attempt: AttemptRecord, move?: ShipmentMove, release?: QueueRelease): Promise<ShipmentRecord>;
  /** With its request and response, unless `{ bodies: false }` (a lookup that needs only the row). */
  getShipment(transactionId: string, options?: { bodies?: boolean }): Promise<ShipmentRecord | undefined>;
  /**
   * The states of these shipments (unknown ones left out), in one read: how a process with many messages waiting
   * checks whether their shipments were finished elsewhere without reading each record.
   */
  shipmentStates(transactionIds: readonly string[]): Promise<Map<string, ShipmentState>>;
  findByDistributionId(distributionTransactionId: string): Promise<ShipmentRecord | undefined>;
  /**
   * Records names under which receipts refer to the shipment's files (SFTP file names, FileTransferUUIDs). A key
   * already recorded for another shipment stays with it, and is returned (so the caller can refuse to reuse the name).
   * Resolve = durable.
   */
  addFileKeys(transactionId: string, keys: readonly string[]): Promise<string[]>;
  /** The shipment (without bodies) one of whose files was recorded under `key`, or undefined. */
  findByFileKey(key: string): Promise<ShipmentRecord | undefined>;
  listShipments(filter?: ShipmentFilter): Promise<ShipmentRecord[]>;
  /**
   * Stores the receipt unless an identical one (same transactionId + fingerprint) exists. When it is new and its
   * shipment exists, `effect` is asked, with the shipment as it is then, for the change the receipt makes, and that
   * change is written in the same transaction as the receipt: a receipt is never stored without its effect.
   */
  addReceipt(receipt: ReceiptRecord, effect?: ReceiptEffect): Promise<{ duplicate: boolean; receipt: ReceiptRecord; shipment?: ShipmentRecord }>;
  /** Oldest first. `raw` only with `{ raw: true }` (it is stored apart from the receipt's row). */
  listReceipts(transactionId: string, options?: { raw?: boolean }): Promise<ReceiptRecord[]>;

  // ---- push inbox (webform in) ----
  /** Stores the submission unless an entry with this id exists (`created: false` then). Resolve = durable. */
  putInbox(entry: InboxInput): Promise<{ created: boolean }>;
  /** Removes the entry: its flow finished. Unknown ids are ignored. */
  ackInbox(id: string): Promise<void>;
  /** Entries not yet acknowledged, oldest first (to be put back into the flow on start). */
  pendingInbox(): Promise<InboxEntry[]>;

  // ---- durable work queue (retries that survive a restart; several instances claim without double-sending) ----
  /**
   * Schedules (or reschedules) the shipment and clears an expired lease. While another worker holds an unexpired
   * lease nothing changes (the holder releases it: done, or again at a time of its choosing) — so a second submit
   * can never make two workers send at once.
   */
  enqueue(transactionId: string, notBefore?: Date, queue?: string): Promise<void>;
  /** Claims up to `limit` due items of `queue` (default 'default') whose lease is free or expired, leasing them to `owner` for `leaseMs`. */
  claimDue(owner: string, limit: number, leaseMs: number, now?: Date, queue?: string): Promise<WorkItem[]>;
  /** Prolongs the lease; false when `owner` no longer holds it. */
  extendLease(transactionId: string, owner: string, leaseMs: number, now?: Date): Promise<boolean>;
  /**
   * Gives the item back: without `retryAt` it is done and leaves the queue; with `retryAt` it is due again then (same queue).
   * False (and no change) when `owner` no longer holds the item.
   */
  release(transactionId: string, owner: string, retryAt?: Date): Promise<boolean>;
  /** Everything in the queue, soonest first. */
  listQueue(): Promise<WorkItem[]>;

  // ---- fetch cursor (webform in, fetch mode): which submissions were already emitted, per scope (e.g. site + form) ----
  /** Records `key` as emitted in `scope`; `created: false` when it already was. Resolve = durable. */
  addCursor(scope: string, key: string): Promise<{ created: boolean }>;
  /** Every key recorded in `scope`. */
  listCursor(scope: string): Promise<string[]>;

  // ---- records: small JSON values under a key, written with compare-and-set (webform in: what was passed on per
  // submission, the fetch cursor) ----
  /** The record under `key`, with the version its last write gave it. */
  getRecord(key: string): Promise<StoredRecord | undefined>;
  /**
   * Writes `value` under `key` if the record is still at `expectVersion` (0: it must not exist yet), as version
   * `expectVersion + 1`. False, and nothing written, when another writer got there first. Resolve = durable.
   * With `inbox`, that entry is stored (as putInbox would: kept if one with its id exists) in the same write, and only
   * if the record is written: webform in's decision to pass a submission on and the submission kept for fordeling out
   * are stored both or neither, in one commit.
   */
  putRecord(key: string, value: unknown, expectVersion: number, inbox?: InboxInput): Promise<boolean>;

  // ---- approvals (the approve node): messages waiting for a person's decision; the decision is the audit ----
  addApproval(a: Omit<ApprovalRecord, 'reminded' | 'state'>): Promise<void>;
  getApproval(id: string, options?: { msg?: boolean }): Promise<ApprovalRecord | undefined>;
  /** Oldest first, without the message. */
  listApprovals(filter?: ApprovalFilter): Promise<ApprovalRecord[]>;
  countApprovals(filter?: Omit<ApprovalFilter, 'limit' | 'offset'>): Promise<number>;
  /** Writes the decision if the item is still waiting (the first decision wins); undefined otherwise. Resolve = durable. */
  decideApproval(id: string, d: ApprovalDecision): Promise<ApprovalRecord | undefined>;
  /** Waiting items of `queue` whose deadline, or (not yet reminded) reminder time, is at or before `now`. */
  dueApprovals(queue: string, now: Date): Promise<ApprovalRecord[]>;
  /** Marks the reminder sent; false when it already was (another instance sent it). */
  markApprovalReminded(id: string): Promise<boolean>;
  /**
   * Decided items of `queue` whose outcome has not left a node yet, leased to `owner` for `leaseMs` (an expired lease
   * can be claimed again), with their messages.
   */
  claimDecidedApprovals(queue: string, owner: string, limit: number, leaseMs: number, now?: Date): Promise<ApprovalRecord[]>;
  /** The outcome left the node; false when `owner` no longer holds the item. */
  markApprovalEmitted(id: string, owner: string): Promise<boolean>;

  // ---- leases: one holder at a time among instances sharing the ledger (webform in's poller per site and form) ----
  /**
   * Takes the lease `name` for `owner` until `now + ms`, or renews it when `owner` holds it already. False when another
   * owner holds it and its time has not run out (judged by the ledger's clock).
   */
  takeLease(name: string, owner: string, ms: number, now?: Date): Promise<boolean>;
  /** Gives the lease up (a closing node), so another instance takes it without waiting for it to run out. */
  releaseLease(name: string, owner: string): Promise<void>;

  // ---- retention and audit ----
  /**
   * Deletes shipments last updated before `cutoff` that are finished (not received/queued/sending, not in the queue),
   * receipts received before `cutoff` whose shipment no longer exists, and records last written before `cutoff`.
   */
  purgeOlderThan(cutoff: Date): Promise<PurgeResult>;
  /** How many shipments match (the overview's paging). */
  countShipments(filter?: Omit<ShipmentFilter, 'limit' | 'offset' | 'includeBodies'>): Promise<number>;
  close(): Promise<void>;
}
