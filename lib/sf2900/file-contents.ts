/**
 * File contents leave the ledger once the platform has them: a FORMULAR request carries its PDF inline
 * (FormularIndhold, base64), and keeping 1.4 MB per shipment for the 365-day retention would make the ledger mostly
 * citizens' documents. After a successful FordelingsobjektAfsend the stored request keeps its structure (for the
 * overview's detail and audit) with the contents replaced by their size and SHA-256. A shipment is never resent after
 * that point (only failed and dead-lettered ones are, and those keep their contents). No Node-RED dependency.
 */
import { createHash } from 'crypto';

/** An element holding base64 file contents, any namespace prefix. */
const CONTENT = /<((?:[A-Za-z_][\w.-]*:)?FormularIndhold)(\s[^>]*)?>([A-Za-z0-9+/=\s]+)<\/\1>/g;

export const REMOVED_MARK = 'os2: file contents removed after delivery';

/** Says what a preview leaves out (the request is not stored, and nothing was delivered). */
export const PREVIEW_MARK = 'os2: file contents left out of the preview';

/**
 * The request with file contents replaced by a comment naming their size and digest (and `mark`: why); undefined when
 * it has none.
 */
export function withoutFileContents(requestXml: string, mark = REMOVED_MARK): string | undefined {
  let changed = false;
  const out = requestXml.replace(CONTENT, (_all, name: string, attrs: string | undefined, content: string) => {
    changed = true;
    const b64 = content.replace(/\s+/g, '');
    const bytes = Math.floor((b64.length * 3) / 4) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
    const sha256 = createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex');
    return `<${name}${attrs ?? ''}><!-- ${mark}: ${bytes} bytes, sha256 ${sha256} --></${name}>`;
  });
  return changed ? out : undefined;
}

/** True when the request's file contents were removed (it cannot be sent again as it is). */
export function fileContentsRemoved(requestXml: string | undefined): boolean {
  return !!requestXml && requestXml.includes(REMOVED_MARK);
}
