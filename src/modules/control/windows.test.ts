import { describe, expect, it } from 'vitest';
import {
  currentWindowStart,
  decisionWindows,
  formatTaskDatetime,
  isOutdated,
  nextDecisionAt,
  parseSensorDatetime,
  windowFor,
} from './windows';

const I = 5000;
const at = (iso: string) => new Date(iso);

describe('windowFor', () => {
  it('aligns windows to multiples of the interval on the UTC clock', () => {
    const w = windowFor(at('2024-05-01T12:00:07.300Z'), I);
    expect(w.start.toISOString()).toBe('2024-05-01T12:00:05.000Z');
    expect(w.end.toISOString()).toBe('2024-05-01T12:00:10.000Z');
  });

  it('puts a time exactly on a boundary into the window that starts there', () => {
    const w = windowFor(at('2024-05-01T12:00:10.000Z'), I);
    expect(w.start.toISOString()).toBe('2024-05-01T12:00:10.000Z');
  });

  it('puts the last millisecond before a boundary into the earlier window', () => {
    const w = windowFor(at('2024-05-01T12:00:09.999Z'), I);
    expect(w.start.toISOString()).toBe('2024-05-01T12:00:05.000Z');
  });

  it('aligns before 1970 too (floor, not truncation)', () => {
    expect(windowFor(-1, I).start.getTime()).toBe(-5000);
  });

  it('rejects a non-positive or fractional interval', () => {
    expect(() => windowFor(0, 0)).toThrow(RangeError);
    expect(() => windowFor(0, 2.5)).toThrow(RangeError);
  });
});

describe('decision times', () => {
  it('currentWindowStart is the last aligned decision time at or before now', () => {
    expect(currentWindowStart(at('2024-05-01T12:00:04.999Z'), I).toISOString()).toBe(
      '2024-05-01T12:00:00.000Z',
    );
    expect(currentWindowStart(at('2024-05-01T12:00:05.000Z'), I).toISOString()).toBe(
      '2024-05-01T12:00:05.000Z',
    );
  });

  it('nextDecisionAt is strictly after now, even when now is exactly a decision time', () => {
    expect(nextDecisionAt(at('2024-05-01T12:00:05.000Z'), I).toISOString()).toBe('2024-05-01T12:00:10.000Z');
    expect(nextDecisionAt(at('2024-05-01T12:00:09.999Z'), I).toISOString()).toBe('2024-05-01T12:00:10.000Z');
  });

  it('a decision compares the window that just closed with the one before it', () => {
    // The loop woke 12 ms late; it must still judge [12:00:05, 12:00:10) against [12:00:00, 12:00:05).
    const { prev, curr } = decisionWindows(at('2024-05-01T12:00:10.012Z'), I);
    expect(curr.start.toISOString()).toBe('2024-05-01T12:00:05.000Z');
    expect(curr.end.toISOString()).toBe('2024-05-01T12:00:10.000Z');
    expect(prev.start.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(prev.end.toISOString()).toBe('2024-05-01T12:00:05.000Z');
  });
});

describe('isOutdated (fake clock)', () => {
  const now = at('2024-05-01T12:00:07.000Z'); // last decision at 12:00:05

  it('a reading created before the last decision is outdated', () => {
    expect(isOutdated(at('2024-05-01T12:00:04.999Z'), now, I)).toBe(true);
  });

  it('a reading created exactly at the last decision is not outdated', () => {
    expect(isOutdated(at('2024-05-01T12:00:05.000Z'), now, I)).toBe(false);
  });

  it('a reading from the future is not outdated (clock skew is not our call to punish here)', () => {
    expect(isOutdated(at('2024-05-01T12:00:30.000Z'), now, I)).toBe(false);
  });

  it('a second-precision datetime of the current second counts for the current window', () => {
    const reading = parseSensorDatetime('2024-05-01T12:00:05')!;
    expect(isOutdated(reading, at('2024-05-01T12:00:05.800Z'), I)).toBe(false);
  });
});

describe('parseSensorDatetime', () => {
  it.each([
    ['2024-05-01T12:00:05', '2024-05-01T12:00:05.000Z'],
    ['2024-05-01T12:00:05.123', '2024-05-01T12:00:05.123Z'],
    ['2024-05-01T12:00:05.5', '2024-05-01T12:00:05.500Z'],
    ['2024-05-01T12:00:05.123456', '2024-05-01T12:00:05.123Z'],
    ['2024-05-01T12:00:05Z', '2024-05-01T12:00:05.000Z'],
    ['2024-05-01T12:00:05.250Z', '2024-05-01T12:00:05.250Z'],
    ['2024-05-01T14:00:05+02:00', '2024-05-01T12:00:05.000Z'],
    ['2024-05-01T09:30:05-0230', '2024-05-01T12:00:05.000Z'],
    ['2024-05-01 12:00:05', '2024-05-01T12:00:05.000Z'],
    ['2024-02-29T00:00:00', '2024-02-29T00:00:00.000Z'],
    ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'],
  ])('parses %s as %s (no offset = UTC)', (input, expected) => {
    expect(parseSensorDatetime(input)?.toISOString()).toBe(expected);
  });

  it.each([
    '2024-13-01T00:00:00',
    '2024-00-10T00:00:00',
    '2023-02-29T00:00:00',
    '2024-04-31T00:00:00',
    '2024-05-01T24:00:00',
    '2024-05-01T12:60:00',
    '2024-05-01T12:00:60',
    '2024-05-01',
    '2024-05-01T12:00',
    '2024-05-01T12:00:05+25:00',
    '2024-05-01T12:00:05.',
    '2024-05-01T12:00:05 ',
    'garbage',
    '',
    '1714564805',
  ])('rejects %j', (input) => {
    expect(parseSensorDatetime(input)).toBeNull();
  });
});

describe('formatTaskDatetime', () => {
  it('formats in UTC without fraction by default', () => {
    expect(formatTaskDatetime(at('2024-05-01T12:00:05.678Z'))).toBe('2024-05-01T12:00:05');
  });

  it('adds milliseconds when asked', () => {
    expect(formatTaskDatetime(at('2024-05-01T12:00:05.078Z'), true)).toBe('2024-05-01T12:00:05.078');
  });

  it('round-trips through the parser', () => {
    const d = at('2024-05-01T12:00:05.078Z');
    expect(parseSensorDatetime(formatTaskDatetime(d, true))?.getTime()).toBe(d.getTime());
  });
});
