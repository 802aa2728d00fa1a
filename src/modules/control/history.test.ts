import { describe, expect, it } from 'vitest';
import { buildHistory } from './history';
import type { ControlStatus, StatusPoint } from './model';

const t = (hhmm: string) => new Date(`2024-05-01T${hhmm}:00Z`);
const pt = (hhmm: string, status: ControlStatus): StatusPoint => ({ at: t(hhmm), status });
const period = (from: string, to: string, status: ControlStatus) => ({ from: t(from), to: t(to), status });

// The task's example: five 5-minute decisions, the last one ending at 12:25.
const taskExample = [
  pt('12:00', 'up'),
  pt('12:05', 'up'),
  pt('12:10', 'up'),
  pt('12:15', 'down'),
  pt('12:20', 'down'),
];

describe('buildHistory', () => {
  it("merges the task's example into [12:00-12:15 UP] [12:15-12:25 DOWN]", () => {
    const h = buildHistory(taskExample, { before: t('12:25'), now: t('13:00') });
    expect(h).toEqual([period('12:00', '12:15', 'up'), period('12:15', '12:25', 'down')]);
  });

  it('gives the same result from change points only (what a store sends)', () => {
    const h = buildHistory([pt('12:00', 'up'), pt('12:15', 'down')], { before: t('12:25'), now: t('13:00') });
    expect(h).toEqual([period('12:00', '12:15', 'up'), period('12:15', '12:25', 'down')]);
  });

  it('clips a period that started before `after` instead of dropping it', () => {
    const h = buildHistory(taskExample, { after: t('12:07'), before: t('12:25'), now: t('13:00') });
    expect(h).toEqual([period('12:07', '12:15', 'up'), period('12:15', '12:25', 'down')]);
  });

  it('clips a period that is still running at `before`', () => {
    const h = buildHistory(taskExample, { after: t('12:00'), before: t('12:17'), now: t('13:00') });
    expect(h).toEqual([period('12:00', '12:15', 'up'), period('12:15', '12:17', 'down')]);
  });

  it('returns the one period in force when the range lies inside it', () => {
    const h = buildHistory([pt('12:00', 'up'), pt('12:15', 'down')], {
      after: t('12:03'),
      before: t('12:04'),
      now: t('13:00'),
    });
    expect(h).toEqual([period('12:03', '12:04', 'up')]);
  });

  it('ends the current period now when `before` is omitted', () => {
    const h = buildHistory(taskExample, { now: t('12:40') });
    expect(h.at(-1)).toEqual(period('12:15', '12:40', 'down'));
  });

  it('caps a future `before` at now', () => {
    const h = buildHistory(taskExample, { before: t('23:00'), now: t('12:40') });
    expect(h.at(-1)?.to).toEqual(t('12:40'));
  });

  it('ignores points at or after the range end', () => {
    const h = buildHistory(taskExample, { before: t('12:15'), now: t('13:00') });
    expect(h).toEqual([period('12:00', '12:15', 'up')]);
  });

  it('starts at the first point when nothing was in force at `after`', () => {
    const h = buildHistory([pt('12:10', 'down')], { after: t('12:00'), before: t('12:20'), now: t('13:00') });
    expect(h).toEqual([period('12:10', '12:20', 'down')]);
  });

  it('sorts unordered input', () => {
    const h = buildHistory([pt('12:15', 'down'), pt('12:00', 'up')], { before: t('12:25'), now: t('13:00') });
    expect(h).toEqual([period('12:00', '12:15', 'up'), period('12:15', '12:25', 'down')]);
  });

  it('keeps alternating statuses as separate periods', () => {
    const h = buildHistory([pt('12:00', 'up'), pt('12:05', 'down'), pt('12:10', 'up')], {
      before: t('12:15'),
      now: t('13:00'),
    });
    expect(h.map((p) => p.status)).toEqual(['up', 'down', 'up']);
  });

  it('is empty without points', () => {
    expect(buildHistory([], { after: t('12:00'), before: t('12:30'), now: t('13:00') })).toEqual([]);
  });

  it('is empty when every point is after the range', () => {
    expect(buildHistory(taskExample, { after: t('11:00'), before: t('11:30'), now: t('13:00') })).toEqual([]);
  });

  it('is empty for an empty range', () => {
    expect(buildHistory(taskExample, { after: t('12:05'), before: t('12:05'), now: t('13:00') })).toEqual([]);
  });

  it('rejects after > before', () => {
    expect(() =>
      buildHistory(taskExample, { after: t('12:10'), before: t('12:05'), now: t('13:00') }),
    ).toThrow(RangeError);
  });
});
