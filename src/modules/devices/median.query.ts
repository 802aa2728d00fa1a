/**
 * Exact medians of an indexed device over a period [S, E) (E = end + 1 ms), from the median index
 * (median.index.ts), in a snapshot the caller holds (REPEATABLE READ) so that every part agrees.
 *
 * C(<t), the readings before t per bucket, comes from the checkpoint K nearest to t: the one before it
 * plus the raw readings from K to t, or the one after it minus the raw readings from t to K, where an
 * empty checkpoint at -infinity and the layout's bucket totals (every indexed reading) at +infinity
 * count as checkpoints; plus the readings the index does not hold yet that lie before K. So an open
 * end (all time, or "until now") reads no raw readings at all, and a bound in the history reads at
 * most half a checkpoint spacing of them, bucketed in SQL. The period's counts per bucket are
 * C(<E) − C(<S); the middle rank's bucket follows, and its exact value is read from that bucket's
 * leaves (its indexed values in the period, a few hundred to a few thousand) and the unindexed
 * readings in it, or is the bucket's one value when it can hold only one. Cost: two checkpoint rows,
 * the raw readings near S and E, the unindexed readings, and one bucket per quantity and middle rank —
 * independent of how many readings the device or the period holds.
 */
import type { Queryable } from '../../platform/db';
import { bucketOf, locateRank, singleValue } from './median.layout';
import { f8, MEDIAN_QUANTITIES, quantitiesOf, unindexed } from './median.sql';
import type { Period } from './model';
import type { Quantity } from './rollups.store';

export type Medians = Record<Quantity, number>;

const Q = MEDIAN_QUANTITIES;
const iso = (d: Date | null) => d?.toISOString() ?? null;

const countColumns = (alias: string, suffix: string) =>
  Q.map((q) => `${alias}.${q}_${suffix} AS ${q}_counts`).join(', ');
const MS = (at: string) => `extract(epoch FROM ${at})::float8 * 1000`;

/**
 * The checkpoint K used for bound $p (CTE text): the nearest one in time, before the bound (dir 1:
 * C(<t) = K + raw[K, t)) or after it (dir -1: C(<t) = K − raw[t, K)), where an empty checkpoint at
 * -infinity and the layout's totals (every indexed reading) at +infinity are candidates too. None
 * when the bound is open at the start; the totals when open at the end. Either way C(<t) also adds
 * the unindexed readings before K.
 */
function checkpointFor(p: string, openEnd: boolean): string {
  const ck = (where: string, order: string, dir: number) => `(SELECT c.at, ${dir} AS dir,
      abs(${MS('c.at')} - ${MS(`${p}::timestamptz`)}) AS dist, ${countColumns('c', 'counts')}
    FROM devices.median_checkpoints c WHERE c.device_id = $1 AND c.at ${where} ${p}::timestamptz
    ORDER BY c.at ${order} LIMIT 1)`;
  const totals = (dist: string) =>
    `(SELECT 'infinity'::timestamptz AS at, -1 AS dir, ${dist} AS dist, ${countColumns('l', 'totals')} FROM l)`;
  if (openEnd) return `SELECT * FROM ${totals('0')} k WHERE ${p}::timestamptz IS NULL`;
  const hours = (agg: string) => `(SELECT ${MS(agg)} FROM devices.median_hours WHERE device_id = $1)`;
  const t = MS(`${p}::timestamptz`);
  const start = `(SELECT '-infinity'::timestamptz, 1, greatest(${t} - ${hours('min(bucket)')}, 0),
      ${Q.map(() => 'NULL::int8[]').join(', ')})`;
  return `SELECT * FROM (${ck('<=', 'DESC', 1)} UNION ALL ${ck('>', '', -1)} UNION ALL ${start}
      UNION ALL ${totals(`greatest(${hours("max(bucket) + interval '1 hour'")} - ${t}, 0)`)}) k
    WHERE ${p}::timestamptz IS NOT NULL ORDER BY dist, at LIMIT 1`;
}

/**
 * The raw readings between bound $p and its checkpoint k, as <name>_x/_y/_z: each axis's float8
 * values packed into one bytea (8 bytes each, big-endian; the three aligned, from one pass).
 * Thousands of values decode far faster so than as text, and bucket faster in JavaScript than in SQL.
 */
const nearRaw = (p: string, k: string, name: string) => `LEFT JOIN LATERAL (SELECT ${['x', 'y', 'z']
  .map((c) => `string_agg(float8send(r.${c}), ''::bytea) AS ${name}_${c}`)
  .join(', ')}
    FROM devices.readings r WHERE r.device_id = $1
      AND r.ts >= least(${k}.at, ${p}::timestamptz) AND r.ts < greatest(${k}.at, ${p}::timestamptz)
  ) ${name} ON true`;

/**
 * $1 device, $2 cached layout version, $3 S (null: from the start), $4 E (null: to the end). e<q>,
 * s<q>: the two checkpoints' counts per bucket (binary array format: far faster to decode than text;
 * null when none); s_*, e_*: the raw readings between each
 * bound and its checkpoint (C(<E) − C(<S) adds them with sign e_dir and −s_dir); s_at/e_at: the
 * checkpoints' times in ms (none: -Infinity); u_*: every reading the index does not hold (`unindexed`), for the
 * caller to add where before K.
 */
const HEAD_SQL = `WITH l AS (SELECT * FROM devices.median_layouts WHERE device_id = $1),
  ks AS MATERIALIZED (${checkpointFor('$3', false)}),
  ke AS MATERIALIZED (SELECT * FROM (${checkpointFor('$4', true)}) e UNION ALL (${checkpointFor('$4', false)})),
  un AS MATERIALIZED (SELECT d.ts, d.x, d.y, d.z FROM ${unindexed('(SELECT txid_bound FROM l)')})
SELECT l.version, ${Q.map((q, i) => `CASE WHEN l.version = $2 THEN NULL ELSE l.${q}_thresholds END AS t${i}`).join(', ')},
  coalesce(${MS('ks.at')}, '-Infinity') AS s_at, ${MS('ke.at')} AS e_at, ks.dir AS s_dir, ke.dir AS e_dir,
  ${Q.map((q, i) => `array_send(ke.${q}_counts) AS e${i}, array_send(ks.${q}_counts) AS s${i}`).join(', ')},
  s.s_x, s.s_y, s.s_z, e.e_x, e.e_y, e.e_z,
  (SELECT array_agg(ts) FROM un) AS u_ts, (SELECT array_agg(x) FROM un) AS u_x,
  (SELECT array_agg(y) FROM un) AS u_y, (SELECT array_agg(z) FROM un) AS u_z
FROM l LEFT JOIN ks ON true LEFT JOIN ke ON true ${nearRaw('$3', 'ks', 's')} ${nearRaw('$4', 'ke', 'e')}`;

/**
 * An int8[] in PostgreSQL's binary array format (array_send): ndim, has-nulls flag, element type, then
 * per dimension its size and lower bound, then per element its length and big-endian value. Null: [].
 */
function unpackInt8Array(bytes: Uint8Array | null): number[] {
  if (!bytes) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getInt32(0) === 0) return []; // an empty array has no dimensions
  const n = view.getInt32(12);
  const out = new Array<number>(n);
  for (let i = 0, at = 20; i < n; i++, at += 12) {
    out[i] = Number(view.getBigInt64(at + 4)); // at: the element's length (8)
  }
  return out;
}

/** float8 values packed big-endian in a bytea (float8send), as PostgreSQL and PGlite return it. */
function unpackFloat8(bytes: Uint8Array | null): Float64Array {
  if (!bytes) return new Float64Array(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, false);
  return out;
}

interface LayoutCacheEntry {
  version: number;
  thresholds: number[][];
}

type Row = Record<string, unknown>;

export interface MedianReaderOptions {
  /** Layouts kept in memory (thresholds change only when a device's index is rebuilt). */
  cacheSize?: number;
}

export function createMedianReader(options: MedianReaderOptions = {}) {
  const cacheSize = options.cacheSize ?? 10_000;
  const layouts = new Map<string, LayoutCacheEntry>();

  /**
   * The period's medians, or null when the device has no index, or when the index's count disagrees
   * with `expectedCount` (the caller then sorts the period: an answer is never wrong).
   */
  async function medians(
    tx: Queryable,
    deviceId: string,
    period: Period,
    expectedCount: number,
  ): Promise<Medians | null> {
    const S = period.start;
    const E = period.end ? new Date(period.end.getTime() + 1) : null;
    const cached = layouts.get(deviceId);
    // One statement: the layout (thresholds only when the cached version is stale), the period's
    // per-bucket counts as far as the two checkpoints and the raw readings near the bounds tell, and
    // the readings the index does not hold yet (they need the JavaScript side: see below).
    const [head] = await tx.query<Row & { version: number; u_ts: Date[] | null }>(HEAD_SQL, [
      deviceId,
      cached?.version ?? -1,
      iso(S),
      iso(E),
    ]);
    if (!head) return null;
    let layout = cached;
    if (!layout || layout.version !== head.version) {
      layout = { version: head.version, thresholds: Q.map((_, i) => head[`t${i}`] as number[]) };
      if (layouts.size >= cacheSize) layouts.delete(layouts.keys().next().value!);
      layouts.set(deviceId, layout);
    }
    const thresholds = layout.thresholds;
    const sAt = Number(head.s_at);
    const eAt = Number(head.e_at);
    // K(E) − K(S) per bucket (a missing checkpoint counts nothing).
    const counts = Q.map((_, q) => {
      const [e, s] = ['e', 's'].map((k) => unpackInt8Array(head[`${k}${q}`] as Uint8Array | null));
      return Array.from({ length: thresholds[q]!.length + 1 }, (_, b) => (e![b] ?? 0) - (s![b] ?? 0));
    });
    // The raw readings near each bound, into their buckets.
    for (const [side, sign] of [
      ['s', -Number(head.s_dir ?? 0)],
      ['e', Number(head.e_dir ?? 0)],
    ] as const) {
      const [xs, ys, zs] = ['x', 'y', 'z'].map((c) =>
        unpackFloat8(head[`${side}_${c}`] as Uint8Array | null),
      );
      for (let i = 0; i < xs!.length; i++) {
        const vs = quantitiesOf(xs![i]!, ys![i]!, zs![i]!);
        for (let q = 0; q < vs.length; q++) counts[q]![bucketOf(thresholds[q]!, vs[q]!)]! += sign;
      }
    }

    // The unindexed readings: in no checkpoint, so counted here when before a bound's checkpoint K
    // (between K and the bound the raw readings hold them already), and candidates when in the period.
    const sMs = S?.getTime() ?? Number.NEGATIVE_INFINITY;
    const eMs = E?.getTime() ?? Number.POSITIVE_INFINITY;
    const inPeriod: number[][] = [];
    const uTs = head.u_ts ?? [];
    const [ux, uy, uz] = ['u_x', 'u_y', 'u_z'].map((c) => (head[c] as number[] | null) ?? []);
    for (let i = 0; i < uTs.length; i++) {
      const vs = quantitiesOf(ux![i]!, uy![i]!, uz![i]!);
      const t = uTs[i]!.getTime();
      const sign = (t < eAt ? 1 : 0) - (t < sAt ? 1 : 0);
      if (sign !== 0) {
        vs.forEach((v, q) => {
          counts[q]![bucketOf(thresholds[q]!, v)]! += sign;
        });
      }
      if (t >= sMs && t < eMs) inPeriod.push(vs);
    }
    const n = counts[0]!.reduce((a, b) => a + b, 0);
    if (n !== expectedCount || n === 0) return null;

    // The middle ranks (0-based): the same one for an odd count.
    const ranks = [Math.floor((n - 1) / 2), Math.floor(n / 2)];
    const out = {} as Medians;
    const pending: { q: number; bucket: number; offsets: number[]; extra: string[] }[] = [];
    const values = Q.map(() => [0, 0]);
    Q.forEach((_, q) => {
      ranks.forEach((r, i) => {
        const { bucket, offset } = locateRank(counts[q]!, r);
        const single = singleValue(thresholds[q]!, bucket);
        if (single !== null) {
          values[q]![i] = single;
          return;
        }
        let p = pending.find((x) => x.q === q && x.bucket === bucket);
        if (!p) {
          const extra = inPeriod
            .filter((vs) => bucketOf(thresholds[q]!, vs[q]!) === bucket)
            .map((vs) => f8(vs[q]!));
          p = { q, bucket, offsets: [], extra };
          pending.push(p);
        }
        p.offsets.push(offset * 2 + i); // value offset and which middle rank, packed
      });
    });
    if (pending.length > 0) {
      const params: unknown[] = [deviceId, iso(S), iso(E)];
      const parts = pending.map((p, g) => {
        const offs = p.offsets.map((o) => o >> 1);
        const lo = Math.min(...offs);
        params.push(p.q, p.bucket, p.extra, lo, Math.max(...offs) - lo + 1);
        const a = params.length - 4;
        return `SELECT ${g} AS g, ARRAY(SELECT v FROM (
            SELECT u.v FROM devices.median_leaves l, unnest(l.vals, l.times) AS u(v, t)
            WHERE l.device_id = $1 AND l.quantity = $${a} AND l.bucket = $${a + 1}
              AND u.t >= coalesce($2::timestamptz, '-infinity') AND u.t < coalesce($3::timestamptz, 'infinity')
            UNION ALL SELECT unnest($${a + 2}::float8[])
          ) s ORDER BY v OFFSET $${a + 3} LIMIT $${a + 4}) AS vs`;
      });
      const rows = await tx.query<{ g: number; vs: number[] }>(parts.join(' UNION ALL '), params);
      for (const row of rows) {
        const p = pending[row.g]!;
        const lo = Math.min(...p.offsets.map((o) => o >> 1));
        for (const packed of p.offsets) values[p.q]![packed & 1] = row.vs[(packed >> 1) - lo]!;
      }
    }
    Q.forEach((q, i) => {
      out[q] = (values[i]![0]! + values[i]![1]!) / 2;
    });
    return out;
  }

  return { medians };
}
