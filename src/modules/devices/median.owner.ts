/**
 * Exact medians of a user's devices over a period, each device's and all of them combined, from the
 * devices' median indexes (median.query.ts), at a cost that does not grow with the devices' histories.
 *
 * Each indexed device gives its period's counts per value bucket (its own layout). The combined middle
 * rank r is bracketed with counts alone: for any value p, at least lower(p) readings are below p
 * (buckets that end at or before p) and at most upper(p) (buckets that start before p, plus every
 * reading of the devices without an index). Both grow with p, so two bisections over the doubles'
 * order (64 steps, each a binary search per device) find a = the largest p with upper(p) <= r (the
 * answer is >= a) and b = the smallest with lower(p) > r (the answer is < b); both are thresholds.
 * Then one statement reads, per device, only the buckets that overlap [a, b) (with the devices' own
 * middle buckets, each once): their values below a are counted, those in [a, b) kept; the devices
 * without an index (fewer than the index's minimum readings each) are read the same way from their
 * readings. The answer is the
 * (r − below a)-th of the values in [a, b), sorted. Cost: per device one head row and about one bucket
 * per quantity and middle rank, for its own median and for the combined one.
 */
import type { Queryable } from '../../platform/db';
import { sqlTime } from '../../platform/time';
import { bucketOf } from './median.layout';
import { type BucketReads, bucketReads, planMedians } from './median.leaves';
import type { MedianReader, Medians, PeriodCounts } from './median.query';
import { f8, MEDIAN_QUANTITIES, QUANTITY_ROWS, unpackFloat8 } from './median.sql';
import type { Period } from './model';

const Q = MEDIAN_QUANTITIES;

/** Sum of counts before index k, per device: prefix[k]. */
const prefixSums = (counts: ArrayLike<number>) => {
  const out = new Float64Array(counts.length + 1);
  for (let i = 0; i < counts.length; i++) out[i + 1] = out[i]! + counts[i]!;
  return out;
};

/** The number of thresholds < v (binary search). */
function countBelow(thresholds: readonly number[], v: number): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (thresholds[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Bracket {
  a: number;
  b: number;
}

/** float8 ↔ a BigInt key in the same order (-Infinity < … < -0 < 0 < … < Infinity; NaNs outside). */
const scratch = new DataView(new ArrayBuffer(8));
const SIGN = 1n << 63n;
const ALL = (1n << 64n) - 1n;
function keyOf(v: number): bigint {
  scratch.setFloat64(0, v);
  const u = scratch.getBigUint64(0);
  return u & SIGN ? ~u & ALL : u | SIGN;
}
function doubleOf(k: bigint): number {
  scratch.setBigUint64(0, k & SIGN ? k & ~SIGN : ~k & ALL);
  return scratch.getFloat64(0);
}

/**
 * For `ok` true up to some double and false after it (ok(-Infinity) true, ok(Infinity) false): that
 * last double and the next one, by bisection over the doubles' order (64 steps at most).
 */
function edge(ok: (v: number) => boolean): { last: number; first: number } {
  let lo = keyOf(Number.NEGATIVE_INFINITY);
  let hi = keyOf(Number.POSITIVE_INFINITY);
  while (hi - lo > 1n) {
    const mid = (lo + hi) >> 1n;
    if (ok(doubleOf(mid))) lo = mid;
    else hi = mid;
  }
  return { last: doubleOf(lo), first: doubleOf(hi) };
}

/**
 * [a, b) holding ranks r0 <= r1 of quantity q, from the indexed devices' counts (see the file comment;
 * `prefixes`: per device, its counts' prefix sums). lower and upper change only at thresholds, so a and
 * b are thresholds (or ±Infinity), found without merging the devices' thresholds.
 */
function bracket(
  devices: PeriodCounts[],
  prefixes: Float64Array[],
  q: number,
  unindexedCount: number,
  r0: number,
  r1: number,
): Bracket {
  const lower = (p: number) =>
    devices.reduce((s, d, i) => s + prefixes[i]![bucketOf(d.thresholds[q]!, p)]!, 0);
  const upper = (p: number) =>
    devices.reduce((s, d, i) => s + prefixes[i]![countBelow(d.thresholds[q]!, p) + 1]!, unindexedCount);
  // a: the last p with upper(p) <= r0 (upper grows with p, and upper(Infinity) = n > r0), or -Infinity.
  const a =
    upper(Number.NEGATIVE_INFINITY) > r0 ? Number.NEGATIVE_INFINITY : edge((p) => upper(p) <= r0).last;
  // b: the first p with lower(p) > r1 (lower(-Infinity) = 0 <= r1), or Infinity.
  const b =
    lower(Number.POSITIVE_INFINITY) <= r1 ? Number.POSITIVE_INFINITY : edge((p) => lower(p) <= r1).first;
  return { a, b };
}

/** The same from the readings of the devices without an index, per quantity. */
const SMALL_SQL = `SELECT qv.q AS g, count(*) FILTER (WHERE qv.v < ($4::float8[])[qv.q + 1])::int8 AS below,
    string_agg(float8send(qv.v), ''::bytea) FILTER (WHERE qv.v >= ($4::float8[])[qv.q + 1]
      AND qv.v < ($5::float8[])[qv.q + 1]) AS vs
  FROM devices.readings r ${QUANTITY_ROWS}
  WHERE r.device_id = ANY($3::text[])
    AND r.ts >= coalesce($1::timestamptz, '-infinity') AND r.ts < coalesce($2::timestamptz, 'infinity')
  GROUP BY qv.q`;

/** The unindexed devices' part of the combined medians: per quantity, below a and the values in [a, b). */
type SmallRow = { g: number; below: number; vs: Uint8Array | null };

/**
 * Plans the combined medians of indexed devices (their period counts) and of `unindexedCount` readings
 * of unindexed devices: brackets per quantity, and the buckets overlapping them wanted from `reads`
 * (about one per device and quantity). After `reads.read` and SMALL_SQL over the brackets, `finish`
 * gives the medians.
 */
function planCombined(
  indexed: { deviceId: string; pc: PeriodCounts }[],
  unindexedCount: number,
  reads: BucketReads,
) {
  const n = indexed.reduce((s, d) => s + d.pc.n, unindexedCount);
  const ranks = [Math.floor((n - 1) / 2), Math.floor(n / 2)] as const;
  const pcs = indexed.map((d) => d.pc);
  const prefixes = Q.map((_, q) => pcs.map((pc) => prefixSums(pc.counts[q]!)));
  const brackets = Q.map((_, q) => bracket(pcs, prefixes[q]!, q, unindexedCount, ranks[0], ranks[1]));
  const below = Q.map(() => 0);
  const inside: number[][] = Q.map(() => []);
  const wanted: { q: number; i: number }[] = [];
  indexed.forEach(({ deviceId, pc }, i) => {
    Q.forEach((_, q) => {
      const { a, b } = brackets[q]!;
      const t = pc.thresholds[q]!;
      const first = bucketOf(t, a); // buckets before it end at or before a
      const last = countBelow(t, b); // buckets after it start at or after b
      below[q]! += prefixes[q]![i]![first]!;
      for (let bk = first; bk <= last; bk++) wanted.push({ q, i: reads.want(deviceId, q, bk, pc.S, pc.E) });
      // Its unindexed readings in those buckets (the leaves hold only the indexed ones).
      for (const vs of pc.inPeriod) {
        const v = vs[q]!;
        const bk = bucketOf(t, v);
        if (bk < first || bk > last || v >= b) continue;
        if (v < a) below[q]! += 1;
        else inside[q]!.push(v);
      }
    });
  });
  return {
    brackets,
    finish(small: SmallRow[]): Medians {
      for (const { q, i } of wanted) {
        const { a, b } = brackets[q]!;
        for (const v of reads.values(i)) {
          if (v < a) below[q]! += 1;
          else if (v < b) inside[q]!.push(v);
        }
      }
      for (const row of small) {
        const q = Number(row.g);
        below[q]! += Number(row.below);
        for (const v of unpackFloat8(row.vs)) inside[q]!.push(v);
      }
      const out = {} as Medians;
      Q.forEach((name, q) => {
        const vs = Float64Array.from(inside[q]!).sort();
        const [lo, hi] = ranks.map((r) => vs[r - below[q]!]);
        if (lo === undefined || hi === undefined)
          throw new Error(`median bracket of ${name} missed its rank`);
        out[name] = (lo + hi) / 2;
      });
      return out;
    },
  };
}

/**
 * Per indexed device its medians, and all devices' combined medians (the unindexed ones' own medians
 * are the caller's: a sort of their few readings), reading every bucket they need in one statement.
 * Null when a device's index disagrees with its rollups' count (`counts`), so the caller sorts instead.
 */
export async function ownerMedians(
  tx: Queryable,
  reader: Pick<MedianReader, 'periodCounts'>,
  period: Period,
  counts: Map<string, number>,
): Promise<{ combined: Medians; devices: Map<string, Medians> } | null> {
  const ids = [...counts.keys()];
  const pcs = await reader.periodCounts(
    tx,
    ids.map((deviceId) => ({ deviceId, period })),
  );
  const indexed: { deviceId: string; pc: PeriodCounts }[] = [];
  const unindexed = { ids: [] as string[], count: 0 };
  for (const [k, id] of ids.entries()) {
    const pc = pcs[k];
    if (!pc) {
      unindexed.ids.push(id);
      unindexed.count += counts.get(id)!;
    } else if (pc.n !== counts.get(id)) return null;
    else indexed.push({ deviceId: id, pc });
  }
  const S = period.start;
  const E = period.end ? new Date(period.end.getTime() + 1) : null;
  const reads = bucketReads();
  const own = planMedians(indexed, reads);
  // One indexed device alone: the combined medians are its own.
  const combined =
    indexed.length === 1 && unindexed.count === 0 ? null : planCombined(indexed, unindexed.count, reads);
  const [, small] = await Promise.all([
    reads.read(tx),
    !combined || unindexed.ids.length === 0
      ? []
      : tx.query<SmallRow>(SMALL_SQL, [
          sqlTime(S),
          sqlTime(E),
          unindexed.ids,
          combined.brackets.map((x) => f8(x.a)),
          combined.brackets.map((x) => f8(x.b)),
        ]),
  ]);
  const devices = own();
  return {
    combined: combined ? combined.finish(small) : devices[0]!,
    devices: new Map(indexed.map((d, i) => [d.deviceId, devices[i]!])),
  };
}
