/**
 * SFTP file names. The name itself comes from lib/mapping/sftp-name.ts (`map` writes it into FileRef.sftpName and the
 * form XML, `fordeling out` uploads under it), so there is one definition; this module adds what the SFTP side needs.
 */
import { sftpFileName, safeAsciiName } from '../mapping/sftp-name';

export { safeAsciiName };

/**
 * Longest base name that still works on the server: the platform (and any POSIX file system) limits a directory
 * entry to 255 bytes, and the protocol appends `.sftpreceipt` (12) to the name in IN — so 243.
 * (FileDescriptor/FileName itself allows 255.)
 */
export const MAX_SFTP_BASE_NAME = 255 - '.sftpreceipt'.length;

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The unique, contract-compliant SFTP name for file `index` of a submission: ASCII only, Danish letters transliterated
 * (æ→ae, ø→oe, å→aa), never a path, at most MAX_SFTP_BASE_NAME characters (extension kept when shortened).
 */
export function safeSftpName(submissionUuid: string, index: number, originalName: string): string {
  const name = sftpFileName(submissionUuid, index, originalName);
  return name.length <= MAX_SFTP_BASE_NAME ? name : shorten(name, MAX_SFTP_BASE_NAME);
}

function shorten(name: string, max: number): string {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
  return name.slice(0, max - ext.length).replace(/[._-]+$/, '') + ext;
}

/** Throws unless `name` is a plain, safe remote file name (what every upload/trigger/receipt path is built from). */
export function assertSafeSftpName(name: string, max = MAX_SFTP_BASE_NAME): void {
  if (typeof name !== 'string' || !SAFE.test(name) || name.includes('..') || name.length > max) {
    throw new Error(`unsafe SFTP file name ${JSON.stringify(String(name).slice(0, 80))}: use safeSftpName()`);
  }
}

/** Joins a configured folder (e.g. OUT, /OUT, upload/OUT) and a checked file name. */
export function remotePath(folder: string, name: string): string {
  const dir = String(folder ?? '').replace(/\/+$/, '');
  return dir ? `${dir}/${name}` : name;
}
