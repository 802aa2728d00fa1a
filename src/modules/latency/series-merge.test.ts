/** Merged statistics of an experiment's segments: exact histogram merges, series merged per second. */
import normal from '@stdlib/random-base-normal';
import { describe, expect, it } from 'vitest';
import { createLatencyHistogram, encodeHistogram, recordMs, summarizeHistogram } from '../../stats/histogram';
import { mergePoints, mergeSeries, type SegmentPoint } from './series-merge';

describe('merged statistics', () => {
  const point = (segment: number, second: number, samples: number[], ts: Date): SegmentPoint => {
    const h = createLatencyHistogram();
    for (const ms of samples) recordMs(h, ms);
    return {
      second,
      segment,
      ts,
      durationMs: 1000,
      profileIndex: 0,
      elapsedInProfileMs: 1000,
      requests: samples.length,
      successes: samples.length,
      failures: 0,
      late: 0,
      dropped: 0,
      statusCodes: { '200': samples.length },
      failuresByKind: {},
      latency: summarizeHistogram(h),
      rawLatency: null,
      histogram: encodeHistogram(h),
      rawHistogram: null,
    };
  };

  it('equal those of one histogram filled with the same samples', () => {
    const random = normal.factory({ seed: 7 });
    const samples = [0, 1, 2].map(() =>
      Array.from({ length: 500 }, () => Math.max(0.05, Math.abs(random(40, 25)))),
    );
    const start = new Date('2030-01-01T00:00:00.000Z');
    const merged = mergePoints(samples.map((s, i) => point(i, 0, s, start)));
    const one = createLatencyHistogram();
    for (const s of samples) for (const ms of s) recordMs(one, ms);
    expect(merged.latency).toEqual(summarizeHistogram(one));
    expect(merged.requests).toBe(1500);
    expect(merged.statusCodes).toEqual({ '200': 1500 });
  });

  it('a series merges the points of one second and profile, in order', () => {
    const start = new Date('2030-01-01T00:00:00.000Z');
    const at = (ms: number) => new Date(start.getTime() + ms);
    const points = [
      point(0, 0, [1, 2], at(3)),
      point(1, 1, [3], at(8)),
      point(0, 2, [4, 5, 6], at(1004)),
      point(1, 3, [7], at(1009)),
    ];
    const series = mergeSeries(points, start);
    expect(series.map((p) => [p.second, p.requests])).toEqual([
      [0, 3],
      [1, 4],
    ]);
    expect(series[1]!.latency.max).toBeCloseTo(7, 1);
  });
});
