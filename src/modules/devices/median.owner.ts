/**
 * Exact medians of a user's devices over a period, each device's and all of them combined, from the
 * devices' median indexes (median.query.ts), at a cost that does not grow with the devices' histories.
 *
 * Each indexed device gives its period's counts per value bucket (its own layout). The combined middle
 * rank r is bracketed with counts alone: over the union of the devices' thresholds p, at least
 * lower(p) readings are below p (buckets that end at or before p) and at most upper(p) (buckets that
 * start before p, plus every reading of the devices without an index). Both grow with p, so two binary
 * searches find a = the largest p with upper(p) <= r (the answer is >= a) and b = the smallest with
 * lower(p) > r (the answer is < b). Then one statement reads, per device, only the buckets that overlap
 * [a, b): their values below a are counted, those in [a, b) returned; the devices without an index (fewer
 * than the index's minimum readings each) are read the same way from their readings. The answer is the
 * (r − below a)-th of the values in [a, b), sorted. Cost: per device one head row and about one bucket
 * per quantity and middle rank, for its own median and for the combined one.
 */
import type { Queryable } from '../../platform/db';
import { bucketOf } from './median.layout';
import { type LeafGroup, mediansOf, readLeaves } from './median.leaves';
import type { Medians, PeriodCounts } from './median.query';
import { f8, MEDIAN_QUANTITIES, QUANTITY_ROWS, unpackFloat8 } from './median.sql';
import type { Period } from './model';

const Q = MEDIAN_QUANTITIES;
const iso = (d: Date | null) => d?.toISOString() ?? null;

/** Sum of counts before index k, per device: prefix[k]. */
const prefixSums = (counts: readonly number[]) => {
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

/** [a, b) holding ranks r0 <= r1 of quantity q, from the indexed devices' counts (see the file comment). */
function bracket(
  devices: PeriodCounts[],
  q: number,
  unindexedCount: number,
  r0: number,
  r1: number,
): Bracket {
  // Every device's thresholds, sorted (repeats do no harm to the searches).
  const splits = new Float64Array(devices.reduce((n, d) => n + d.thresholds[q]!.length, 0));
  let at = 0;
  for (const d of devices) {
    splits.set(d.thresholds[q]!, at);
    at += d.thresholds[q]!.length;
  }
  splits.sort();
  const prefixes = devices.map((d) => prefixSums(d.counts[q]!));
  const lower = (p: number) =>
    devices.reduce((s, d, i) => s + prefixes[i]![bucketOf(d.thresholds[q]!, p)]!, 0);
  const upper = (p: number) =>
    devices.reduce((s, d, i) => s + prefixes[i]![countBelow(d.thresholds[q]!, p) + 1]!, unindexedCount);
  // a: the last split with upper <= r0 (upper grows with p), or -Infinity.
  let lo = 0;
  let hi = splits.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (upper(splits[mid]!) <= r0) lo = mid + 1;
    else hi = mid;
  }
  const a = lo > 0 ? splits[lo - 1]! : Number.NEGATIVE_INFINITY;
  // b: the first split with lower > r1, or +Infinity.
  lo = 0;
  hi = splits.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lower(splits[mid]!) > r1) hi = mid;
    else lo = mid + 1;
  }
  const b = lo < splits.length ? splits[lo]! : Number.POSITIVE_INFINITY;
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

/**
 * The combined medians of indexed devices (their period counts) and of the unindexed ones (their ids
 * and their period's count): exact, reading about one bucket per device and quantity.
 */
async function combinedMedians(
  tx: Queryable,
  period: Period,
  indexed: { deviceId: string; pc: PeriodCounts }[],
  unindexed: { ids: string[]; count: number },
): Promise<Medians> {
  const S = period.start;
  const E = period.end ? new Date(period.end.getTime() + 1) : null;
  const n = indexed.reduce((s, d) => s + d.pc.n, unindexed.count);
  const ranks = [Math.floor((n - 1) / 2), Math.floor(n / 2)] as const;
  const pcs = indexed.map((d) => d.pc);
  const brackets = Q.map((_, q) => bracket(pcs, q, unindexed.count, ranks[0], ranks[1]));
  const below = Q.map(() => 0);
  const inside: number[][] = Q.map(() => []);
  const groups: LeafGroup[] = [];
  indexed.forEach(({ deviceId, pc }) => {
    Q.forEach((_, q) => {
      const { a, b } = brackets[q]!;
      const t = pc.thresholds[q]!;
      const first = bucketOf(t, a); // buckets before it end at or before a
      const last = countBelow(t, b); // buckets after it start at or after b
      below[q]! += prefixSums(pc.counts[q]!)[first]!;
      if (last < first) return;
      groups.push({ deviceId, q, b0: first, b1: last, a, b });
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
  const [leaves, small] = await Promise.all([
    readLeaves(tx, S, E, groups),
    unindexed.ids.length === 0
      ? []
      : tx.query<{ g: number; below: number; vs: Uint8Array | null }>(SMALL_SQL, [
          iso(S),
          iso(E),
          unindexed.ids,
          brackets.map((x) => f8(x.a)),
          brackets.map((x) => f8(x.b)),
        ]),
  ]);
  leaves.forEach((r, i) => {
    const q = groups[i]!.q;
    below[q]! += r.below;
    for (const v of r.values) inside[q]!.push(v);
  });
  for (const row of small) {
    const q = Number(row.g);
    below[q]! += Number(row.below);
    for (const v of unpackFloat8(row.vs)) inside[q]!.push(v);
  }
  const out = {} as Medians;
  Q.forEach((name, q) => {
    const vs = Float64Array.from(inside[q]!).sort();
    const [lo, hi] = ranks.map((r) => vs[r - below[q]!]);
    if (lo === undefined || hi === undefined) throw new Error(`median bracket of ${name} missed its rank`);
    out[name] = (lo + hi) / 2;
  });
  return out;
}

/**
 * Per indexed device its medians, and all devices' combined medians (the unindexed ones' own medians
 * are the caller's: a sort of their few readings). Null when a device's index disagrees with its
 * rollups' count (`counts`), so the caller sorts instead.
 */
export async function ownerMedians(
  tx: Queryable,
  reader: {
    periodCounts(tx: Queryable, ids: readonly string[], p: Period): Promise<Map<string, PeriodCounts>>;
  },
  period: Period,
  counts: Map<string, number>,
): Promise<{ combined: Medians; devices: Map<string, Medians> } | null> {
  const ids = [...counts.keys()];
  const pcs = await reader.periodCounts(tx, ids, period);
  const indexed: { deviceId: string; pc: PeriodCounts }[] = [];
  const unindexed = { ids: [] as string[], count: 0 };
  for (const id of ids) {
    const pc = pcs.get(id);
    if (!pc) {
      unindexed.ids.push(id);
      unindexed.count += counts.get(id)!;
    } else if (pc.n !== counts.get(id)) return null;
    else indexed.push({ deviceId: id, pc });
  }
  const [own, combined] = await Promise.all([
    mediansOf(tx, period, indexed),
    combinedMedians(tx, period, indexed, unindexed),
  ]);
  return { combined, devices: new Map(indexed.map((d, i) => [d.deviceId, own[i]!])) };
}
