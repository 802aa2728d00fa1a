/**
 * Reading the median index's leaves (median.index.ts): the values of a few buckets of one device and
 * quantity in a period, and from them the middle values of each device's period counts (median.query.ts).
 */
import type { Queryable } from '../../platform/db';
import { bucketOf, locateRank, singleValue } from './median.layout';
import type { Medians, PeriodCounts } from './median.query';
import { MEDIAN_QUANTITIES } from './median.sql';
import type { Period } from './model';

const Q = MEDIAN_QUANTITIES;
const iso = (d: Date | null) => d?.toISOString() ?? null;

/** Leaves to read: of one device and quantity, buckets b0..b1, values below b; those below a only counted. */
export interface LeafGroup {
  deviceId: string;
  q: number;
  b0: number;
  b1: number;
  a: number;
  b: number;
}

const S_SQL = `coalesce($1::timestamptz, '-infinity')`;
const E_SQL = `coalesce($2::timestamptz, 'infinity')`;
const INSIDE = `l.t_min >= ${S_SQL} AND l.t_max < ${E_SQL}`;
/**
 * Per group (g: its 1-based position), its leaf values with time in [$1, $2), as the chunks' float8
 * arrays in binary format (array_send), concatenated. A chunk wholly inside the period is sent as
 * stored, with no work per value (unnesting and re-encoding each value cost ~0.25 µs); one that
 * straddles a bound is filtered on its times; one outside is not read.
 */
const LEAVES_SQL = `SELECT g.n AS g, string_agg(x.arr, ''::bytea) AS arrs
  FROM unnest($3::text[], $4::int2[], $5::int4[], $6::int4[]) WITH ORDINALITY AS g(device_id, q, b0, b1, n)
  CROSS JOIN LATERAL (
    SELECT CASE WHEN ${INSIDE} THEN array_send(l.vals) ELSE (
        SELECT array_send(coalesce(array_agg(u.v), '{}'::float8[])) FROM unnest(l.vals, l.times) AS u(v, t)
        WHERE u.t >= ${S_SQL} AND u.t < ${E_SQL}) END AS arr
    FROM devices.median_leaves l
    WHERE l.device_id = g.device_id AND l.quantity = g.q AND l.bucket BETWEEN g.b0 AND g.b1
      AND l.t_max >= ${S_SQL} AND l.t_min < ${E_SQL}
    OFFSET 0
  ) x
  GROUP BY g.n`;

/**
 * Float8 arrays in binary format (array_send), one after another: per array ndim, a has-nulls flag and
 * the element type, then (ndim 1) its size and lower bound, then per element its length (8) and value.
 */
function float8Arrays(bytes: Uint8Array | null): Float64Array {
  if (!bytes) return new Float64Array(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(Math.floor(bytes.byteLength / 12));
  let n = 0;
  for (let at = 0; at < bytes.byteLength; ) {
    if (view.getInt32(at) === 0) {
      at += 12; // empty: no dimensions
      continue;
    }
    const len = view.getInt32(at + 12);
    at += 20;
    for (let i = 0; i < len; i++, at += 12) out[n++] = view.getFloat64(at + 4);
  }
  return out.subarray(0, n);
}

/**
 * Reads leaf groups (one statement): per group, how many of its values in the period are below its a,
 * and those from a up to (not including) its b.
 */
export async function readLeaves(
  tx: Queryable,
  S: Date | null,
  E: Date | null,
  groups: readonly LeafGroup[],
): Promise<{ below: number; values: number[] }[]> {
  const out = groups.map(() => ({ below: 0, values: [] as number[] }));
  if (groups.length === 0) return out;
  const rows = await tx.query<{ g: number; arrs: Uint8Array | null }>(LEAVES_SQL, [
    iso(S),
    iso(E),
    groups.map((g) => g.deviceId),
    groups.map((g) => g.q),
    groups.map((g) => g.b0),
    groups.map((g) => g.b1),
  ]);
  for (const r of rows) {
    const i = Number(r.g) - 1;
    const { a, b } = groups[i]!;
    const o = out[i]!;
    for (const v of float8Arrays(r.arrs)) {
      if (v < a) o.below++;
      else if (v < b) o.values.push(v);
    }
  }
  return out;
}

/**
 * The medians of each of these devices from their period counts: the middle ranks' buckets, then
 * one statement for the values of every bucket that can hold more than one.
 */
export async function mediansOf(
  tx: Queryable,
  period: Period,
  devices: { deviceId: string; pc: PeriodCounts }[],
): Promise<Medians[]> {
  const S = period.start;
  const E = period.end ? new Date(period.end.getTime() + 1) : null;
  const groups: (LeafGroup & { extra: number[] })[] = [];
  const groupOf = new Map<string, number>();
  /** Per device and quantity, the two middle values, or where to find them: [group, offset]. */
  const found = devices.map(({ deviceId, pc }) => {
    const n = pc.n;
    const ranks = [Math.floor((n - 1) / 2), Math.floor(n / 2)];
    return Q.map((_, q) =>
      ranks.map((r) => {
        const { bucket, offset } = locateRank(pc.counts[q]!, r);
        const single = singleValue(pc.thresholds[q]!, bucket);
        if (single !== null) return single;
        const key = `${q}:${bucket}:${deviceId}`;
        let g = groupOf.get(key) ?? -1;
        if (g < 0) {
          const extra = pc.inPeriod.filter((vs) => bucketOf(pc.thresholds[q]!, vs[q]!) === bucket);
          const [a, b] = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
          groups.push({ deviceId, q, b0: bucket, b1: bucket, a, b, extra: extra.map((vs) => vs[q]!) });
          g = groups.length - 1;
          groupOf.set(key, g);
        }
        return { g, offset };
      }),
    );
  });
  // Each bucket's values in the period (the leaves' and the unindexed ones), sorted.
  const values = (await readLeaves(tx, S, E, groups)).map(({ values: v }, i) =>
    Float64Array.from([...v, ...groups[i]!.extra]).sort(),
  );
  return found.map((perQ) => {
    const out = {} as Medians;
    Q.forEach((q, i) => {
      const [lo, hi] = perQ[i]!.map((m) => (typeof m === 'number' ? m : values[m.g]![m.offset]!));
      out[q] = (lo! + hi!) / 2;
    });
    return out;
  });
}
