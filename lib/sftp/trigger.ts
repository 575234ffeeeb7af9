/**
 * The `.trigger` XML (SFTPTypes.xsd: Trigger = FileDescriptor + FileContentDescriptor/SFTPDynamicRoutingInfo).
 * Only Trigger is a global element; the schemas have no elementFormDefault, so every child is unqualified
 * (no namespace) — hence the prefixed root.
 */
import { escapeXml } from '../xml/safe-xml';

export const SFTP_NS = 'http://serviceplatformen.dk/xml/wsdl/soap11/SFTP/1/types';
/** Recipients value for dynamic routing (the platform routes by SFTPDynamicRoutingInfo). */
export const DYNAMIC_ROUTING_RECIPIENT = 'ROUTING_V1_0_0';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface DynamicRouting {
  /** InfRef: the file specification agreed with the receiver, e.g. HelbredstillægAnsøgningBilag_1. */
  infRef: string;
  /** SenderIt-system: our IT-system's UUID (lower-cased here). */
  senderSystemUuid: string;
  /** SenderAuthority: our CVR (8 digits, or already as urn:oio:cvr-nr:…). */
  senderCvr: string;
  /** TransactionId (UUID). */
  transactionId: string;
  /** SenderTimestamp; default now. */
  senderTimestamp?: Date | string;
  /** RecipientIt-system (UUID), when known (e.g. from FordelingsmodtagerList). */
  recipientSystemUuid?: string;
  /** RecipientAuthority: the receiving authority's CVR. */
  recipientCvr: string;
  /** RouteParameterList: RouteSelectionValueDate (YYYY-MM-DD) and/or ready-made RouteParameter content elements. */
  routeParameters?: { selectionDate?: string; xml?: string[] };
}

export interface TriggerInput {
  /** FileDescriptor/FileName: the uploaded file's name in OUT (≤ 255). */
  fileName: string;
  /** FileDescriptor/SizeInBytes: the exact size of the uploaded file. */
  sizeInBytes: number;
  /** FileDescriptor/Sender: our SFTP user name. */
  sender: string;
  /** FileDescriptor/SendersFileId: our id of the file (e.g. the Drupal file UUID), ≤ 255. */
  sendersFileId?: string;
  /** FileDescriptor/Recipients; default [ROUTING_V1_0_0] (dynamic routing). */
  recipients?: string[];
  routing: DynamicRouting;
}

function uuid(value: string, what: string): string {
  const v = String(value ?? '')
    .trim()
    .toLowerCase();
  if (!UUID.test(v)) throw new Error(`trigger ${what} must be a UUID, got ${JSON.stringify(String(value ?? '').slice(0, 60))}`);
  return v;
}

function cvrUrn(value: string, what: string): string {
  const v = String(value ?? '')
    .trim()
    .replace(/^urn:oio:cvr-nr:/i, '');
  if (!/^[0-9]{8}$/.test(v)) throw new Error(`trigger ${what} must be a CVR number (8 digits)`);
  return `urn:oio:cvr-nr:${v}`;
}

/** What XML cannot carry unchanged (escapeXml would drop it, a parser would turn CR into LF, UTF-8 cannot encode it). */
const NOT_XML_TEXT = /[\u0000-\u0008\u000B\u000C\u000D\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function bounded(value: string, what: string, max = 255): string {
  const v = String(value ?? '');
  if (!v.trim()) throw new Error(`trigger ${what} is required`);
  if (v.length > max) throw new Error(`trigger ${what} is longer than ${max} characters`);
  const bad = NOT_XML_TEXT.exec(v);
  if (bad) throw new Error(`trigger ${what} holds a character a trigger cannot carry (U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`);
  return v;
}

/** A real calendar day of the years 0001–9999 (xs:date / xs:dateTime). */
function isCalendarDay(y: number, m: number, d: number): boolean {
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  return y >= 1 && y <= 9999 && days !== undefined && d >= 1 && d <= days;
}

function timestamp(value: Date | string | undefined): string {
  if (value === undefined) return new Date().toISOString();
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error('trigger SenderTimestamp is not a valid date');
    const year = value.getUTCFullYear();
    if (year < 1 || year > 9999) throw new Error('trigger SenderTimestamp must lie in the years 0001–9999');
    return value.toISOString();
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(value);
  const n = (i: number) => Number(m?.[i] ?? 0);
  if (!m || !isCalendarDay(n(1), n(2), n(3)) || n(4) > 23 || n(5) > 59 || n(6) > 59 || n(10) > 59 || n(9) * 60 + n(10) > 14 * 60) {
    throw new Error('trigger SenderTimestamp must be an xs:dateTime with offset');
  }
  return value;
}

/** Builds the trigger document (with XML declaration). Throws a clear Error for input the schema would refuse. */
export function buildTrigger(t: TriggerInput): string {
  const fileName = bounded(t.fileName, 'FileName');
  if (!Number.isSafeInteger(t.sizeInBytes) || t.sizeInBytes < 0) throw new Error('trigger SizeInBytes must be a non-negative integer');
  const sender = bounded(t.sender, 'Sender (SFTP user)');
  const recipients = (t.recipients && t.recipients.length ? t.recipients : [DYNAMIC_ROUTING_RECIPIENT]).map((r) => bounded(r, 'Recipients'));
  const r = t.routing;
  const lines: string[] = [];
  lines.push('<?xml version="1.0" encoding="UTF-8"?>');
  lines.push(`<sftp:Trigger xmlns:sftp="${SFTP_NS}">`);
  lines.push('  <FileDescriptor>');
  lines.push(`    <FileName>${escapeXml(fileName)}</FileName>`);
  lines.push(`    <SizeInBytes>${t.sizeInBytes}</SizeInBytes>`);
  lines.push(`    <Sender>${escapeXml(sender)}</Sender>`);
  if (t.sendersFileId !== undefined && t.sendersFileId !== '')
    lines.push(`    <SendersFileId>${escapeXml(bounded(t.sendersFileId, 'SendersFileId'))}</SendersFileId>`);
  for (const rec of recipients) lines.push(`    <Recipients>${escapeXml(rec)}</Recipients>`);
  lines.push('  </FileDescriptor>');
  lines.push('  <FileContentDescriptor>');
  lines.push('    <SFTPDynamicRoutingInfo>');
  lines.push(`      <InfRef>${escapeXml(bounded(r.infRef, 'InfRef (file specification)', 1000))}</InfRef>`);
  lines.push(`      <SenderIt-system>${uuid(r.senderSystemUuid, 'SenderIt-system')}</SenderIt-system>`);
  lines.push(`      <SenderAuthority>${cvrUrn(r.senderCvr, 'SenderAuthority')}</SenderAuthority>`);
  lines.push(`      <TransactionId>${uuid(r.transactionId, 'TransactionId')}</TransactionId>`);
  lines.push(`      <SenderTimestamp>${escapeXml(timestamp(r.senderTimestamp))}</SenderTimestamp>`);
  if (r.recipientSystemUuid) lines.push(`      <RecipientIt-system>${uuid(r.recipientSystemUuid, 'RecipientIt-system')}</RecipientIt-system>`);
  lines.push(`      <RecipientAuthority>${cvrUrn(r.recipientCvr, 'RecipientAuthority')}</RecipientAuthority>`);
  const params: string[] = [];
  if (r.routeParameters?.selectionDate !== undefined) {
    const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(r.routeParameters.selectionDate);
    if (!d || !isCalendarDay(Number(d[1]), Number(d[2]), Number(d[3]))) throw new Error('trigger RouteSelectionValueDate must be YYYY-MM-DD');
    params.push(`<sftp:RouteSelectionValueDate>${r.routeParameters.selectionDate}</sftp:RouteSelectionValueDate>`);
  }
  for (const x of r.routeParameters?.xml ?? []) params.push(x);
  if (params.length) {
    lines.push('      <RouteParameterList>');
    for (const p of params) lines.push(`        <RouteParameter>${p}</RouteParameter>`);
    lines.push('      </RouteParameterList>');
  }
  lines.push('    </SFTPDynamicRoutingInfo>');
  lines.push('  </FileContentDescriptor>');
  lines.push('</sftp:Trigger>');
  return lines.join('\n') + '\n';
}
