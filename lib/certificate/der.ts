/**
 * A minimal DER/BER reader: just enough ASN.1 to walk a PKCS#12 file.
 * Supports definite and indefinite lengths and constructed strings (BER as some Windows exports produce).
 */

export class Asn1Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Asn1Error';
  }
}

export interface Asn1Node {
  /** The identifier octet (class, constructed bit and tag number < 31). */
  tag: number;
  constructed: boolean;
  /** The content octets (for constructed nodes: the encoded children). */
  value: Buffer;
  /** The complete encoding, header included. */
  raw: Buffer;
  children: Asn1Node[];
}

export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  CTX0: 0xa0,
  CTX0_PRIMITIVE: 0x80,
} as const;

const MAX_DEPTH = 64;

/** Parses one ASN.1 element from `buf` starting at `offset`. */
export function readAsn1(buf: Buffer, offset = 0, depth = 0): { node: Asn1Node; end: number } {
  if (depth > MAX_DEPTH) throw new Asn1Error('ASN.1 nesting too deep');
  if (offset + 2 > buf.length) throw new Asn1Error('ASN.1 data truncated');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error('ASN.1 high tag numbers are not supported');
  const constructed = (tag & 0x20) !== 0;
  let pos = offset + 1;
  const first = buf[pos++];
  if (first === 0x80) {
    // Indefinite length: children until end-of-contents (00 00).
    if (!constructed) throw new Asn1Error('ASN.1 indefinite length on a primitive element');
    const children: Asn1Node[] = [];
    const start = pos;
    for (;;) {
      if (pos + 2 > buf.length) throw new Asn1Error('ASN.1 data truncated');
      if (buf[pos] === 0 && buf[pos + 1] === 0) break;
      const { node, end } = readAsn1(buf, pos, depth + 1);
      children.push(node);
      pos = end;
    }
    const value = buf.subarray(start, pos);
    return { node: { tag, constructed, value, raw: buf.subarray(offset, pos + 2), children }, end: pos + 2 };
  }
  let length = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n > 4) throw new Asn1Error('ASN.1 length too large');
    length = 0;
    for (let i = 0; i < n; i++) {
      if (pos >= buf.length) throw new Asn1Error('ASN.1 data truncated');
      length = length * 256 + buf[pos++];
    }
  }
  const end = pos + length;
  if (end > buf.length) throw new Asn1Error('ASN.1 data truncated');
  const value = buf.subarray(pos, end);
  const children: Asn1Node[] = [];
  if (constructed) {
    let p = 0;
    while (p < value.length) {
      const child = readAsn1(value, p, depth + 1);
      children.push(child.node);
      p = child.end;
    }
  }
  return { node: { tag, constructed, value, raw: buf.subarray(offset, end), children }, end };
}

/** Parses a buffer that must hold exactly one element. */
export function parseAsn1(buf: Buffer): Asn1Node {
  const { node, end } = readAsn1(buf, 0);
  if (end !== buf.length) throw new Asn1Error('trailing data after ASN.1 element');
  return node;
}

export function expect(node: Asn1Node | undefined, tag: number, what: string): Asn1Node {
  if (!node || node.tag !== tag) throw new Asn1Error(`${what}: unexpected ASN.1 structure`);
  return node;
}

/** The bytes of an OCTET STRING, also when it is BER-constructed from segments. */
export function octets(node: Asn1Node, what = 'OCTET STRING'): Buffer {
  if (!node.constructed) return node.value;
  return Buffer.concat(node.children.map((c) => octets(c, what)));
}

export function oid(node: Asn1Node | undefined): string {
  const n = expect(node, TAG.OID, 'object identifier');
  const v = n.value;
  if (!v.length) throw new Asn1Error('empty object identifier');
  const parts: number[] = [];
  let acc = 0;
  for (const b of v) {
    acc = acc * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  const first = parts.shift() as number;
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - a * 40, ...parts].join('.');
}

export function integer(node: Asn1Node | undefined): number {
  const n = expect(node, TAG.INTEGER, 'integer');
  if (n.value.length > 6) throw new Asn1Error('integer too large');
  let v = 0;
  for (const b of n.value) v = v * 256 + b;
  return v;
}
