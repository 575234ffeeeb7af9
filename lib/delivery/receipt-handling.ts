/**
 * Receiving receipts on the sender's endpoint (FordelingskvitteringModtag): caller authentication,
 * correlation with the shipment, exact-duplicate detection and the shipment state change. No Node-RED dependency.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Ledger, ReceiptRecord, ShipmentRecord } from '../ledger/types';
import * as metrics from '../ops/metrics';
import { Outbox, stateForReceipt, type ReceiptDecision } from '../outbox/outbox';
import type { Kvittering } from '../sf2900/receipts';

// ---------- authentication ----------

export interface ReceiptAuthConfig {
  /** Pinned SHA-256 fingerprints of the caller's client certificate (any notation: AB:CD…, abcd…). */
  fingerprints?: string[];
  basic?: { user: string; password: string };
  /** IPv4/IPv6 addresses or CIDR ranges. */
  allow?: string[];
}

export interface CallerInfo {
  remoteAddress?: string;
  authorization?: string;
  /** fingerprint256 of the peer certificate (TLS with requestCert), when any. */
  peerFingerprint256?: string;
}

export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export function normaliseFingerprint(fp: string): string {
  return fp.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
}

/** Parses a list of addresses/CIDRs; throws one clear line for an invalid entry. */
export function buildAllowList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const [addr, prefixText] = entry.split('/');
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : undefined;
    if (!type) throw new Error(`Invalid IP address in the allow-list: ${entry}`);
    if (prefixText === undefined) list.addAddress(addr, type);
    else {
      const prefix = Number(prefixText);
      if (!/^[0-9]+$/.test(prefixText) || prefix > (type === 'ipv4' ? 32 : 128)) throw new Error(`Invalid CIDR prefix in the allow-list: ${entry}`);
      list.addSubnet(addr, prefix, type);
    }
  }
  return list;
}

export function splitList(text: string | undefined): string[] {
  return (text ?? '')
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** A checker for the configured methods; every configured method must pass. Throws when none is configured. */
export function receiptAuthenticator(cfg: ReceiptAuthConfig): (caller: CallerInfo) => AuthResult {
  const pins = (cfg.fingerprints ?? []).map(normaliseFingerprint).filter(Boolean);
  for (const p of pins) if (p.length !== 64) throw new Error(`A pinned fingerprint must be a SHA-256 fingerprint (64 hex digits): ${p.slice(0, 16)}…`);
  const allow = cfg.allow && cfg.allow.length ? buildAllowList(cfg.allow) : undefined;
  const basic = cfg.basic && cfg.basic.user ? cfg.basic : undefined;
  if (!pins.length && !allow && !basic) {
    throw new Error('receipt in: configure at least one way to authenticate the caller (client-certificate fingerprint, basic auth or IP allow-list)');
  }
  return (caller) => {
    if (allow) {
      let ip = caller.remoteAddress ?? '';
      if (ip.startsWith('::ffff:') && isIPv4(ip.slice(7))) ip = ip.slice(7);
      const type = isIPv4(ip) ? 'ipv4' : 'ipv6';
      if (!ip || !allow.check(ip, type)) return { ok: false, status: 403, reason: `caller address ${ip || '(unknown)'} is not in the allow-list` };
    }
    if (pins.length) {
      const fp = caller.peerFingerprint256 ? normaliseFingerprint(caller.peerFingerprint256) : '';
      if (!fp) return { ok: false, status: 403, reason: 'no client certificate presented' };
      if (!pins.includes(fp)) return { ok: false, status: 403, reason: 'client certificate not pinned' };
    }
    if (basic) {
      const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(caller.authorization ?? '');
      if (!m) return { ok: false, status: 401, reason: 'basic authentication required' };
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      const user = i < 0 ? decoded : decoded.slice(0, i);
      const password = i < 0 ? '' : decoded.slice(i + 1);
      const okUser = sameSecret(user, basic.user);
      const okPassword = sameSecret(password, basic.password);
      if (!(okUser && okPassword)) return { ok: false, status: 401, reason: 'wrong user name or password' };
    }
    return { ok: true };
  };
}

// ---------- correlation ----------

export type ReceiptOutcome = 'accepted' | 'rejected' | 'unknown';

export interface ReceiptHandling {
  duplicate: boolean;
  outcome: ReceiptOutcome;
  shipment?: ShipmentRecord;
  record: ReceiptRecord;
}

/** sha256 over the normalised receipt content: equal for an exact duplicate, different for any other receipt. */
export function receiptFingerprint(r: { transactionId: string; distributionTransactionId?: string; receipt: Kvittering }): string {
  const norm = (s: string | undefined): string => (s ?? '').replace(/\s+/g, ' ').trim();
  const content = {
    t: r.transactionId.toLowerCase(),
    d: (r.distributionTransactionId ?? '').toLowerCase(),
    type: norm(r.receipt.type),
    code: norm(r.receipt.code).toUpperCase(),
    reason: norm(r.receipt.reason),
    errors: (r.receipt.errors ?? []).map((e) => [norm(e.code), norm(e.text)]),
  };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

const REJECTED = new Set(['AFVIST', 'FEJLET']);

/**
 * Correlates (by AnvenderTransaktionsID, else DistributionTransktionsID), stores the receipt (duplicates
 * recognised by fingerprint) and moves the shipment's state forward (never backwards).
 */
export async function handleReceipt(
  ledger: Ledger,
  parsed: { transactionId: string; distributionTransactionId?: string; receipt: Kvittering },
  raw?: string,
  now = new Date(),
): Promise<ReceiptHandling> {
  let shipment = await ledger.getShipment(parsed.transactionId.toLowerCase(), { bodies: false });
  if (!shipment && parsed.distributionTransactionId) shipment = await ledger.findByDistributionId(parsed.distributionTransactionId);
  const transactionId = shipment?.transactionId ?? parsed.transactionId.toLowerCase();
  const fingerprint = receiptFingerprint({ ...parsed, transactionId });
  const outcome: ReceiptOutcome = REJECTED.has((parsed.receipt.code ?? '').toUpperCase()) ? 'rejected' : 'accepted';
  // The receipt and what it does to the shipment are written in one transaction, decided on the shipment as it is
  // then (another receipt or the send's result may have moved it since it was read above): a state never moves back,
  // and a receipt is never stored without its effect (it would be taken for a duplicate when it comes again).
  // The state machine (lib/outbox/states.ts) decides whether the receipt moves the state.
  const decide = (current: ShipmentRecord): ReceiptDecision => ({
    to: stateForReceipt(parsed.receipt),
    patch: !current.distributionTransactionId && parsed.distributionTransactionId ? { distributionTransactionId: parsed.distributionTransactionId } : undefined,
  });
  const added = await new Outbox(ledger).receipt(
    {
      transactionId,
      distributionTransactionId: parsed.distributionTransactionId,
      type: parsed.receipt.type,
      code: parsed.receipt.code,
      reason: parsed.receipt.reason,
      errors: parsed.receipt.errors ?? [],
      receivedAt: now.toISOString(),
      fingerprint,
      raw,
    },
    decide,
  );
  const { duplicate, receipt } = added;
  if (!duplicate) {
    metrics.countReceipt(parsed.receipt.type, parsed.receipt.code);
    const sent = shipment?.attempts.find((a) => a.ok)?.at;
    if (sent && /^forretning$/i.test(parsed.receipt.type ?? '')) metrics.receiptSeconds.observe(Math.max(0, (now.getTime() - Date.parse(sent)) / 1000));
  }
  if (!shipment) return { duplicate, outcome: 'unknown', record: receipt };
  shipment = added.shipment ?? shipment;
  return { duplicate, outcome, shipment, record: receipt };
}
