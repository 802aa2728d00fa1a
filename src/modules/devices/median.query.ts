/**
 * The reader of the median index (median.index.ts): per indexed device and period [S, E) (E = end +
 * 1 ms), the period's counts per value bucket, from which median.leaves.ts finds exact medians, in a
 * snapshot the caller holds (REPEATABLE READ) so that every part agrees. Many devices over one period
 * (a user's) or one device over many periods (a series) take one statement.
 *
 * C(<t), the readings before t per bucket, comes from the checkpoint K nearest to t: the one before it
 * plus the raw readings from K to t, or the one after it minus the raw readings from t to K, where an
 * empty checkpoint at -infinity and the layout's bucket totals (every indexed reading) at +infinity
 * count as checkpoints; plus the readings the index does not hold yet that lie before K. So an open
 * end (all time, or "until now") reads no raw readings at all, and a bound in the history reads at
 * most half a checkpoint spacing of them, bucketed in JavaScript. The period's counts per bucket are
 * C(<E) − C(<S); the middle rank's bucket follows, and its exact value is read from that bucket's
 * leaves (its indexed values in the period, a few hundred to a few thousand) and the unindexed
 * readings in it, or is the bucket's one value when it can hold only one (median.leaves.ts).
 * Checkpoint counts the reader was sent stay in memory, checked by stamp. Cost: two checkpoint rows,
 * the raw readings near S and E, the unindexed readings, and one bucket per quantity and middle rank —
 * independent of how many readings the device or the period holds.
 */
import { LRUCache } from 'lru-cache';
import type { Queryable } from '../../platform/db';
import { sqlTime } from '../../platform/time';
import { bucketFinder } from './median.layout';
import { MEDIAN_QUANTITIES, quantitiesOf, unindexed, unpackFloat8, unpackInt8Array } from './median.sql';
import type { Period } from './model';
import type { Quantity } from './rollups.store';

export type Medians = Record<Quantity, number>;

const Q = MEDIAN_QUANTITIES;

const MS = (at: string) => `extract(epoch FROM ${at})::float8 * 1000`;
/**
 * A checkpoint row's stamp (its xmin: any rewrite changes it) and its counts, or NULL counts when the
 * caller holds these very ones in memory ($5 devices, $6 times in ms, $7 stamps: what it sent).
 */
const stampedCounts = (alias: string, at: string, suffix: string) => {
  const held = `(l.device_id, ${MS(at)}, ${alias}.xmin::text) IN (SELECT * FROM unnest($5::text[], $6::float8[], $7::text[]))`;
  return `${alias}.xmin::text AS stamp, ${Q.map((q) => `CASE WHEN ${held} THEN NULL ELSE ${alias}.${q}_${suffix} END AS ${q}_counts`).join(', ')}`;
};

/**
 * The checkpoint K used for bound $p of device l (CTE text, lateral to the layout row l): the nearest
 * one in time, before the bound (dir 1: C(<t) = K + raw[K, t)) or after it (dir -1: C(<t) = K −
 * raw[t, K)), where an empty checkpoint at -infinity and the layout's totals (every indexed reading) at
 * +infinity are candidates too. None when the bound is open at the start; the totals when open at the
 * end. Either way C(<t) also adds the unindexed readings before K.
 */
function checkpointFor(p: string, openEnd: boolean): string {
  const ck = (where: string, order: string, dir: number) => `(SELECT c.at, ${dir} AS dir,
      abs(${MS('c.at')} - ${MS(`${p}::timestamptz`)}) AS dist, ${stampedCounts('c', 'c.at', 'counts')}
    FROM devices.median_checkpoints c WHERE c.device_id = l.device_id AND c.at ${where} ${p}::timestamptz
    ORDER BY c.at ${order} LIMIT 1)`;
  const totals = (dist: string) =>
    `(SELECT 'infinity'::timestamptz AS at, -1 AS dir, ${dist} AS dist,
      ${stampedCounts('l', "'infinity'::timestamptz", 'totals')})`;
  if (openEnd) return `SELECT * FROM ${totals('0')} k WHERE ${p}::timestamptz IS NULL`;
  const hours = (agg: string) =>
    `(SELECT ${MS(agg)} FROM devices.median_hours WHERE device_id = l.device_id)`;
  const t = MS(`${p}::timestamptz`);
  const start = `(SELECT '-infinity'::timestamptz, 1, greatest(${t} - ${hours('min(bucket)')}, 0),
      NULL::text, ${Q.map(() => 'NULL::int8[]').join(', ')})`;
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
    FROM devices.readings r WHERE r.device_id = l.device_id
      AND r.ts >= least(${k}.at, ${p}::timestamptz) AND r.ts < greatest(${k}.at, ${p}::timestamptz)
  ) ${name} ON true`;

/**
 * Per target (want: a device of $1 that has an index, $2 the layout version cached for it, $3 S and $4
 * E of its period, null = open; n its position), $5-$7 the checkpoints the caller holds. e<q>, s<q>:
 * the two checkpoints' counts per bucket (binary array format: far faster to decode than text; null
 * when none or held: s_stamp/e_stamp say which); s_*, e_*: the raw readings between each bound and its
 * checkpoint (C(<E) − C(<S) adds them with sign e_dir and −s_dir); s_at/e_at: the checkpoints' times in
 * ms (none: -Infinity); u_*: every reading the index does not hold (`unindexed`, once per device), for
 * the caller to add where before K. Each part is a lateral subquery of the target's layout row: one
 * statement serves one device, a user's many over one period, or one device over many periods.
 */
const HEAD_SQL = `WITH want AS MATERIALIZED (
    SELECT * FROM unnest($1::text[], $2::int4[], $3::timestamptz[], $4::timestamptz[])
      WITH ORDINALITY AS w(id, ver, s, e, n)
  ),
  un AS MATERIALIZED (
    SELECT l.device_id, x.* FROM devices.median_layouts l
    CROSS JOIN LATERAL (SELECT array_agg(d.ts) AS u_ts, array_agg(d.x) AS u_x, array_agg(d.y) AS u_y,
        array_agg(d.z) AS u_z
      FROM ${unindexed('l.txid_bound', undefined, 'l.device_id')}) x
    WHERE l.device_id IN (SELECT id FROM want)
  )
SELECT want.n, l.device_id, l.version,
  ${Q.map((q, i) => `CASE WHEN l.version = want.ver THEN NULL ELSE l.${q}_thresholds END AS t${i}`).join(', ')},
  coalesce(${MS('ks.at')}, '-Infinity') AS s_at, ${MS('ke.at')} AS e_at, ks.dir AS s_dir, ke.dir AS e_dir,
  ks.stamp AS s_stamp, ke.stamp AS e_stamp,
  ${Q.map((q, i) => `array_send(ke.${q}_counts) AS e${i}, array_send(ks.${q}_counts) AS s${i}`).join(', ')},
  s.s_x, s.s_y, s.s_z, e.e_x, e.e_y, e.e_z, un.u_ts, un.u_x, un.u_y, un.u_z
FROM want
  JOIN devices.median_layouts l ON l.device_id = want.id
  LEFT JOIN LATERAL (${checkpointFor('want.s', false)} OFFSET 0) ks ON true
  LEFT JOIN LATERAL (SELECT * FROM (${checkpointFor('want.e', true)}) e1
    UNION ALL (${checkpointFor('want.e', false)})) ke ON true
  ${nearRaw('want.s', 'ks', 's')} ${nearRaw('want.e', 'ke', 'e')}
  LEFT JOIN un ON un.device_id = l.device_id`;

interface LayoutCacheEntry {
  version: number;
  thresholds: number[][];
  /** Per quantity, bucketOf its thresholds (bucketFinder). */
  bucket: Finder[];
}

type Row = Record<string, unknown>;
type Finder = (v: number) => number;

/** What the index says of one device's period: counts per quantity and bucket, and its layout. */
export interface PeriodCounts {
  /** The period as [S, E) (null: open): the bounds its values are read with (median.leaves.ts). */
  S: Date | null;
  E: Date | null;
  thresholds: number[][];
  /** Per quantity and bucket: the period's readings (indexed and not). */
  counts: Float64Array[];
  /** The period's readings the index does not hold, as their four quantities. */
  inPeriod: [number, number, number, number][];
  /** The period's count by the index (the caller compares it with the rollups'). */
  n: number;
}

export interface MedianReaderOptions {
  /**
   * Layouts kept in memory, in thresholds (up to 4 × 4,095 per device; 12 bytes each with their
   * bucketFinder guide): thresholds change only when a device's index is rebuilt. The default, 4M
   * (~48 MB), holds ~250 devices at the 4,096-bucket cap, or thousands of smaller ones.
   */
  layoutCacheNumbers?: number;
  /**
   * Checkpoints' counts kept in memory, in numbers (4 per bucket; 8 bytes each): a device asked about
   * the same bounds again gets its stamps checked instead of its counts sent (up to 4 × 4,097 numbers,
   * ~200 KB, per checkpoint). The default, 4M (32 MB), holds the all-time totals of ~250 devices of
   * 4,096 buckets, or of thousands of smaller ones: a user's devices are asked about together.
   */
  checkpointCacheNumbers?: number;
}

interface HeldCounts {
  stamp: string;
  counts: Float64Array[];
}

/** Entries weigh their numbers (at least 1: lru-cache needs a positive size). */
const weigh = (arrays: ArrayLike<number>[]) =>
  Math.max(
    1,
    arrays.reduce((n, a) => n + a.length, 0),
  );

export function createMedianReader(options: MedianReaderOptions = {}) {
  /** Device → layout, least recently used out first. */
  const layouts = new LRUCache<string, LayoutCacheEntry>({
    maxSize: options.layoutCacheNumbers ?? 4_000_000,
    sizeCalculation: (l) => weigh(l.thresholds),
  });
  /** `${device}|${time in ms}` → a checkpoint's counts and stamp. */
  const held = new LRUCache<string, HeldCounts>({
    maxSize: options.checkpointCacheNumbers ?? 4_000_000,
    sizeCalculation: (h) => weigh(h.counts),
  });

  /** One side's checkpoint counts: sent (and then kept), or held (the statement saw the same stamp). */
  function sideCounts(head: Row, side: 's' | 'e', sent: Map<string, HeldCounts>): Float64Array[] | null {
    const stamp = head[`${side}_stamp`] as string | null;
    const key = `${head.device_id as string}|${Number(head[`${side}_at`])}`;
    if (stamp !== null && head[`${side}0`] === null) {
      held.get(key); // used: most recent again
      return sent.get(key)?.counts ?? null;
    }
    const counts = Q.map((_, q) => unpackInt8Array(head[`${side}${q}`] as Uint8Array | null));
    if (stamp !== null) held.set(key, { stamp, counts });
    return counts;
  }

  /** Per quantity and bucket, the period's readings of one device, from its head row. */
  function countsOf(
    head: Row,
    S: Date | null,
    E: Date | null,
    sent: Map<string, HeldCounts>,
  ): PeriodCounts | null {
    const deviceId = head.device_id as string;
    let layout = layouts.get(deviceId);
    if (!layout || layout.version !== head.version) {
      const thresholds = Q.map((_, i) => head[`t${i}`] as number[]);
      layout = { version: head.version as number, thresholds, bucket: thresholds.map(bucketFinder) };
      layouts.set(deviceId, layout);
    }
    const { thresholds, bucket } = layout;
    const sAt = Number(head.s_at);
    const eAt = Number(head.e_at);
    // K(E) − K(S) per bucket (a missing checkpoint counts nothing).
    const [eCounts, sCounts] = [sideCounts(head, 'e', sent), sideCounts(head, 's', sent)];
    if (!eCounts || !sCounts) return null; // held when sent, evicted since: not expected, but never wrong
    const counts = Q.map((_, q) => {
      const [e, s] = [eCounts[q]!, sCounts[q]!];
      const c = new Float64Array(thresholds[q]!.length + 1);
      for (let b = 0; b < c.length; b++) c[b] = (e[b] ?? 0) - (s[b] ?? 0);
      return c;
    });
    // The raw readings near each bound, into their buckets.
    for (const [side, sign] of [
      ['s', -Number(head.s_dir ?? 0)],
      ['e', Number(head.e_dir ?? 0)],
    ] as const) {
      const [xs, ys, zs] = ['x', 'y', 'z'].map((c) =>
        unpackFloat8(head[`${side}_${c}`] as Uint8Array | null),
      );
      const [c0, c1, c2, c3] = counts as [Float64Array, Float64Array, Float64Array, Float64Array];
      const [b0, b1, b2, b3] = bucket as [Finder, Finder, Finder, Finder];
      for (let i = 0; i < xs!.length; i++) {
        const [x, y, z] = [xs![i]!, ys![i]!, zs![i]!];
        // quantitiesOf(x, y, z), unrolled: this loop runs for every raw reading near a bound.
        c0[b0(x + y + z)]! += sign;
        c1[b1(x)]! += sign;
        c2[b2(y)]! += sign;
        c3[b3(z)]! += sign;
      }
    }
    // The unindexed readings: in no checkpoint, so counted here when before a bound's checkpoint K
    // (between K and the bound the raw readings hold them already), and candidates when in the period.
    const sMs = S?.getTime() ?? Number.NEGATIVE_INFINITY;
    const eMs = E?.getTime() ?? Number.POSITIVE_INFINITY;
    const inPeriod: [number, number, number, number][] = [];
    const uTs = (head.u_ts as Date[] | null) ?? [];
    const [ux, uy, uz] = ['u_x', 'u_y', 'u_z'].map((c) => (head[c] as number[] | null) ?? []);
    for (let i = 0; i < uTs.length; i++) {
      const vs = quantitiesOf(ux![i]!, uy![i]!, uz![i]!);
      const t = uTs[i]!.getTime();
      const sign = (t < eAt ? 1 : 0) - (t < sAt ? 1 : 0);
      if (sign !== 0) {
        vs.forEach((v, q) => {
          counts[q]![bucket[q]!(v)]! += sign;
        });
      }
      if (t >= sMs && t < eMs) inPeriod.push(vs);
    }
    return { S, E, thresholds, counts, inPeriod, n: counts[0]!.reduce((a, b) => a + b, 0) };
  }

  /**
   * Per target (a device and a period), the period's counts per bucket, or null when the device has no
   * index; one statement, in a snapshot the caller holds.
   */
  async function periodCounts(
    tx: Queryable,
    targets: readonly { deviceId: string; period: Period }[],
  ): Promise<(PeriodCounts | null)[]> {
    const bounds = targets.map(({ period }) => ({
      S: period.start,
      E: period.end ? new Date(period.end.getTime() + 1) : null,
    }));
    // The checkpoints held for these devices, as they are now (the answer may evict some meanwhile).
    const ids = new Set(targets.map((t) => t.deviceId));
    const sent = new Map<string, HeldCounts>();
    for (const [key, h] of held.entries()) if (ids.has(key.slice(0, key.lastIndexOf('|')))) sent.set(key, h);
    const keys = [...sent.keys()].map((k) => k.lastIndexOf('|'));
    const heads = await tx.query<Row>(HEAD_SQL, [
      targets.map((t) => t.deviceId),
      targets.map((t) => layouts.peek(t.deviceId)?.version ?? -1),
      bounds.map((b) => sqlTime(b.S)),
      bounds.map((b) => sqlTime(b.E)),
      [...sent.keys()].map((k, i) => k.slice(0, keys[i])),
      [...sent.keys()].map((k, i) => k.slice(keys[i]! + 1)),
      [...sent.values()].map((h) => h.stamp),
    ]);
    const out: (PeriodCounts | null)[] = targets.map(() => null);
    for (const h of heads) {
      const i = Number(h.n) - 1;
      out[i] = countsOf(h, bounds[i]!.S, bounds[i]!.E, sent);
    }
    return out;
  }

  return { periodCounts };
}

export type MedianReader = ReturnType<typeof createMedianReader>;
