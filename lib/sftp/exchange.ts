/**
 * The file exchange with the Serviceplatform's SFTP service:
 *   upload `<name>` to OUT atomically (temporary name, then posixRename) → write `<name>.trigger` atomically, only
 *   after the file is complete → wait for `<name>.sftpreceipt` in IN → archive or delete the receipt.
 * Uploads stream (a 100 MB file never sits in memory). No Node-RED dependency.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { Readable, Transform, type TransformCallback } from 'stream';
import type SftpClient from 'ssh2-sftp-client';
import type { SftpConnection } from './connection';
import type { FileRef } from '../sf2900/model';
import { assertSafeSftpName, remotePath, safeSftpName } from './names';
import { parseSftpReceipt, receiptErrorText, type SftpReceipt, type TechnicalReceipt } from './receipt-files';
import { buildTrigger, type DynamicRouting } from './trigger';

export interface SftpFolders {
  /** Where we put files and triggers (default OUT). */
  out: string;
  /** Where the platform puts receipts (default IN). */
  in: string;
  /** Where processed receipts go when disposal is 'archive' (default `<in>/archive`). */
  archive?: string;
}

/**
 * What to upload. Buffer and path can be read again after a dropped connection; so can `open` (called once per
 * attempt, e.g. a new HTTP download). A bare Readable is used once: a drop mid-upload then fails the upload.
 */
export type UploadSource = Buffer | { path: string } | { open: () => Readable | Promise<Readable> } | Readable;

export type ReceiptDisposal = 'archive' | 'delete' | 'keep';

export interface ReceiptWaitOptions {
  /** Poll interval (default 5 s). */
  intervalMs?: number;
  /** Give up after this long (default 10 min). */
  timeoutMs?: number;
  /** What to do with a receipt once read (default 'archive'). */
  disposal?: ReceiptDisposal;
  signal?: AbortSignal;
}

export class SftpReceiptError extends Error {
  /**
   * 'error-receipt': the platform refused the file (permanent until the cause is fixed);
   * 'no-receipt': none came before the deadline (the platform may still answer: retry later, same name).
   */
  readonly reason: 'error-receipt' | 'no-receipt';
  constructor(
    message: string,
    readonly sftpName: string,
    readonly receipt?: SftpReceipt,
  ) {
    super(message);
    this.name = 'SftpReceiptError';
    this.reason = receipt ? 'error-receipt' : 'no-receipt';
  }
}

function replayable(source: UploadSource): boolean {
  return !(source instanceof Readable);
}

class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

async function openSource(source: UploadSource): Promise<Readable> {
  if (source instanceof Readable) return source;
  if ('path' in source) return fs.createReadStream(source.path, { highWaterMark: 256 * 1024 });
  if ('open' in source) return await source.open();
  throw new Error('unsupported upload source');
}

/**
 * The upload source for a FordelingsObject file: content → Buffer, path → local file, url → `openUrl(url)` per attempt
 * (e.g. an authenticated download from the OS2forms site). Throws when the file has none of them.
 */
export function uploadSourceOf(file: FileRef, openUrl?: (url: string) => Promise<Readable>): UploadSource {
  if (file.content !== undefined) {
    if (!Buffer.isBuffer(file.content)) throw new Error(`file ${JSON.stringify(file.name)}: content must be a Buffer`);
    return file.content;
  }
  if (file.path) return { path: file.path };
  if (file.url) {
    if (!openUrl) throw new Error(`file ${JSON.stringify(file.name)} has only a URL and no way to download it was given`);
    const url = file.url;
    return { open: () => openUrl(url) };
  }
  throw new Error(`file ${JSON.stringify(file.name)} has no content, path or url`);
}

/** The name a FordelingsObject file travels under: FileRef.sftpName (set by map) when present, else derived. */
export function sftpNameOf(submissionUuid: string, index: number, file: FileRef): string {
  const name = file.sftpName || safeSftpName(submissionUuid, index, file.name);
  assertSafeSftpName(name);
  return name;
}

/** The temporary name a file is uploaded under before it is renamed into place (short, fixed per final name). */
export function tempNameFor(name: string): string {
  return `.os2tmp-${createHash('sha256').update(name).digest('hex').slice(0, 20)}.part`;
}

/**
 * Uploads `source` to `<folder>/<name>` atomically: the bytes go to a temporary name, whose size is checked, then
 * posixRename (atomic, overwrites) puts it in place — so nobody ever sees a partial `<name>`.
 * Returns the number of bytes uploaded.
 */
export async function uploadAtomically(conn: SftpConnection, source: UploadSource, folder: string, name: string): Promise<number> {
  assertSafeSftpName(name, 255);
  const tmp = remotePath(folder, tempNameFor(name));
  const final = remotePath(folder, name);
  return conn.run(
    async (client: SftpClient) => {
      let size: number;
      if (Buffer.isBuffer(source)) {
        await client.put(source, tmp);
        size = source.length;
      } else if (!(source instanceof Readable) && 'path' in source) {
        // a local file: the library's parallel chunked upload (measured: a stream through put() made 0.88 of its rate)
        size = (await fs.promises.stat(source.path)).size;
        await client.fastPut(source.path, tmp);
      } else {
        const input = await openSource(source);
        const counter = new ByteCounter();
        input.on('error', (err) => counter.destroy(err));
        input.pipe(counter);
        try {
          await client.put(counter, tmp);
        } finally {
          input.unpipe(counter);
          if (!input.readableEnded) input.destroy();
        }
        size = counter.bytes;
      }
      const stat = await client.stat(tmp);
      if (stat.size !== size) throw new Error(`upload of ${name} incomplete: ${stat.size} of ${size} bytes arrived`);
      await client.posixRename(tmp, final);
      return size;
    },
    { retry: replayable(source) },
  );
}

/** Writes `<out>/<name>.trigger` atomically (call only after the file itself is in place). */
export async function writeTrigger(conn: SftpConnection, folder: string, name: string, triggerXml: string): Promise<void> {
  assertSafeSftpName(name);
  await uploadAtomically(conn, Buffer.from(triggerXml, 'utf8'), folder, `${name}.trigger`);
}

export function receiptNameFor(sftpName: string): string {
  return `${sftpName}.sftpreceipt`;
}

/** The uploaded file a `<name>.sftpreceipt` answers (for correlating receipts found in IN), or undefined. */
export function sftpNameOfReceipt(receiptFileName: string): string | undefined {
  const m = /^(.+)\.sftpreceipt$/i.exec(receiptFileName);
  return m ? m[1] : undefined;
}

/** Reads and parses one receipt file. */
export async function readReceipt(conn: SftpConnection, path: string): Promise<{ receipt: SftpReceipt; xml: string }> {
  const data = await conn.run(async (c) => (await c.get(path)) as Buffer);
  const xml = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
  return { receipt: parseSftpReceipt(xml), xml };
}

/** Archives (moves to `archive`, creating it), deletes or keeps a processed receipt file, so it is not read twice. */
export async function disposeReceipt(conn: SftpConnection, folders: SftpFolders, name: string, disposal: ReceiptDisposal): Promise<void> {
  if (disposal === 'keep') return;
  const from = remotePath(folders.in, name);
  if (disposal === 'delete') {
    await conn.run((c) => c.delete(from, true));
    return;
  }
  const archive = folders.archive || remotePath(folders.in, 'archive');
  await conn.run(async (c) => {
    if (!(await c.exists(archive))) await c.mkdir(archive, true);
    await c.posixRename(from, remotePath(archive, name));
  });
}

export interface RemoteFile {
  name: string;
  path: string;
  size: number;
  modifyTime: number;
}

/**
 * Regular files in IN that look like receipts: `*.sftpreceipt`, and XML files (BusinessReceipt/BusinessResponse,
 * whose naming the contract leaves open). Temporary and hidden files are left out. Oldest first.
 */
export async function listReceiptFiles(conn: SftpConnection, folders: SftpFolders): Promise<RemoteFile[]> {
  const list = await conn.run((c) => c.list(folders.in));
  return list
    .filter(
      (f) => f.type === '-' && !f.name.startsWith('.') && !/\.part$/i.test(f.name) && /\.(sftpreceipt|xml|businessreceipt|businessresponse)$/i.test(f.name),
    )
    .sort((a, b) => a.modifyTime - b.modifyTime || a.name.localeCompare(b.name))
    .map((f) => ({ name: f.name, path: remotePath(folders.in, f.name), size: f.size, modifyTime: f.modifyTime }));
}

const seconds = (ms: number): string => (ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000)));

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(t);
      reject(new Error('aborted'));
    }
    signal?.addEventListener('abort', abort, { once: true });
  });

/**
 * Polls IN for `<name>.sftpreceipt` until it appears or the deadline passes; parses it, then disposes of it.
 * Resolves with the receipt whatever it says (check `success`); rejects with SftpReceiptError at the deadline.
 */
export async function waitForReceipt(
  conn: SftpConnection,
  folders: SftpFolders,
  sftpName: string,
  options: ReceiptWaitOptions = {},
): Promise<TechnicalReceipt> {
  assertSafeSftpName(sftpName);
  const name = receiptNameFor(sftpName);
  const path = remotePath(folders.in, name);
  const interval = options.intervalMs ?? 5000;
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  for (;;) {
    if (options.signal?.aborted) throw new Error('aborted');
    const found = await conn.run((c) => c.exists(path));
    if (found === '-') {
      const { receipt } = await readReceipt(conn, path);
      await disposeReceipt(conn, folders, name, options.disposal ?? 'archive');
      if (receipt.kind !== 'technical') throw new SftpReceiptError(`${name} is a ${receipt.kind}, not a TechnicalReceipt`, sftpName, receipt);
      return receipt;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new SftpReceiptError(`no SFTP receipt for ${sftpName} within ${seconds(options.timeoutMs ?? 600_000)} s (looked for ${path})`, sftpName);
    }
    await sleep(Math.min(interval, left), options.signal);
  }
}

export interface UploadFile {
  source: UploadSource;
  /** The safe name in OUT (safeSftpName / FileRef.sftpName). */
  sftpName: string;
  /** FileDescriptor/SendersFileId (e.g. the Drupal file UUID). */
  sendersFileId?: string;
}

export interface UploadRouting extends DynamicRouting {
  /** FileDescriptor/Sender: our SFTP user name. */
  sender: string;
  /** FileDescriptor/Recipients; default ROUTING_V1_0_0. */
  recipients?: string[];
}

export interface UploadResult {
  sftpName: string;
  sizeInBytes: number;
  triggerXml: string;
  receipt: TechnicalReceipt;
}

/**
 * Uploads one file, writes its trigger, waits for the technical receipt. Rejects with SftpReceiptError carrying the
 * platform's error text when the receipt reports an error or does not come before the deadline.
 */
export async function uploadWithTrigger(
  conn: SftpConnection,
  folders: SftpFolders,
  file: UploadFile,
  routing: UploadRouting,
  options: ReceiptWaitOptions = {},
): Promise<UploadResult> {
  assertSafeSftpName(file.sftpName);
  const { sender, recipients, ...dynamic } = routing;
  const triggerFor = (sizeInBytes: number): string =>
    buildTrigger({ fileName: file.sftpName, sizeInBytes, sender, sendersFileId: file.sendersFileId, recipients, routing: dynamic });
  triggerFor(0); // refuse bad routing before anything is uploaded
  // An old receipt for the same name (an earlier attempt) must not be taken for this one's.
  const stale = remotePath(folders.in, receiptNameFor(file.sftpName));
  if ((await conn.run((c) => c.exists(stale))) === '-') {
    await disposeReceipt(conn, folders, receiptNameFor(file.sftpName), options.disposal === 'keep' ? 'archive' : (options.disposal ?? 'archive'));
  }
  const sizeInBytes = await uploadAtomically(conn, file.source, folders.out, file.sftpName);
  const triggerXml = triggerFor(sizeInBytes);
  await writeTrigger(conn, folders.out, file.sftpName, triggerXml);
  const receipt = await waitForReceipt(conn, folders, file.sftpName, options);
  if (!receipt.success) {
    throw new SftpReceiptError(`SFTP delivery of ${file.sftpName} failed: ${receiptErrorText(receipt)}`, file.sftpName, receipt);
  }
  return { sftpName: file.sftpName, sizeInBytes, triggerXml, receipt };
}
