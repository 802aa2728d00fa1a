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

const S_SQL = `coalesce($1::timestamptz, '-infinity')`;
const E_SQL = `coalesce($2::timestamptz, 'infinity')`;
const INSIDE = `l.t_min >= ${S_SQL} AND l.t_max < ${E_SQL}`;
/**
 * Per wanted bucket (g: its 1-based position), its leaf values with time in [$1, $2), as the chunks'
 * float8 arrays in binary format (array_send), concatenated. A chunk wholly inside the period is sent as
 * stored, with no work per value (unnesting and re-encoding each value cost ~0.25 µs); one that
 * straddles a bound is filtered on its times; one outside is not read.
 */
const LEAVES_SQL = `SELECT g.n AS g, string_agg(x.arr, ''::bytea) AS arrs
  FROM unnest($3::text[], $4::int2[], $5::int4[]) WITH ORDINALITY AS g(device_id, q, bucket, n)
  CROSS JOIN LATERAL (
    SELECT CASE WHEN ${INSIDE} THEN array_send(l.vals) ELSE (
        SELECT array_send(coalesce(array_agg(u.v), '{}'::float8[])) FROM unnest(l.vals, l.times) AS u(v, t)
        WHERE u.t >= ${S_SQL} AND u.t < ${E_SQL}) END AS arr
    FROM devices.median_leaves l
    WHERE l.device_id = g.device_id AND l.quantity = g.q AND l.bucket = g.bucket
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
 * The value buckets an answer needs, each read once however many medians want it, all in one
 * statement: `want` them, `read` once, then take each one's `values` (the indexed values in the
 * period, unsorted).
 */
export function bucketReads() {
  const keys: { deviceId: string; q: number; bucket: number }[] = [];
  const at = new Map<string, number>();
  let got: Float64Array[] = [];
  return {
    want(deviceId: string, q: number, bucket: number): number {
      const key = `${q}:${bucket}:${deviceId}`;
      let i = at.get(key);
      if (i === undefined) {
        i = keys.push({ deviceId, q, bucket }) - 1;
        at.set(key, i);
      }
      return i;
    },
    async read(tx: Queryable, S: Date | null, E: Date | null): Promise<void> {
      got = keys.map(() => new Float64Array(0));
      if (keys.length === 0) return;
      const rows = await tx.query<{ g: number; arrs: Uint8Array | null }>(LEAVES_SQL, [
        iso(S),
        iso(E),
        keys.map((k) => k.deviceId),
        keys.map((k) => k.q),
        keys.map((k) => k.bucket),
      ]);
      for (const r of rows) got[Number(r.g) - 1] = float8Arrays(r.arrs);
    },
    values: (i: number): Float64Array => got[i]!,
  };
}

export type BucketReads = ReturnType<typeof bucketReads>;

/**
 * Plans the medians of each of these devices from their period counts: the middle ranks' buckets are
 * wanted from `reads` (unless one can hold a single value); after `reads.read`, the returned function
 * gives the medians.
 */
export function planMedians(
  devices: { deviceId: string; pc: PeriodCounts }[],
  reads: BucketReads,
): () => Medians[] {
  /** Per bucket read: its values with the device's unindexed ones in it, sorted (when first needed). */
  const sorted = new Map<number, Float64Array>();
  const extras = new Map<number, number[]>();
  /** Per device and quantity, the two middle values, or where to find them: [read, offset]. */
  const found = devices.map(({ deviceId, pc }) => {
    const n = pc.n;
    const ranks = [Math.floor((n - 1) / 2), Math.floor(n / 2)];
    return Q.map((_, q) =>
      ranks.map((r) => {
        const { bucket, offset } = locateRank(pc.counts[q]!, r);
        const single = singleValue(pc.thresholds[q]!, bucket);
        if (single !== null) return single;
        const i = reads.want(deviceId, q, bucket);
        if (!extras.has(i)) {
          const inBucket = pc.inPeriod.filter((vs) => bucketOf(pc.thresholds[q]!, vs[q]!) === bucket);
          extras.set(
            i,
            inBucket.map((vs) => vs[q]!),
          );
        }
        return { i, offset };
      }),
    );
  });
  const valueAt = (i: number, offset: number) => {
    let vs = sorted.get(i);
    if (!vs) {
      const leaves = reads.values(i);
      const extra = extras.get(i)!;
      vs = new Float64Array(leaves.length + extra.length);
      vs.set(leaves);
      vs.set(extra, leaves.length);
      vs.sort();
      sorted.set(i, vs);
    }
    return vs[offset]!;
  };
  return () =>
    found.map((perQ) => {
      const out = {} as Medians;
      Q.forEach((q, k) => {
        const [lo, hi] = perQ[k]!.map((m) => (typeof m === 'number' ? m : valueAt(m.i, m.offset)));
        out[q] = (lo! + hi!) / 2;
      });
      return out;
    });
}

/** The medians of each of these devices from their period counts (one statement). */
export async function mediansOf(
  tx: Queryable,
  period: Period,
  devices: { deviceId: string; pc: PeriodCounts }[],
): Promise<Medians[]> {
  const reads = bucketReads();
  const finish = planMedians(devices, reads);
  await reads.read(tx, period.start, period.end ? new Date(period.end.getTime() + 1) : null);
  return finish();
}
