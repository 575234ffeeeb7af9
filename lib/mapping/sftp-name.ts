/**
 * The deterministic SFTP file name of a submission's file. `map` puts it in FileRef.sftpName (and the form
 * XML's Dokumentnavn), and `fordeling out` uploads under the same name, so the XML and the upload agree.
 * Pure; no Node-RED.
 */

/**
 * Longest name produced. The SFTP contract allows 255 (FileDescriptor/FileName), but the KP form schemas cap
 * Header/Dokumenter/Dokumentnavn at 200 characters, and the form XML must carry the same name.
 */
export const MAX_SFTP_NAME = 200;

const FOLD: Record<string, string> = { æ: 'ae', ø: 'oe', å: 'aa', Æ: 'Ae', Ø: 'Oe', Å: 'Aa', ß: 'ss' };

/** A safe ASCII rendering of a citizen's file name: never a path, only [A-Za-z0-9._-], no leading dot. */
export function safeAsciiName(originalName: string): string {
  const base =
    String(originalName ?? '')
      .split(/[\\/]/)
      .pop() ?? '';
  const folded = base
    .replace(/[æøåÆØÅß]/g, (c) => FOLD[c])
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '');
  let s = folded
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/\.{2,}/g, '.');
  s = s.replace(/^[._-]+/, '').replace(/[._-]+$/, '');
  return s || 'file';
}

/**
 * `os2forms_<submission uuid>_<index>_<safe name>`, at most MAX_SFTP_NAME (200) characters, the extension kept when the
 * name must be shortened. `index` is the file's position in FordelingsObject.files (0-based).
 */
export function sftpFileName(submissionUuid: string, index: number, originalName: string): string {
  const uuid = String(submissionUuid)
    .toLowerCase()
    .replace(/[^0-9a-f-]/g, '');
  if (!uuid) throw new Error('sftpFileName needs the submission uuid');
  if (!Number.isInteger(index) || index < 0) throw new Error('sftpFileName needs a non-negative integer index');
  const prefix = `os2forms_${uuid}_${index}_`;
  let name = safeAsciiName(originalName);
  const room = MAX_SFTP_NAME - prefix.length;
  if (name.length > room) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
    name = name.slice(0, room - ext.length).replace(/[._-]+$/, '') + ext;
  }
  return prefix + name;
}
