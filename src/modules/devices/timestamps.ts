/**
 * ISO 8601 timestamps as the API accepts them: `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH[:MM]]` (a space or
 * lowercase t/z also accepted; no offset = UTC, as the original's naive datetimes were).
 * The route schemas check the shape with ajv's `iso-date-time`; this turns it into a Date and
 * rejects what PostgreSQL cannot hold or a Date cannot say exactly: years outside 0001-9999, leap
 * seconds. Precision is milliseconds (further digits are truncated), as everywhere in the module.
 */

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/** 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
export const MIN_TIMESTAMP_MS = -62_135_596_800_000;
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

export type ParsedTimestamp = { ok: true; value: Date } | { ok: false; reason: string };

export function parseTimestamp(text: string): ParsedTimestamp {
  const m = ISO.exec(text);
  if (!m) return { ok: false, reason: 'not an ISO 8601 date-time (e.g. 2024-05-01T12:00:00Z)' };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (second === 60) return { ok: false, reason: 'leap seconds are not supported' };
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, reason: 'a field is out of range' };
  }
  const offsetSign = m[9] === '-' ? -1 : 1;
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return { ok: false, reason: 'the UTC offset is out of range' };

  const local = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, ms);
  if (local.getUTCMonth() !== month - 1 || local.getUTCDate() !== day) {
    return { ok: false, reason: `${text.slice(0, 10)} is not a calendar date` };
  }
  const utc = local.getTime() - offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000;
  if (utc < MIN_TIMESTAMP_MS || utc > MAX_TIMESTAMP_MS) {
    return { ok: false, reason: 'outside 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z' };
  }
  return { ok: true, value: new Date(utc) };
}
