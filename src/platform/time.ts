/**
 * The one ISO 8601 date-time parser: `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH[:MM]]`, a space or lowercase t/z
 * also accepted, no offset = UTC. Precision is milliseconds (further digits are truncated). Strict about
 * values: month 13, Feb 30, hour 24, second 60 and offsets past ±23:59 are refused with a reason.
 * Callers whose wire format is narrower or wider say so with the options.
 */

/** 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: what PostgreSQL and toISOString both hold. */
export const MIN_TIMESTAMP_MS = -62_135_596_800_000;
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

export interface IsoDateTimeOptions {
  /** Accept ',' before the fraction as well as '.' (ISO 8601 allows both). Default false. */
  decimalComma?: boolean;
  /** Accept an offset of hours only ('+02'). Default true. */
  hourOnlyOffset?: boolean;
  /** Refuse instants outside MIN_TIMESTAMP_MS..MAX_TIMESTAMP_MS. Default true. */
  bounded?: boolean;
  /** Refuse longer text. Default: no limit. */
  maxLength?: number;
}

export type ParsedTimestamp = { ok: true; value: Date } | { ok: false; reason: string };

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:([.,])(\d+))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const NOT_ISO = 'not an ISO 8601 date-time (e.g. 2024-05-01T12:00:00Z)';

export function parseIsoDateTime(text: string, options: IsoDateTimeOptions = {}): ParsedTimestamp {
  const { decimalComma = false, hourOnlyOffset = true, bounded = true, maxLength } = options;
  if (typeof text !== 'string') return { ok: false, reason: NOT_ISO };
  if (maxLength !== undefined && text.length > maxLength) {
    return { ok: false, reason: `longer than ${maxLength} characters` };
  }
  const m = ISO.exec(text);
  if (!m) return { ok: false, reason: NOT_ISO };
  const [, y, mo, d, h, mi, s, fractionMark, fraction, , sign, offsetH, offsetM] = m;
  if (fractionMark === ',' && !decimalComma) return { ok: false, reason: NOT_ISO };
  if (sign && offsetM === undefined && !hourOnlyOffset) return { ok: false, reason: NOT_ISO };
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number((fraction ?? '').padEnd(3, '0').slice(0, 3));
  if (second === 60) return { ok: false, reason: 'leap seconds are not supported' };
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, reason: 'a field is out of range' };
  }
  const offsetSign = sign === '-' ? -1 : 1;
  const offsetHours = Number(offsetH ?? 0);
  const offsetMinutes = Number(offsetM ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return { ok: false, reason: 'the UTC offset is out of range' };

  const local = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, ms);
  // Day overflow (2023-02-29 -> March 1, day 00 -> the month before) shows as another month or day.
  if (local.getUTCMonth() !== month - 1 || local.getUTCDate() !== day) {
    return { ok: false, reason: `${text.slice(0, 10)} is not a calendar date` };
  }
  const utc = local.getTime() - offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000;
  if (bounded && (utc < MIN_TIMESTAMP_MS || utc > MAX_TIMESTAMP_MS)) {
    return { ok: false, reason: 'outside 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z' };
  }
  return { ok: true, value: new Date(utc) };
}

/**
 * A time as timestamptz text for PostgreSQL. toISOString writes a year past 9999 as "+010000-…", which
 * PostgreSQL refuses ("time zone displacement out of range"); such times arise one step past the
 * largest input (a period's end + 1 ms, the next whole hour), and PostgreSQL holds them as "10000-…".
 */
export function sqlTime(d: Date): string;
export function sqlTime(d: Date | null | undefined): string | null;
export function sqlTime(d: Date | null | undefined): string | null {
  if (!d) return null;
  const s = d.toISOString();
  return s.startsWith('+') ? s.slice(1).replace(/^0+(?=\d{5})/, '') : s;
}
