import { DOMParser, type Document, type Node } from '@xmldom/xmldom';
import { rememberXmldomRegExps } from './xmldom-regexps';

rememberXmldomRegExps();

/** Largest XML text we parse at all (a SOAP message with a base64 PDF fits easily). */
export const MAX_XML_BYTES = 64 * 1024 * 1024;
/**
 * Deepest element nesting we accept (as libxml2's default): far beyond any SF2900 message, token or form XML, and far
 * short of what would overflow the stack of a recursive reader (lib/xml/dom.ts, XML signatures).
 */
export const MAX_XML_DEPTH = 256;

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

/**
 * Parses XML text into a DOM, refusing what an attacker could abuse: DTDs (and with them every entity
 * declaration, internal or external), processing beyond MAX_XML_BYTES, and malformed text.
 */
export function parseXmlSafely(text: string, what = 'XML'): Document {
  if (typeof text !== 'string') throw new XmlError(`${what} must be a string`);
  if (Buffer.byteLength(text, 'utf8') > MAX_XML_BYTES) throw new XmlError(`${what} is larger than ${MAX_XML_BYTES} bytes`);
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) throw new XmlError(`${what} contains a DTD or entity declaration, which is refused`);
  const problems: string[] = [];
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level: string, msg: string) => {
        if (level !== 'warning') problems.push(String(msg).split('\n')[0]);
      },
    }).parseFromString(text, 'text/xml');
  } catch (err) {
    throw new XmlError(`${what} is not well-formed: ${String((err as Error).message).split('\n')[0]}`);
  }
  if (problems.length) throw new XmlError(`${what} is not well-formed: ${problems[0]}`);
  if (!doc || !doc.documentElement) throw new XmlError(`${what} has no root element`);
  if (deeperThan(doc.documentElement, MAX_XML_DEPTH)) throw new XmlError(`${what} nests elements deeper than ${MAX_XML_DEPTH} levels`);
  return doc;
}

/** True when an element lies more than `max` levels below the document (walked without recursion). */
function deeperThan(root: Node, max: number): boolean {
  const stack: Array<[Node, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) return true;
    for (let c = node.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) stack.push([c, depth + 1]);
  }
  return false;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text for use in XML content or attribute values, dropping characters XML 1.0 cannot carry. */
export function escapeXml(value: unknown): string {
  const s = value === undefined || value === null ? '' : String(value);
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}
