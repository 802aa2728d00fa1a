import * as hdr from 'hdr-histogram-js';

/** An HDR latency histogram whose unit is the microsecond. */
export type LatencyHistogram = hdr.Histogram;

/** Latency statistics in milliseconds; all zero when nothing was recorded. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

/** 1 µs .. 60 s covers every latency we can observe (requests time out well before a minute). */
export const LOWEST_US = 1;
export const HIGHEST_US = 60_000_000;

// 32-bit counts: recording is an array increment (the packed layout is smaller but slower to record).
// The pure-JS build: WebAssembly histograms must be destroy()ed by hand and would leak.
const BUCKETS = 32;

export function createLatencyHistogram(): LatencyHistogram {
  return hdr.build({
    bitBucketSize: BUCKETS,
    lowestDiscernibleValue: LOWEST_US,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
    useWebAssembly: false,
  });
}

/** Records one latency given in ms; values outside 1 µs..60 s are clamped rather than thrown on. */
export function recordMs(h: LatencyHistogram, ms: number): void {
  let us = Math.round(ms * 1000);
  if (us < LOWEST_US) us = LOWEST_US;
  else if (us > HIGHEST_US) us = HIGHEST_US;
  h.recordValue(us);
}

/** Adds every count of `src` into `target` (exact: percentiles of the merge equal those of the union). */
export function mergeInto(target: LatencyHistogram, src: LatencyHistogram): void {
  if (src.totalCount > 0) target.add(src);
}

const usToMs = (us: number) => Math.round(us) / 1000;

/** The summary of no requests: zeros. */
export const EMPTY_LATENCY: Readonly<LatencySummary> = Object.freeze({
  count: 0,
  min: 0,
  mean: 0,
  max: 0,
  p50: 0,
  p90: 0,
  p99: 0,
  p999: 0,
});

export function summarizeHistogram(h: LatencyHistogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) return { ...EMPTY_LATENCY };
  return {
    count,
    min: usToMs(h.minNonZeroValue),
    mean: Math.round(h.mean) / 1000,
    // The top bucket's highest equivalent value, so a decoded or merged copy reports the same max.
    max: usToMs(h.getValueAtPercentile(100)),
    p50: usToMs(h.getValueAtPercentile(50)),
    p90: usToMs(h.getValueAtPercentile(90)),
    p99: usToMs(h.getValueAtPercentile(99)),
    p999: usToMs(h.getValueAtPercentile(99.9)),
  };
}

/** Compressed base64 (HdrHistogram V2 format, readable by the Java/Go/C ports), for a text column. */
export function encodeHistogram(h: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): LatencyHistogram {
  const decoded = hdr.decodeFromCompressedBase64(encoded, BUCKETS, false);
  // The decoded copy is sized to its own max value; widen it so later merges cannot overflow.
  const h = createLatencyHistogram();
  h.add(decoded);
  return h;
}
