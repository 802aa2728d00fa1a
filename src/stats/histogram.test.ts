import { describe, expect, it } from 'vitest';
import {
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  mergeInto,
  recordMs,
  summarizeHistogram,
} from './histogram';

describe('latency histogram', () => {
  it('summarizes known values in milliseconds', () => {
    const h = createLatencyHistogram();
    for (let ms = 1; ms <= 100; ms++) recordMs(h, ms);
    const s = summarizeHistogram(h);
    expect(s.count).toBe(100);
    expect(s.min).toBe(1);
    // 3 significant digits: each value is reported within 0.1 % of the recorded one.
    expect(s.p50).toBeCloseTo(50, 1);
    expect(s.p90).toBeCloseTo(90, 1);
    expect(s.p99).toBeCloseTo(99, 1);
    expect(s.max).toBeCloseTo(100, 1);
    expect(s.mean).toBeCloseTo(50.5, 1);
  });

  it('summarizes an empty histogram as zeros', () => {
    expect(summarizeHistogram(createLatencyHistogram())).toEqual({
      count: 0,
      min: 0,
      mean: 0,
      max: 0,
      p50: 0,
      p90: 0,
      p99: 0,
      p999: 0,
    });
  });

  it('clamps values outside 1 µs..60 s instead of throwing', () => {
    const h = createLatencyHistogram();
    recordMs(h, 0);
    recordMs(h, 120_000);
    const s = summarizeHistogram(h);
    expect(s.count).toBe(2);
    expect(s.min).toBe(0.001);
    expect(s.max).toBeGreaterThanOrEqual(60_000);
    expect(s.max).toBeLessThan(60_100);
  });

  it('merging two histograms gives the same statistics as recording all values into one', () => {
    const a = createLatencyHistogram();
    const b = createLatencyHistogram();
    const all = createLatencyHistogram();
    // Two different distributions: a fast one and a slow tail.
    for (let i = 0; i < 900; i++) {
      const ms = 1 + (i % 30) * 0.1;
      recordMs(a, ms);
      recordMs(all, ms);
    }
    for (let i = 0; i < 100; i++) {
      const ms = 200 + i * 3;
      recordMs(b, ms);
      recordMs(all, ms);
    }
    const merged = createLatencyHistogram();
    mergeInto(merged, a);
    mergeInto(merged, b);
    expect(summarizeHistogram(merged)).toEqual(summarizeHistogram(all));
    // Known answers: the 500th of 1000 values is 2.6 ms, the 900th 3.9 ms, the 990th 467 ms.
    const s = summarizeHistogram(merged);
    expect(s.count).toBe(1000);
    expect(s.p50).toBeCloseTo(2.6, 2);
    expect(s.p90).toBeCloseTo(3.9, 2);
    expect(s.p99).toBeCloseTo(467, 0);
    expect(s.max).toBeCloseTo(497, 0);
  });

  it('encode/decode round-trips the counts exactly', () => {
    const h = createLatencyHistogram();
    for (let i = 0; i < 5000; i++) recordMs(h, ((i * 7919) % 2500) / 10 + 0.05);
    const encoded = encodeHistogram(h);
    expect(typeof encoded).toBe('string');
    expect(encoded).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const decoded = decodeHistogram(encoded);
    expect(summarizeHistogram(decoded)).toEqual(summarizeHistogram(h));
    // Still mergeable after a round trip.
    mergeInto(decoded, h);
    expect(decoded.totalCount).toBe(10_000);
  });
});
