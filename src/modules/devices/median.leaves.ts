/**
 * Reading the median index's leaves (median.index.ts): the values of a few buckets of one device and
 * quantity in a period, and from them the middle values of each device's period counts (median.query.ts).
 */
import type { Queryable } from '../../platform/db';
import { sqlTime } from '../../platform/time';
import { bucketOf, locateRank, singleValue } from './median.layout';
import type { Medians, PeriodCounts } from './median.query';
import { MEDIAN_QUANTITIES } from './median.sql';

const Q = MEDIAN_QUANTITIES;

const S_SQL = `coalesce(g.s, '-infinity')`;
const E_SQL = `coalesce(g.e, 'infinity')`;
const INSIDE = `l.t_min >= ${S_SQL} AND l.t_max < ${E_SQL}`;
/**
 * Per wanted bucket (g: its 1-based position, with its period [s, e)), its leaf chunks that overlap the
 * period in binary format (array_send), concatenated: `arrs` the values of chunks wholly inside the
 * period, sent as stored; `edges` the values and then the times of chunks that straddle a bound, for
 * JavaScript to filter (in SQL, unnesting, filtering and re-encoding each value cost ~0.3 µs). A chunk
 * outside is not read.
 */
const LEAVES_SQL = `SELECT g.n AS g, string_agg(x.arr, ''::bytea) FILTER (WHERE x.inside) AS arrs,
    string_agg(x.arr, ''::bytea) FILTER (WHERE NOT x.inside) AS edges
  FROM unnest($1::text[], $2::int2[], $3::int4[], $4::timestamptz[], $5::timestamptz[])
    WITH ORDINALITY AS g(device_id, q, bucket, s, e, n)
  CROSS JOIN LATERAL (
    SELECT ${INSIDE} AS inside,
      CASE WHEN ${INSIDE} THEN array_send(l.vals) ELSE array_send(l.vals) || array_send(l.times) END AS arr
    FROM devices.median_leaves l
    WHERE l.device_id = g.device_id AND l.quantity = g.q AND l.bucket = g.bucket
      AND l.t_max >= ${S_SQL} AND l.t_min < ${E_SQL}
    OFFSET 0
  ) x
  GROUP BY g.n`;

/**
 * Where the elements of a one-dimensional array in binary format (array_send) at byte `at` lie: ndim,
 * a has-nulls flag and the element type, then (ndim 1) its size and lower bound, then per element its
 * length (4 bytes) and value (8 here). An empty array has no dimensions.
 */
function arrayAt(view: DataView, at: number): { len: number; first: number; next: number } {
  if (view.getInt32(at) === 0) return { len: 0, first: at + 12, next: at + 12 };
  const len = view.getInt32(at + 12);
  return { len, first: at + 24, next: at + 20 + len * 12 };
}

/** Float8 arrays in binary format, one after another: their values. */
function float8Arrays(bytes: Uint8Array | null): Float64Array {
  if (!bytes) return new Float64Array(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(Math.floor(bytes.byteLength / 12));
  let n = 0;
  for (let at = 0; at < bytes.byteLength; ) {
    const a = arrayAt(view, at);
    for (let i = 0; i < a.len; i++) out[n++] = view.getFloat64(a.first + i * 12);
    at = a.next;
  }
  return out.subarray(0, n);
}

/** Microseconds since 2000-01-01 (timestamptz's binary form) of a time in ms; null: ±Infinity. */
const PG_EPOCH_MS = 946_684_800_000;
const micros = (d: Date | null, open: number) => (d ? (d.getTime() - PG_EPOCH_MS) * 1000 : open);

/**
 * Pairs of a float8 array and a timestamptz array in binary format (a chunk's values and times), one
 * after another: the values whose time is in [S, E). Times are int8 microseconds, read as two halves:
 * exact below 2^53 (year 2285); beyond, rounding keeps the order of whole milliseconds.
 */
function valuesInPeriod(bytes: Uint8Array | null, S: Date | null, E: Date | null): number[] {
  const out: number[] = [];
  if (!bytes) return out;
  const [s, e] = [micros(S, Number.NEGATIVE_INFINITY), micros(E, Number.POSITIVE_INFINITY)];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.byteLength; ) {
    const vals = arrayAt(view, at);
    const times = arrayAt(view, vals.next);
    for (let i = 0; i < vals.len; i++) {
      const t = times.first + i * 12;
      const us = view.getInt32(t) * 4294967296 + view.getUint32(t + 4);
      if (us >= s && us < e) out.push(view.getFloat64(vals.first + i * 12));
    }
    at = times.next;
  }
  return out;
}

/**
 * The value buckets an answer needs, each read once however many medians want it, all in one
 * statement: `want` them (a device's bucket of one quantity, over a period [S, E)), `read` once, then
 * take each one's `values` (the indexed values in the period, unsorted).
 */
export function bucketReads() {
  const keys: { deviceId: string; q: number; bucket: number; S: Date | null; E: Date | null }[] = [];
  const at = new Map<string, number>();
  let got: Float64Array[] = [];
  return {
    want(deviceId: string, q: number, bucket: number, S: Date | null, E: Date | null): number {
      const key = `${q}:${bucket}:${S?.getTime() ?? ''}:${E?.getTime() ?? ''}:${deviceId}`;
      let i = at.get(key);
      if (i === undefined) {
        i = keys.push({ deviceId, q, bucket, S, E }) - 1;
        at.set(key, i);
      }
      return i;
    },
    async read(tx: Queryable): Promise<void> {
      got = keys.map(() => new Float64Array(0));
      if (keys.length === 0) return;
      const rows = await tx.query<{ g: number; arrs: Uint8Array | null; edges: Uint8Array | null }>(
        LEAVES_SQL,
        [
          keys.map((k) => k.deviceId),
          keys.map((k) => k.q),
          keys.map((k) => k.bucket),
          keys.map((k) => sqlTime(k.S)),
          keys.map((k) => sqlTime(k.E)),
        ],
      );
      for (const r of rows) {
        const k = keys[Number(r.g) - 1]!;
        const inside = float8Arrays(r.arrs);
        const edge = valuesInPeriod(r.edges, k.S, k.E);
        const all = new Float64Array(inside.length + edge.length);
        all.set(inside);
        all.set(edge, inside.length);
        got[Number(r.g) - 1] = all;
      }
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
        const i = reads.want(deviceId, q, bucket, pc.S, pc.E);
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

/** The medians of each of these devices' period counts (one statement). */
export async function mediansOf(
  tx: Queryable,
  devices: { deviceId: string; pc: PeriodCounts }[],
): Promise<Medians[]> {
  const reads = bucketReads();
  const finish = planMedians(devices, reads);
  await reads.read(tx);
  return finish();
}
