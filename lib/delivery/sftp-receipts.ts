/**
 * `receipt in`, SFTP mode: polls IN for receipt files (`*.sftpreceipt` TechnicalReceipts, BusinessReceipt and
 * BusinessResponse documents), correlates each with its shipment, records it in the ledger and moves the file to the
 * archive folder (or deletes it) so it is never read twice. No Node-RED dependency.
 *
 * Not taking what `fordeling out` is waiting for: a TechnicalReceipt is left in IN while
 *   - it is younger than `graceMs` (fordeling out polls for it by name and normally takes it within one interval), or
 *   - its shipment is in state 'sending' and was updated within `waitWindowMs` (fordeling out is still uploading /
 *     waiting; it records every file in the ledger as it goes).
 * So receipt in handles the technical receipts fordeling out gave up on (deadline passed, Node-RED restarted) and every
 * BusinessReceipt/BusinessResponse.
 *
 * Correlation: TechnicalReceipt → SendersFileId (`<AnvenderTransaktionsID>.<index>`, written by fordeling out), else
 * the file name (`<sftpName>.sftpreceipt`); BusinessReceipt → Filename or FileTransferUUID; BusinessResponse → its
 * file name starting with `<sftpName>.`. Names are looked up in the ledger's file keys (`addFileKeys`, written by
 * fordeling out's SFTP stage): one indexed lookup each, however many shipments the ledger holds.
 */
import { createHash } from 'crypto';
import type { Ledger, ShipmentRecord } from '../ledger/types';
import * as metrics from '../ops/metrics';
import { Outbox, type ReceiptDecision } from '../outbox/outbox';
import {
  disposeReceipt,
  isClosedConnection,
  listReceiptFiles,
  receiptErrorText,
  readReceipt,
  sftpNameOfReceipt,
  type RemoteFile,
  type SftpConfig,
  type SftpReceipt,
} from '../sftp';
import { XmlError } from '../xml/safe-xml';
import { parseSendersFileId, sftpMetaOf, type SftpFileRecord } from './sftp-files';

export type SftpReceiptOutcome = 'accepted' | 'rejected' | 'unknown';

export interface SftpReceiptEvent {
  /** The receipt file's name in IN. */
  fileName: string;
  receipt: SftpReceipt;
  /** The uploaded file it is about, when known. */
  sftpName?: string;
  outcome: SftpReceiptOutcome;
  /** An identical receipt was recorded before (e.g. the file could not be archived last time): not to be emitted again. */
  duplicate: boolean;
  transactionId?: string;
  shipment?: ShipmentRecord;
  /** One line: SUCCESS / ACCEPTED or the platform's error text. */
  text: string;
}

export interface SftpReceiptPollerOptions {
  sftp: Pick<SftpConfig, 'connection' | 'folders'>;
  ledger: () => Ledger;
  /** What happens to a processed file (default 'archive' = `<IN>/archive` or the configured archive folder). */
  disposal?: 'archive' | 'delete';
  /** TechnicalReceipts younger than this are left for fordeling out (default 60 s). */
  graceMs?: number;
  /** A 'sending' shipment updated within this is still being worked on by fordeling out (default 10 min + grace). */
  waitWindowMs?: number;
  /** Poll interval (default 30 s). */
  intervalMs?: number;
  onReceipt: (e: SftpReceiptEvent) => void;
  onError: (err: Error) => void;
  now?: () => Date;
}

const TECHNICAL = /\.sftpreceipt$/i;

export class SftpReceiptPoller {
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = false;
  private busy?: Promise<void>;
  /** Files in IN that are not receipts (e.g. a file sent to us): looked at once. */
  private readonly ignored = new Set<string>();

  constructor(private readonly opts: SftpReceiptPollerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = (): void => {
      if (!this.running) return;
      this.timer = setTimeout(() => {
        void this.pollOnce().finally(tick);
      }, this.opts.intervalMs ?? 30_000);
    };
    void this.pollOnce().finally(tick);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.busy?.catch(() => undefined);
  }

  /** One pass over IN; never rejects (problems go to onError). */
  pollOnce(): Promise<void> {
    if (this.busy) return this.busy;
    this.busy = this.pass()
      .catch((err: Error) => {
        // a redeploy: the SFTP configuration closed its connection (maybe before this node was stopped)
        if (!this.stopped && !isClosedConnection(err)) this.opts.onError(err);
      })
      .finally(() => {
        this.busy = undefined;
      });
    return this.busy;
  }

  private async pass(): Promise<void> {
    const conn = this.opts.sftp.connection();
    const files = await listReceiptFiles(conn, this.opts.sftp.folders);
    for (const f of files) {
      if (this.stopped) break; // redeploy: the connection is going away
      if (this.ignored.has(`${f.name}:${f.modifyTime}:${f.size}`)) continue;
      try {
        await this.one(f);
      } catch (err) {
        this.opts.onError(new Error(`SFTP receipt ${f.name}: ${(err as Error).message}`));
      }
    }
  }

  private async one(f: RemoteFile): Promise<void> {
    const now = (this.opts.now ?? (() => new Date()))().getTime();
    const grace = this.opts.graceMs ?? 60_000;
    const technical = TECHNICAL.test(f.name);
    if (technical && now - f.modifyTime < grace) return;
    const conn = this.opts.sftp.connection();
    const disposal = this.opts.disposal ?? 'archive';
    let receipt: SftpReceipt;
    let xml: string;
    try {
      ({ receipt, xml } = await readReceipt(conn, f.path));
    } catch (err) {
      if (!technical) {
        // Not a receipt (or not ours to read): leave it where it is, and do not look at it again.
        this.ignored.add(`${f.name}:${f.modifyTime}:${f.size}`);
        return;
      }
      if (err instanceof XmlError || /not an SFTP receipt|has no/.test((err as Error).message)) {
        await disposeReceipt(conn, this.opts.sftp.folders, f.name, 'archive');
        throw new Error(`unreadable, moved to the archive: ${(err as Error).message}`);
      }
      throw err;
    }
    const ledger = this.opts.ledger();
    const { shipment, sftpName } = await this.correlate(ledger, f.name, receipt);
    if (technical && shipment?.state === 'sending') {
      const window = this.opts.waitWindowMs ?? 600_000 + grace;
      if (now - Date.parse(shipment.updatedAt) < window) return; // fordeling out is waiting for it
    }
    const text = receipt.success
      ? receipt.kind === 'technical'
        ? (receipt.message ?? 'SUCCESS')
        : receipt.kind === 'business'
          ? receipt.acceptance
          : (receipt.responseMessage ?? 'OK')
      : receiptErrorText(receipt);
    const outcome: SftpReceiptOutcome = !shipment ? 'unknown' : receipt.success ? 'accepted' : 'rejected';
    let duplicate = false;
    let current = shipment;
    const code = receipt.kind === 'business' ? receipt.acceptance : receipt.success ? 'SUCCESS' : 'ERROR';
    if (shipment) {
      // The receipt and its note on the file's record are written in one transaction (see Ledger.addReceipt).
      const added = await new Outbox(ledger).receipt(
        {
          transactionId: shipment.transactionId,
          distributionTransactionId: shipment.distributionTransactionId,
          type: receipt.kind === 'technical' ? 'SFTP TechnicalReceipt' : receipt.kind === 'business' ? 'SFTP BusinessReceipt' : 'SFTP BusinessResponse',
          code,
          reason: sftpName ? `${sftpName}: ${text}` : text,
          errors: 'errors' in receipt ? receipt.errors.map((e) => ({ code: String(e.code), text: `${e.codeDescription}: ${e.description}` })) : [],
          receivedAt: new Date(now).toISOString(),
          fingerprint: createHash('sha256').update(f.name).update('\0').update(xml).digest('hex'),
          raw: xml,
        },
        (fresh) => (sftpName ? noteOnFile(fresh, sftpName, receipt, now) : undefined),
      );
      duplicate = added.duplicate;
      if (!duplicate) current = added.shipment ?? current;
    }
    await disposeReceipt(conn, this.opts.sftp.folders, f.name, disposal);
    if (duplicate) return;
    metrics.countReceipt('SFTP', code);
    this.opts.onReceipt({ fileName: f.name, receipt, sftpName, outcome, duplicate, transactionId: current?.transactionId, shipment: current, text });
  }

  private async correlate(ledger: Ledger, fileName: string, receipt: SftpReceipt): Promise<{ shipment?: ShipmentRecord; sftpName?: string }> {
    let sftpName: string | undefined;
    if (receipt.kind === 'technical') {
      sftpName = sftpNameOfReceipt(fileName);
      const ids = parseSendersFileId(receipt.sendersFileId);
      if (ids) {
        const s = await ledger.getShipment(ids.transactionId);
        if (s) return { shipment: s, sftpName: sftpName ?? sftpMetaOf(s).files.find((x) => x.index === ids.index)?.sftpName };
      }
    } else if (receipt.kind === 'business') {
      sftpName = receipt.fileName;
    }
    const fileOf = (shipment: ShipmentRecord, pred: (r: SftpFileRecord) => boolean) => sftpMetaOf(shipment).files.find(pred);
    if (sftpName) {
      const shipment = await ledger.findByFileKey(sftpName);
      if (shipment) return { shipment, sftpName };
    }
    if (receipt.kind === 'business' && receipt.fileTransferUuid) {
      const shipment = await ledger.findByFileKey(receipt.fileTransferUuid);
      if (shipment) return { shipment, sftpName: fileOf(shipment, (r) => r.fileTransferUuid === receipt.fileTransferUuid)?.sftpName ?? sftpName };
    }
    if (receipt.kind === 'businessResponse') {
      // named `<sftpName>.<anything>`: try each prefix that ends before a dot, longest first
      for (let dot = fileName.lastIndexOf('.'); dot > 0; dot = fileName.lastIndexOf('.', dot - 1)) {
        const prefix = fileName.slice(0, dot);
        const shipment = await ledger.findByFileKey(prefix);
        if (shipment) return { shipment, sftpName: prefix };
      }
    }
    return { shipment: undefined, sftpName };
  }
}

/** What the receipt says, written onto the file's record in shipment.meta.sftp (undefined: not this shipment's file). */
function noteOnFile(fresh: ShipmentRecord, sftpName: string, receipt: SftpReceipt, now: number): ReceiptDecision {
  const meta = sftpMetaOf(fresh);
  const files = meta.files.map((r) => {
    if (r.sftpName !== sftpName) return r;
    if (receipt.kind === 'technical') {
      return {
        ...r,
        status: receipt.success ? ('acknowledged' as const) : ('failed' as const),
        code: receipt.success ? undefined : 'SFTP_ERROR_RECEIPT',
        fileTransferUuid: receipt.fileTransferUuid,
        message: receipt.message,
        error: receipt.success ? undefined : receiptErrorText(receipt),
        at: new Date(now).toISOString(),
      };
    }
    if (receipt.kind === 'business') return { ...r, business: { acceptance: receipt.acceptance, reason: receipt.reason, at: new Date(now).toISOString() } };
    return {
      ...r,
      businessResponse: { ok: receipt.success, text: receipt.success ? receipt.responseMessage : receiptErrorText(receipt), at: new Date(now).toISOString() },
    };
  });
  if (!meta.files.some((r) => r.sftpName === sftpName)) return undefined;
  return { patch: { meta: { ...(fresh.meta ?? {}), sftp: { ...meta, files } } } };
}
