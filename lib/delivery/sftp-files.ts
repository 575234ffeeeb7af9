/**
 * Stage 1 of the delivery pipeline (`prepareFiles`) for objects that carry files: each file goes to the
 * Serviceplatform's SFTP service (upload atomically → `.trigger` → wait for `<name>.sftpreceipt`) before
 * FordelingsobjektAfsend is called. No Node-RED dependency.
 *
 * The shipment is recorded in the ledger (state 'sending') BEFORE the first upload, and every file's SFTP name and
 * receipt goes into `shipment.meta.sftp.files` as soon as it is known. That gives:
 *   - a retry of the same submission skips every file already acknowledged by SUCCESS (same SFTP name);
 *   - `receipt in` (SFTP mode) can tell a receipt that fordeling out is still waiting for (shipment 'sending')
 *     from one it should handle, and correlate receipts by file name.
 */
import * as fs from 'fs';
import { Readable } from 'stream';
import type { FileRef, FordelingsObject } from '../sf2900/model';
import type { Ledger, ShipmentRecord } from '../ledger/types';
import * as metrics from '../ops/metrics';
import { Outbox } from '../outbox/outbox';
import {
  HostKeyMismatchError,
  SftpReceiptError,
  disposeReceipt,
  readReceipt,
  receiptNameFor,
  remotePath,
  receiptErrorText,
  sftpNameOf,
  uploadSourceOf,
  uploadWithTrigger,
  type SftpConfig,
  type UploadSource,
} from '../sftp';
import { revisionKey } from '../sf2900/transaction-id';
import { DeliveryError } from './errors';
import type { PrepareFiles } from './deliver';

/** One file's SFTP record in `shipment.meta.sftp.files`. No file contents, no citizen file names. */
export interface SftpFileRecord {
  /** Position in FordelingsObject.files. */
  index: number;
  /** The webform element the file came from. */
  element?: string;
  sftpName: string;
  sendersFileId: string;
  sizeInBytes?: number;
  /** 'acknowledged': TechnicalReceipt SUCCESS; 'failed': error receipt, no receipt, or upload error. */
  status: 'acknowledged' | 'failed';
  fileTransferUuid?: string;
  message?: string;
  /** DeliveryError code of a failure (e.g. SFTP_NO_RECEIPT, SFTP_ERROR_RECEIPT). */
  code?: string;
  error?: string;
  errors?: Array<{ code: string; text: string }>;
  at: string;
  /** Set by receipt in (SFTP mode) when a BusinessReceipt / BusinessResponse about this file arrives. */
  business?: { acceptance: string; reason?: string; at: string };
  businessResponse?: { ok: boolean; text?: string; at: string };
}

export interface SftpMeta {
  files: SftpFileRecord[];
  /** RecipientIt-system used in the triggers (when looked up / routed to one). */
  recipientSystemUuid?: string;
}

export interface SftpStageOptions {
  /** The `os2-sftp` config node (or anything shaped like it). */
  sftp: Pick<SftpConfig, 'connection' | 'folders' | 'receipts' | 'username'>;
  ledger: Ledger;
  /**
   * FordelingsmodtagerList (routing authority, KLE, facet) → receiving systems. When given and the object routes by
   * KLE, the one matching system becomes the trigger's RecipientIt-system (none or several: left out).
   */
  lookupRecipients?: (q: { routingCvr: string; kle: string; handlingFacet?: string }) => Promise<Array<{ systemUuid: string }>>;
  /** Opens a file that has only a URL (e.g. an authenticated download); without it such files are refused. */
  openUrl?: (url: string) => Promise<Readable>;
  /** Progress (for node status). */
  onFile?: (info: { index: number; count: number; sftpName: string; skipped: boolean }) => void;
  /**
   * On failure, also record an attempt and state 'failed' on the shipment (default true). A caller that records
   * attempts and states itself (a durable delivery worker) turns this off.
   */
  recordFailure?: boolean;
  now?: () => Date;
}

/** FileDescriptor/SendersFileId of file `index` of a shipment: `<AnvenderTransaktionsID>.<index>` (correlation key). */
export function sendersFileIdFor(transactionId: string, index: number): string {
  return `${transactionId}.${index}`;
}

/** The transaction id and file index a SendersFileId made by sendersFileIdFor() names, or undefined. */
export function parseSendersFileId(id: string | undefined): { transactionId: string; index: number } | undefined {
  const m = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{1,6})$/i.exec(String(id ?? '').trim());
  return m ? { transactionId: m[1].toLowerCase(), index: Number(m[2]) } : undefined;
}

/** The SFTP records of a shipment (empty when none). */
export function sftpMetaOf(shipment: ShipmentRecord | undefined): SftpMeta {
  const m = shipment?.meta?.sftp as SftpMeta | undefined;
  return m && Array.isArray(m.files) ? m : { files: [] };
}

/** The files an object carries: `files`, plus DOKUMENT's own file when the mapper did not list it. */
export function filesOf(obj: FordelingsObject): FileRef[] {
  const files = Array.isArray(obj.files) ? [...obj.files] : [];
  const doc = obj.objektType === 'DOKUMENT' ? obj.dokument?.file : undefined;
  if (doc && docIndex(files, doc) < 0) files.unshift(doc);
  return files;
}

/** Where DOKUMENT's file is in `files` (messages are cloned between nodes, so not only by identity). */
function docIndex(files: FileRef[], doc: FileRef): number {
  const same = (f: FileRef): boolean =>
    f === doc ||
    (doc.sftpName ? f.sftpName === doc.sftpName : !f.sftpName && f.name === doc.name && f.element === doc.element && f.path === doc.path && f.url === doc.url);
  return files.findIndex(same);
}

const permanent = (code: string, reason: string, errors: Array<{ code: string; text: string }> = []): DeliveryError =>
  new DeliveryError({ class: 'permanent', code, reason, errors });

/** Turns whatever went wrong with one file into a classified DeliveryError. */
export function classifySftpError(err: unknown, sftpName: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof SftpReceiptError) {
    if (err.receipt) {
      const errors = 'errors' in err.receipt ? err.receipt.errors.map((e) => ({ code: String(e.code), text: `${e.codeDescription}: ${e.description}` })) : [];
      return permanent('SFTP_ERROR_RECEIPT', `The Serviceplatform refused ${sftpName} (SFTP receipt): ${receiptErrorText(err.receipt)}`, errors);
    }
    return new DeliveryError({ class: 'transient', code: 'SFTP_NO_RECEIPT', reason: err.message, errors: [] });
  }
  if (err instanceof HostKeyMismatchError) return permanent('SFTP_HOST_KEY', err.message);
  const message = String((err as Error)?.message ?? err);
  if (/unsafe SFTP file name|has no content, path or url|only a URL|content must be a Buffer|^trigger /.test(message)) {
    return permanent('INVALID', `File ${sftpName} cannot be sent: ${message}`);
  }
  if ((err as NodeJS.ErrnoException)?.code === 'ENOENT')
    return permanent('NOT_FOUND', `SFTP transfer of ${sftpName}: no such file or folder (the local file, or the SFTP folder): ${message}`);
  return new DeliveryError({ class: 'transient', code: 'SFTP', reason: `SFTP transfer of ${sftpName} failed: ${message}`, errors: [] });
}

/** The same source, calling `touch` each time a read of it ends (streams only; a Buffer goes at once). */
function touchingSource(source: UploadSource, touch: () => void): UploadSource {
  if (Buffer.isBuffer(source) || source instanceof Readable) return source;
  const open = 'path' in source ? (): Readable => fs.createReadStream(source.path, { highWaterMark: 256 * 1024 }) : source.open;
  return {
    open: async () => {
      const stream = await open();
      stream.once('end', touch);
      return stream;
    },
  };
}

/** A receipt for `sftpName` already in IN (read and archived), or undefined. */
async function lateReceipt(conn: ReturnType<SftpStageOptions['sftp']['connection']>, folders: SftpStageOptions['sftp']['folders'], sftpName: string) {
  const name = receiptNameFor(sftpName);
  const path = remotePath(folders.in, name);
  if ((await conn.run((c) => c.exists(path))) !== '-') return undefined;
  const { receipt } = await readReceipt(conn, path);
  if (receipt.kind === 'technical' && receipt.success) await disposeReceipt(conn, folders, name, 'archive');
  return receipt;
}

async function recipientFor(obj: FordelingsObject, opts: SftpStageOptions): Promise<string | undefined> {
  const r = obj.context.routing;
  if (r.receivingSystemUuid) return r.receivingSystemUuid.toLowerCase();
  if (!opts.lookupRecipients || !r.kle) return undefined;
  let list: Array<{ systemUuid: string }>;
  try {
    list = await opts.lookupRecipients({ routingCvr: r.receivingAuthorityCvr, kle: r.kle, handlingFacet: r.handlingFacet });
  } catch (err) {
    if (err instanceof DeliveryError) throw err;
    throw new DeliveryError({ class: 'transient', code: 'LOOKUP', reason: `FordelingsmodtagerList failed: ${(err as Error).message}`, errors: [] });
  }
  const systems = [...new Set(list.map((s) => String(s.systemUuid ?? '').toLowerCase()).filter(Boolean))];
  return systems.length === 1 ? systems[0] : undefined;
}

/**
 * The prepareFiles stage: uploads every file of the object (skipping those already acknowledged for this
 * shipment), then returns the object with FileRef.sftpName set on each file and, for DOKUMENT, DokumentFilNavn.
 * Rejects with a DeliveryError: permanent for an error receipt, transient for a missing one or a lost connection.
 */
export function sftpPrepareFiles(opts: SftpStageOptions): PrepareFiles {
  const now = opts.now ?? (() => new Date());
  return async (obj, { transactionId }) => {
    const files = filesOf(obj);
    if (!files.length) return obj;
    let names: string[];
    try {
      names = files.map((f, i) => sftpNameOf(revisionKey(obj.submissionId, obj.revision), i, f));
    } catch (err) {
      throw permanent('INVALID', `A file of the object cannot be sent: ${(err as Error).message}`);
    }
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw permanent('INVALID', `Two files of the object have the same SFTP name ${twice}: each file needs its own`);
    const { ledger } = opts;
    const outbox = new Outbox(ledger);
    const { created, shipment } = await outbox.open({
      transactionId,
      submissionId: obj.submissionId,
      webformId: obj.webformId,
      objektType: obj.objektType,
      state: 'sending',
      meta: { sftp: { files: [] } },
    });
    if (!created && shipment.state !== 'sending') await outbox.move(transactionId, 'sending');
    // receipt in finds the shipment of a file's receipt by these names (and by the FileTransferUUIDs saved below);
    // a name another shipment (another target of the submission) sent already would mix up their files and receipts
    const taken = await ledger.addFileKeys(transactionId, names);
    const meta: SftpMeta = { ...sftpMetaOf(shipment), files: [...sftpMetaOf(shipment).files] };
    const save = async (): Promise<void> => {
      const current = await ledger.getShipment(transactionId, { bodies: false });
      await outbox.note(transactionId, { meta: { ...(current?.meta ?? {}), sftp: meta } });
      await ledger.addFileKeys(
        transactionId,
        meta.files.flatMap((f) => (f.fileTransferUuid ? [f.fileTransferUuid] : [])),
      );
    };
    const record = (r: SftpFileRecord): void => {
      const i = meta.files.findIndex((f) => f.sftpName === r.sftpName);
      if (i >= 0) meta.files[i] = r;
      else meta.files.push(r);
    };

    try {
      if (taken.length) {
        const other = (await ledger.findByFileKey(taken[0]))?.transactionId ?? '?';
        throw permanent(
          'INVALID',
          `File ${taken[0]} went by SFTP already with shipment ${other} (another target of this submission): one submission's files can go to one target only`,
        );
      }
      const conn = opts.sftp.connection();
      const recipientSystemUuid = await recipientFor(obj, opts);
      if (recipientSystemUuid) meta.recipientSystemUuid = recipientSystemUuid;
      for (const [index, file] of files.entries()) {
        const sftpName = names[index];
        const done = meta.files.find((f) => f.sftpName === sftpName && f.status === 'acknowledged');
        opts.onFile?.({ index, count: files.length, sftpName, skipped: !!done });
        if (done) continue;
        const sendersFileId = sendersFileIdFor(transactionId, index);
        // An earlier attempt gave up waiting: the receipt may have come since. A SUCCESS means no second upload.
        const waited = meta.files.find((f) => f.sftpName === sftpName && f.status === 'failed' && f.code === 'SFTP_NO_RECEIPT');
        if (waited) {
          const late = await lateReceipt(conn, opts.sftp.folders, sftpName);
          if (late?.kind === 'technical' && late.success) {
            metrics.countReceipt('SFTP', 'SUCCESS');
            record({
              ...waited,
              status: 'acknowledged',
              fileTransferUuid: late.fileTransferUuid,
              message: late.message,
              error: undefined,
              code: undefined,
              at: now().toISOString(),
            });
            await save();
            continue;
          }
        }
        const infRef = file.fileSpecification || obj.fileSpecification;
        try {
          if (!infRef)
            throw permanent(
              'INVALID',
              `File ${sftpName} has no file specification (FileRef.fileSpecification or the object's fileSpecification): the trigger needs one`,
            );
          let source: UploadSource;
          try {
            source = uploadSourceOf(file, opts.openUrl);
          } catch (err) {
            throw permanent('INVALID', `File ${sftpName} cannot be sent: ${(err as Error).message}`);
          }
          // The trigger follows the last byte: mark the shipment as still being worked on then, so receipt in
          // (which leaves receipts of recently updated 'sending' shipments alone) does not take this file's receipt.
          source = touchingSource(source, () => void outbox.move(transactionId, 'sending').catch(() => undefined));
          const result = await uploadWithTrigger(
            conn,
            opts.sftp.folders,
            { source, sftpName, sendersFileId },
            {
              sender: opts.sftp.username,
              infRef,
              senderSystemUuid: obj.context.senderSystemUuid as string,
              senderCvr: obj.context.senderAuthorityCvr as string,
              transactionId,
              recipientCvr: obj.context.routing.receivingAuthorityCvr,
              recipientSystemUuid,
            },
            opts.sftp.receipts,
          );
          metrics.countReceipt('SFTP', 'SUCCESS');
          record({
            index,
            element: file.element,
            sftpName,
            sendersFileId,
            sizeInBytes: result.sizeInBytes,
            status: 'acknowledged',
            fileTransferUuid: result.receipt.fileTransferUuid,
            message: result.receipt.message,
            at: now().toISOString(),
          });
          await save();
        } catch (err) {
          if (err instanceof SftpReceiptError && err.receipt) metrics.countReceipt('SFTP', 'ERROR');
          const e = classifySftpError(err, sftpName);
          record({
            index,
            element: file.element,
            sftpName,
            sendersFileId,
            status: 'failed',
            code: e.code,
            error: e.reason,
            errors: e.errors.length ? e.errors : undefined,
            at: now().toISOString(),
          });
          throw e;
        }
      }
    } catch (err) {
      const e = classifySftpError(err, 'the file');
      await save().catch(() => undefined);
      if (opts.recordFailure === false) throw e;
      await outbox.attempt(transactionId, { at: now().toISOString(), ok: false, errorClass: e.class, error: e.reason }).catch(() => undefined);
      await outbox.move(transactionId, 'failed', { lastError: e.reason }).catch(() => undefined);
      throw e;
    }

    const named = new Map(files.map((f, i) => [f, names[i]]));
    const withName = (f: FileRef): FileRef => ({ ...f, sftpName: named.get(f) ?? f.sftpName });
    const out: FordelingsObject = { ...obj, files: (obj.files ?? []).map(withName) };
    if (obj.objektType === 'DOKUMENT' && obj.dokument?.file) {
      const docName = names[docIndex(files, obj.dokument.file)];
      out.dokument = { ...obj.dokument, file: { ...obj.dokument.file, sftpName: docName } };
      out.context = { ...obj.context, documentFileName: docName };
    }
    return out;
  };
}
