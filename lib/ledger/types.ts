/**
 * The shipment ledger: the record of every shipment and every receipt.
 * `fordeling out` writes shipments (before sending, and the result after), `receipt in` correlates receipts
 * with them. Backends: in-memory (tests), embedded durable file store, PostgreSQL (several Node-RED instances).
 * No Node-RED dependency here.
 */

export type ShipmentState =
  | 'received'
  | 'queued'
  | 'sending'
  | 'sent'
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

export interface ShipmentFilter {
  state?: ShipmentState;
  webformId?: string;
  since?: string;
  until?: string;
  limit?: number;
}

export interface Ledger {
  /**
   * Create the shipment if no shipment with this transactionId exists; otherwise return the existing one.
   * This is what makes delivery idempotent per submission.
   */
  createShipment(init: Omit<ShipmentRecord, 'createdAt' | 'updatedAt' | 'attempts'> & { attempts?: AttemptRecord[] }): Promise<{ created: boolean; shipment: ShipmentRecord }>;
  updateShipment(transactionId: string, patch: Partial<Omit<ShipmentRecord, 'transactionId' | 'createdAt'>>): Promise<ShipmentRecord>;
  addAttempt(transactionId: string, attempt: AttemptRecord): Promise<ShipmentRecord>;
  getShipment(transactionId: string): Promise<ShipmentRecord | undefined>;
  findByDistributionId(distributionTransactionId: string): Promise<ShipmentRecord | undefined>;
  listShipments(filter?: ShipmentFilter): Promise<ShipmentRecord[]>;
  /** Stores the receipt unless an identical one (same transactionId + fingerprint) exists. */
  addReceipt(receipt: ReceiptRecord): Promise<{ duplicate: boolean; receipt: ReceiptRecord }>;
  listReceipts(transactionId: string): Promise<ReceiptRecord[]>;
  close(): Promise<void>;
}
