import { describe, expect, it } from 'vitest';
import { MAX_TIMESTAMP_MS, parseIsoDateTime as parseTimestamp, sqlTime } from './time';

const ms = (text: string) => {
  const r = parseTimestamp(text);
  if (!r.ok) throw new Error(r.reason);
  return r.value.toISOString();
};

describe('parseTimestamp', () => {
  it('reads UTC with Z', () => {
    expect(ms('2024-05-01T12:00:00Z')).toBe('2024-05-01T12:00:00.000Z');
  });

  it('converts offsets to UTC, with or without a colon, and hour-only offsets', () => {
    expect(ms('2024-05-01T12:00:00+03:00')).toBe('2024-05-01T09:00:00.000Z');
    expect(ms('2024-05-01T12:00:00-0530')).toBe('2024-05-01T17:30:00.000Z');
    expect(ms('2024-05-01T12:00:00+02')).toBe('2024-05-01T10:00:00.000Z');
  });

  it('treats a missing offset as UTC and accepts a space or lowercase separators', () => {
    expect(ms('2024-05-01 12:00:00')).toBe('2024-05-01T12:00:00.000Z');
    expect(ms('2024-05-01t12:00:00z')).toBe('2024-05-01T12:00:00.000Z');
  });

  it('keeps milliseconds and truncates further digits', () => {
    expect(ms('2024-05-01T12:00:00.1Z')).toBe('2024-05-01T12:00:00.100Z');
    expect(ms('2024-05-01T12:00:00.123999Z')).toBe('2024-05-01T12:00:00.123Z');
  });

  it('crosses a day boundary through the offset', () => {
    expect(ms('2024-01-01T01:00:00+02:00')).toBe('2023-12-31T23:00:00.000Z');
  });

  it('handles years below 100 without mapping them to 19xx', () => {
    expect(ms('0042-03-04T00:00:00Z')).toBe('0042-03-04T00:00:00.000Z');
  });

  it.each([
    ['2024-02-30T00:00:00Z', 'calendar'],
    ['2023-02-29T00:00:00Z', 'calendar'],
    ['2024-13-01T00:00:00Z', 'range'],
    ['2024-01-01T24:00:00Z', 'range'],
    ['2024-01-01T23:59:60Z', 'leap'],
    ['2024-01-01T00:00:00+24:00', 'offset'],
    ['0000-06-01T00:00:00Z', '0001'],
    ['0001-01-01T00:00:00+01:00', '0001'],
    ['yesterday', 'ISO 8601'],
    ['2024-01-01', 'ISO 8601'],
    ['1714564800', 'ISO 8601'],
  ])('rejects %s', (text, reason) => {
    const r = parseTimestamp(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toContain(reason);
  });

  it('accepts a leap day and the range limits', () => {
    expect(ms('2024-02-29T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
    expect(ms('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
    expect(ms('9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
  });
});

describe('parseIsoDateTime options', () => {
  const reason = (text: string, options: Parameters<typeof parseTimestamp>[1]) => {
    const r = parseTimestamp(text, options);
    return r.ok ? 'ok' : r.reason;
  };

  it("accepts ',' before the fraction only when asked", () => {
    expect(reason('2024-05-01T12:00:00,5Z', {})).toContain('ISO 8601');
    expect(ms('2024-05-01T12:00:00.5Z')).toBe('2024-05-01T12:00:00.500Z');
    const r = parseTimestamp('2024-05-01T12:00:00,5Z', { decimalComma: true });
    expect(r.ok && r.value.toISOString()).toBe('2024-05-01T12:00:00.500Z');
  });

  it('refuses an hour-only offset when minutes are required', () => {
    expect(reason('2024-05-01T12:00:00+02', { hourOnlyOffset: false })).toContain('ISO 8601');
    expect(reason('2024-05-01T12:00:00+0200', { hourOnlyOffset: false })).toBe('ok');
  });

  it('lets an unbounded caller take year 0000 and instants past 9999', () => {
    expect(reason('0000-06-01T00:00:00Z', { bounded: false })).toBe('ok');
    expect(reason('9999-12-31T23:59:59-01:00', { bounded: false })).toBe('ok');
    expect(reason('9999-12-31T23:59:59-01:00', {})).toContain('9999');
  });

  it('refuses text over maxLength', () => {
    const long = `2024-05-01T12:00:00.${'1'.repeat(60)}`;
    expect(reason(long, { maxLength: 64 })).toBe('longer than 64 characters');
    expect(reason(long, {})).toBe('ok');
  });
});

describe('sqlTime', () => {
  it('writes times as toISOString does, and a year past 9999 without the "+0" PostgreSQL refuses', () => {
    expect(sqlTime(new Date('2024-05-01T12:00:00.123Z'))).toBe('2024-05-01T12:00:00.123Z');
    expect(sqlTime(new Date(MAX_TIMESTAMP_MS))).toBe('9999-12-31T23:59:59.999Z');
    expect(sqlTime(new Date(MAX_TIMESTAMP_MS + 1))).toBe('10000-01-01T00:00:00.000Z');
    expect(sqlTime(null)).toBeNull();
  });
});
