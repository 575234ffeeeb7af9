import { createHash } from 'crypto';

/**
 * Fixed namespace of this package's name-based UUIDs. Changing it would change every AnvenderTransaktionsID,
 * so a resend after an upgrade would no longer be recognised: never change it.
 */
export const TRANSACTION_NAMESPACE = '5b0e7f52-6a1c-4b8e-9d2f-0c3a8e4f9a17';

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** RFC 4122 version-5 UUID (SHA-1 over namespace + name), lower case. */
export function nameBasedUuid(name: string, namespace = TRANSACTION_NAMESPACE): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const b = Buffer.from(hash.subarray(0, 16));
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function requireKey(submissionUuid: string): string {
  if (typeof submissionUuid !== 'string' || !submissionUuid.trim()) {
    throw new Error('A submission uuid is required to derive the AnvenderTransaktionsID');
  }
  return submissionUuid.trim().toLowerCase();
}

/**
 * The submission uuid, or for a later revision of a submission sent again (webform in, "pass updates on") the uuid
 * with the revision: `<uuid>-<n>`. Revision 0 (or none) is the uuid itself, so ids made before revisions stay the same.
 */
export function revisionKey(submissionUuid: string, revision?: number): string {
  return revision && revision > 0 ? `${submissionUuid}-${Math.floor(revision)}` : submissionUuid;
}

/**
 * The AnvenderTransaktionsID of one shipment of a submission: deterministic, so the same submission sent again to
 * the same target (same uuid, webform and `shipmentKey`) reuses it, and two targets of one submission (two shipment
 * keys) get two. Without a shipment key: one id per submission (what versions before the shipment key used).
 * Lower-case UUID.
 */
export function transactionIdFor(submissionUuid: string, webformId?: string, shipmentKey?: string, revision?: number): string {
  const key = revisionKey(requireKey(submissionUuid), revision);
  const base = webformId ? `transaction:${webformId}:${key}` : `transaction:${key}`;
  return nameBasedUuid(shipmentKey ? `${base}:target:${shipmentKey}` : base);
}

/** Default object ID (DistributionJournalPost/ID etc.) of a submission's FordelingsObject. */
export function objectIdFor(submissionUuid: string, webformId?: string, revision?: number): string {
  const key = revisionKey(requireKey(submissionUuid), revision);
  return nameBasedUuid(webformId ? `object:${webformId}:${key}` : `object:${key}`);
}
