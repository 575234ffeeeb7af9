/**
 * Masking CPR numbers in text that leaves the process (status texts, errors, the overview, audit exports).
 * One detection rule for the whole package: a CPR number is ddmmyy-xxxx or ddmmyyxxxx standing alone — not part
 * of a longer number and not inside a UUID or other hex/alphanumeric run — or the value of a urn:oio:cpr: URN.
 */

const CPR_URN = /urn:oio:cpr:([0-3][0-9][01][0-9][0-9]{2})-?[0-9]{4}/gi;
const CPR = /(?<![0-9A-Za-z])([0-3][0-9][01][0-9][0-9]{2})-?[0-9]{4}(?![0-9A-Za-z])/g;

export interface MaskOptions {
  /**
   * Keep the date part (`ddmmyy-XXXX`), as the audit export does so a case worker can tell records apart;
   * by default the whole number becomes `******-****`.
   */
  keepBirthDate?: boolean;
}

export function maskCpr(text: string, opts: MaskOptions = {}): string {
  const masked = (date: string) => (opts.keepBirthDate ? `${date}-XXXX` : '******-****');
  return text.replace(CPR_URN, (_m, date: string) => `urn:oio:cpr:${masked(date)}`).replace(CPR, (_m, date: string) => masked(date));
}

/** maskCpr applied to every string inside a JSON-like value (a copy; the input is not changed). */
export function maskCprDeep<T>(value: T, opts?: MaskOptions): T {
  if (typeof value === 'string') return maskCpr(value, opts) as unknown as T;
  if (Array.isArray(value)) return value.map((v) => maskCprDeep(v, opts)) as unknown as T;
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskCprDeep(v, opts);
    return out as T;
  }
  return value;
}
