/**
 * fast-check generators the devices property tests share: readings whose values tie, round and span
 * a wide range, at times clustered on hour boundaries (where rollups split), on minute boundaries and
 * in a dense few minutes (where checkpoints split an hour), and periods whose bounds fall on readings,
 * beside them, on hour or minute boundaries, anywhere, or nowhere.
 * Times are milliseconds after T0; `hours` is the span the readings cover.
 */
import fc from 'fast-check';
import type { AggregatesStoreOptions } from './aggregates.store';
import type { MedianIndexOptions } from './median.build';
import type { Period } from './model';

export const T0 = Date.parse('2024-05-01T22:00:00.000Z');
export const HOUR = 3_600_000;
const MINUTE = 60_000;
/** A dense stretch: the first ten minutes of the second hour. */
const DENSE = { from: HOUR, minutes: 10 };

const axis = fc.oneof(
  fc.integer({ min: -5, max: 5 }), // ties
  fc.constantFrom(0.1, 0.2, 0.3, -0.1, 1e-9, -0), // sums that round
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
);

export function readingArb(hours: number) {
  return fc.record({
    x: axis,
    y: axis,
    z: axis,
    ts: fc.oneof(
      fc.integer({ min: 0, max: hours * HOUR }),
      fc.tuple(fc.integer({ min: 0, max: hours }), fc.constantFrom(-1, 0, 1)).map(([h, d]) => h * HOUR + d),
      fc
        .tuple(fc.integer({ min: 0, max: hours * 60 }), fc.constantFrom(-1, 0, 1))
        .map(([m, d]) => m * MINUTE + d),
      fc.integer({ min: 0, max: DENSE.minutes * MINUTE }).map((t) => DENSE.from + t),
    ),
  });
}

/**
 * A bound near something interesting: a reading, an hour boundary ±1 ms, a minute boundary ±1 ms in the
 * dense stretch, or anywhere; or open.
 */
export function boundArb(times: number[], hours: number) {
  return fc.oneof(
    fc.constant(null),
    fc.constantFrom(...times).chain((t) => fc.constantFrom(t - 1, t, t + 1)),
    fc
      .integer({ min: -1, max: hours + 1 })
      .chain((h) => fc.constantFrom(h * HOUR - 1, h * HOUR, h * HOUR + 1)),
    fc
      .integer({ min: 0, max: DENSE.minutes + 1 })
      .chain((m) => fc.constantFrom(-1, 0, 1).map((d) => DENSE.from + m * MINUTE + d)),
    fc.integer({ min: -HOUR, max: (hours + 1) * HOUR }),
  );
}

/** Two bounds as a period (swapped when out of order). */
export function toPeriod([a, b]: [number | null, number | null]): Period {
  const [s, e] = a !== null && b !== null && a > b ? [b, a] : [a, b];
  return { start: s === null ? null : new Date(T0 + s), end: e === null ? null : new Date(T0 + e) };
}

/** Rounds of batches of readings over `hours`; after each round the index is updated or not. */
export function roundsArb(hours: number, maxRounds: number) {
  return fc.array(
    fc.record({ batch: fc.array(readingArb(hours), { minLength: 1, maxLength: 40 }), index: fc.boolean() }),
    { minLength: 1, maxLength: maxRounds },
  );
}

/** A number as JSON carries it: -0 is written as 0 (the only value the wire changes). */
export const wire = (v: number): number => JSON.parse(JSON.stringify(v));

/** A median index of tiny buckets: many thresholds, single-valued buckets for ties, dense checkpoints. */
export const TINY_INDEX: MedianIndexOptions = { minReadings: 1, bucketTarget: 2, maxBuckets: 16 };

/** An aggregates store that fails the test when an index disagrees with its rollups (never sorts quietly). */
export const STRICT: AggregatesStoreOptions = {
  onIndexMismatch: (id) => {
    throw new Error(`the median index of ${id} disagrees with its rollups`);
  },
};
