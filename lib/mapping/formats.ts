/**
 * Normalisation of values into the lexical forms the SF2900 contract and the KP form schemas fix:
 * CVR (8 digits), KLE (dd.dd.dd), handling facet (letter + 2 digits), lower-case UUIDs, CPR (10 digits),
 * `urn:oio:cvr-nr:` / `urn:oio:cpr:` URNs, xs:date and xs:dateTime with an explicit offset.
 * Pure functions, no Node-RED. Each throws a FormatError with a message that does not echo CPR numbers.
 */

export class FormatError extends Error {
  override name = 'FormatError';
}

/** Time zone used for dates and for the offset of date-times (Danish authorities). */
export const DEFAULT_TIME_ZONE = 'Europe/Copenhagen';

function text(v: unknown, what: string): string {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw new FormatError(`${what} must be text, got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`);
  return v.trim();
}

/** CVR number → 8 digits. Accepts spaces, a `DK` prefix and a `urn:oio:cvr-nr:` prefix. */
export function normaliseCvr(v: unknown, what = 'CVR number'): string {
  const s = text(v, what)
    .replace(/^urn:oio:cvr-nr:/i, '')
    .replace(/^DK/i, '')
    .replace(/[\s-]/g, '');
  if (!/^[0-9]{8}$/.test(s)) throw new FormatError(`${what} must be 8 digits, got "${shown(text(v, what))}"`);
  return s;
}

/** `urn:oio:cvr-nr:` + 8 digits. */
export function cvrUrn(v: unknown, what = 'CVR number'): string {
  return `urn:oio:cvr-nr:${normaliseCvr(v, what)}`;
}

/** CPR number → 10 digits (accepts `ddmmyy-xxxx`, spaces, a `urn:oio:cpr:` prefix). Never echoes the value. */
export function normaliseCpr(v: unknown, what = 'CPR number'): string {
  const s = text(v, what)
    .replace(/^urn:oio:cpr:/i, '')
    .replace(/[\s-]/g, '');
  if (!/^[0-9]{10}$/.test(s)) throw new FormatError(`${what} must be 10 digits`);
  return s;
}

/** `urn:oio:cpr:` + 10 digits (22 characters, as the KP form schemas require). */
export function cprUrn(v: unknown, what = 'CPR number'): string {
  return `urn:oio:cpr:${normaliseCpr(v, what)}`;
}

/** KLE subject → dd.dd.dd. Accepts `320312`, `32 03 12`, `32-3-12`, `32.3.12`. */
export function normaliseKle(v: unknown, what = 'KLE'): string {
  const s = text(v, what);
  let m = /^([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(s);
  if (!m) m = /^([0-9]{1,2})[.\s-]+([0-9]{1,2})[.\s-]+([0-9]{1,2})$/.exec(s);
  if (!m) throw new FormatError(`${what} must look like dd.dd.dd (e.g. 32.03.12), got "${shown(s)}"`);
  return [m[1], m[2], m[3]].map((p) => p.padStart(2, '0')).join('.');
}

/** Handling facet → upper-case letter (A–Z, Æ, Ø, Å) + 2 digits, e.g. G01. */
export function normaliseHandlingFacet(v: unknown, what = 'handling facet'): string {
  const s = text(v, what).replace(/\s/g, '').toUpperCase();
  if (!/^[A-ZÆØÅ][0-9]{2}$/.test(s)) throw new FormatError(`${what} must be a letter and two digits (e.g. G01), got "${shown(s)}"`);
  return s;
}

/** UUID → lower case. Accepts surrounding braces and a `urn:uuid:` prefix. */
export function normaliseUuid(v: unknown, what = 'UUID'): string {
  const s = text(v, what)
    .replace(/^urn:uuid:/i, '')
    .replace(/^\{(.*)\}$/, '$1');
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)) {
    throw new FormatError(`${what} must be a UUID (8-4-4-4-12 hex digits), got "${shown(s, 60)}"`);
  }
  return s.toLowerCase();
}

/**
 * Reads an instant: a Date, epoch milliseconds (number), Unix seconds (digit string of ≤ 11 digits),
 * or an ISO 8601 / RFC 2822 string. A date without time (YYYY-MM-DD) means midnight in `timeZone`.
 */
export function toInstant(v: unknown, what = 'date', timeZone = DEFAULT_TIME_ZONE): Date {
  let d: Date | undefined;
  if (v instanceof Date) d = new Date(v.getTime());
  else if (typeof v === 'number' && Number.isFinite(v)) d = new Date(v);
  else if (typeof v === 'string') {
    const s = v.trim();
    if (/^-?[0-9]{1,11}$/.test(s)) d = new Date(Number(s) * 1000);
    else if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(s)) {
      const [y, mo, da] = s.split('-').map(Number);
      const utcMidnight = Date.UTC(y, mo - 1, da);
      d = new Date(utcMidnight - offsetMinutes(new Date(utcMidnight), timeZone) * 60000);
      if (formatDate(d, timeZone) !== s) d = undefined; // e.g. 2026-02-30
    } else if (s) d = new Date(s);
  }
  if (!d || Number.isNaN(d.getTime())) throw new FormatError(`${what} is not a date or time: "${shown(String(v))}"`);
  if (d.getTime() < FIRST_INSTANT || d.getTime() > LAST_INSTANT) throw new FormatError(`${what} is not in the years 0001–9999: "${shown(String(v))}"`);
  return d;
}

/** Instants whose date has four digits in every time zone (xs:date / xs:dateTime as the forms need them). */
const FIRST_INSTANT = Date.parse('0001-01-02T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-30T23:59:59Z');

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The wall-clock fields of `d` in `timeZone`, from Intl (the time zone database). */
function intlParts(d: Date, timeZone: string): Record<string, string> {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(d)) out[p.type] = p.value;
  return out;
}

/** How far `timeZone`'s wall clock is ahead of UTC at `d`, in ms, straight from Intl. */
function intlOffsetMs(d: Date, timeZone: string): number {
  const p = intlParts(d, timeZone);
  const wall = new Date(Date.UTC(2000, 0, 1, +p.hour, +p.minute, +p.second));
  wall.setUTCFullYear(+p.year, +p.month - 1, +p.day); // not Date.UTC(year, …): it reads the years 0–99 as 1900–1999
  return wall.getTime() - Math.floor(d.getTime() / 1000) * 1000;
}

/**
 * The offset, cached per time zone and quarter hour. `formatToParts` was 54 % of mapping a submission (5–7 calls per
 * message, bench/map.bench.ts); a zone's offset changes only at its transitions, which fall on quarter hours in every
 * zone of today's database. A quarter hour is cached only when its first and last second agree, so a transition
 * anywhere inside one (old local mean times) is still read from Intl every time.
 */
const SLOT_MS = 15 * 60_000;
const offsetCache = new Map<string, Map<number, number>>();
function offsetMs(d: Date, timeZone: string): number {
  const slot = Math.floor(d.getTime() / SLOT_MS);
  let zone = offsetCache.get(timeZone);
  if (!zone) offsetCache.set(timeZone, (zone = new Map()));
  const known = zone.get(slot);
  if (known !== undefined) return known;
  const start = new Date(slot * SLOT_MS);
  const first = intlOffsetMs(start, timeZone);
  if (first !== intlOffsetMs(new Date(start.getTime() + SLOT_MS - 1000), timeZone)) return intlOffsetMs(d, timeZone);
  if (zone.size >= 4096) zone.clear(); // bounded: a month of quarter hours, more than any run of messages needs
  zone.set(slot, first);
  return first;
}

const two = (n: number) => String(n).padStart(2, '0');

/** The wall-clock fields of `d` in `timeZone` (whole seconds). */
function parts(d: Date, timeZone: string): { year: string; month: string; day: string; hour: string; minute: string; second: string } {
  const local = new Date(Math.floor(d.getTime() / 1000) * 1000 + offsetMs(d, timeZone));
  return {
    year: String(local.getUTCFullYear()).padStart(4, '0'),
    month: two(local.getUTCMonth() + 1),
    day: two(local.getUTCDate()),
    hour: two(local.getUTCHours()),
    minute: two(local.getUTCMinutes()),
    second: two(local.getUTCSeconds()),
  };
}

/** The offset of `timeZone` from UTC at instant `d`, in minutes (Copenhagen: 60 or 120). */
export function offsetMinutes(d: Date, timeZone = DEFAULT_TIME_ZONE): number {
  return Math.round(offsetMs(d, timeZone) / 60000);
}

/** xs:date (YYYY-MM-DD) of the instant in `timeZone`. */
export function formatDate(d: Date, timeZone = DEFAULT_TIME_ZONE): string {
  const p = parts(d, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** The last date-time formatted: messages of one second share it (0.7 µs a call otherwise, bench/map.bench.ts). */
let lastDateTime: { second: number; timeZone: string; text: string } | undefined;

/** xs:dateTime with offset, seconds precision, e.g. 2026-11-22T08:15:00+01:00. */
export function formatDateTime(d: Date, timeZone = DEFAULT_TIME_ZONE): string {
  const second = Math.floor(d.getTime() / 1000);
  if (lastDateTime && lastDateTime.second === second && lastDateTime.timeZone === timeZone) return lastDateTime.text;
  const text = formatDateTimeOf(d, timeZone);
  if (!Number.isNaN(second)) lastDateTime = { second, timeZone, text };
  return text;
}

function formatDateTimeOf(d: Date, timeZone: string): string {
  const p = parts(d, timeZone);
  const off = offsetMinutes(d, timeZone);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

/** Any readable date/time → xs:date in `timeZone`. */
export function toDate(v: unknown, what = 'date', timeZone = DEFAULT_TIME_ZONE): string {
  return formatDate(toInstant(v, what, timeZone), timeZone);
}

/** Any readable date/time → xs:dateTime with offset in `timeZone`. */
export function toDateTime(v: unknown, what = 'date-time', timeZone = DEFAULT_TIME_ZONE): string {
  return formatDateTime(toInstant(v, what, timeZone), timeZone);
}

/** A decimal with exactly two fraction digits (KP schemas' amounts); accepts a Danish decimal comma. */
export function toDecimal2(v: unknown, what = 'amount'): string {
  let s = text(v, what).replace(/\s/g, '');
  if (/^-?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?$/.test(s)) s = s.replace(/\./g, '');
  s = s.replace(',', '.');
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(s)) throw new FormatError(`${what} must be a number, got "${shown(s)}"`);
  // Beyond this a double has no exact cents (and toFixed writes 1e+21 from 10^21 on): refuse rather than alter the amount.
  if (Math.abs(Number(s)) * 100 > Number.MAX_SAFE_INTEGER) throw new FormatError(`${what} is too large, got "${shown(s)}"`);
  return (Math.round(Number(s) * 100) / 100).toFixed(2);
}

/** Folds Danish letters and case so that e.g. "udgående" matches "Udgaaende". */
export function foldDanish(s: string): string {
  return s
    .toLowerCase()
    .replace(/æ/g, 'ae')
    .replace(/ø/g, 'oe')
    .replace(/å/g, 'aa')
    .replace(/[\s_-]/g, '');
}

/** Matches a value against a closed list (case and Danish letters folded) and returns the canonical spelling. */
export function oneOf(v: unknown, allowed: readonly string[], what: string): string {
  const s = text(v, what);
  const f = foldDanish(s);
  const hit = allowed.find((a) => foldDanish(a) === f);
  if (!hit) throw new FormatError(`${what} must be one of ${allowed.join(', ')}; got "${shown(s)}"`);
  return hit;
}

export function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A value as it may appear in an error message: shortened, and anything shaped like a CPR number masked. */
export function shown(s: string, max = 40): string {
  return truncate(s.replace(/[0-9]{6}-?[0-9]{4}/g, '<10 digits>'), max);
}

export const DOCUMENT_TYPES = ['Faktura', 'Brev', 'Notat', 'Rapport', 'Dagsorden', 'Refereat', 'eMail', 'Anden'] as const;
export const DIRECTIONS = ['Indgaaende', 'Udgaaende', 'InterntInd', 'InterntUd', 'Internt'] as const;
export const PROGRESS_STATES = ['Modtaget', 'Fordelt', 'UnderUdarbejdelse', 'UnderReview', 'Endeligt', 'Afleveret'] as const;
