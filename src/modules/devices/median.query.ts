/**
 * Exact medians of an indexed device over a period [S, E) (E = end + 1 ms), from the median index
 * (median.index.ts), in a snapshot the caller holds (REPEATABLE READ) so that every part agrees.
 *
 * C(<t), the readings before t per bucket, is the last checkpoint at or before t, plus the raw readings
 * from that checkpoint to t (fewer than about two checkpoint spacings: one index range scan), plus the
 * readings the index does not hold yet that lie before that checkpoint. The period's counts per bucket
 * are C(<E) − C(<S); the middle rank's bucket follows, and its exact value is read from that bucket's
 * leaves (its indexed values in the period, a few hundred to a few thousand) and the unindexed readings
 * in it, or is the bucket's one value when it can hold only one. Cost: two checkpoint rows, the raw
 * readings near S and E, the unindexed readings, and one bucket per quantity and middle rank —
 * independent of how many readings the device or the period holds.
 */
import type { Queryable } from '../../platform/db';
import { bucketOf, locateRank, singleValue } from './median.layout';
import { f8, MEDIAN_QUANTITIES, quantitiesOf, UNINDEXED } from './median.sql';
import type { Period } from './model';
import type { Quantity } from './rollups.store';

export type Medians = Record<Quantity, number>;

const Q = MEDIAN_QUANTITIES;
const COUNTS = Q.map((q) => `${q}_counts`);
const iso = (d: Date | null) => d?.toISOString() ?? null;

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
    const [head] = await tx.query<Row & { version: number }>(
      `SELECT l.version, ${Q.map((q, i) => `CASE WHEN l.version = $2 THEN NULL ELSE l.${q}_thresholds END AS t${i}`).join(', ')},
         cs.at AS s_at, ce.at AS e_at,
         ${COUNTS.map(
           (c) => `ARRAY(SELECT coalesce(e, 0) - coalesce(s, 0)
             FROM unnest(ce.${c}, cs.${c}) WITH ORDINALITY AS u(e, s, i) ORDER BY i) AS d_${c}`,
         ).join(', ')}
       FROM devices.median_layouts l
       LEFT JOIN LATERAL (SELECT * FROM devices.median_checkpoints c WHERE c.device_id = $1 AND c.at <= $3
         ORDER BY c.at DESC LIMIT 1) cs ON true
       LEFT JOIN LATERAL (SELECT * FROM devices.median_checkpoints c
         WHERE c.device_id = $1 AND c.at <= coalesce($4::timestamptz, 'infinity')
         ORDER BY c.at DESC LIMIT 1) ce ON true
       WHERE l.device_id = $1`,
      [deviceId, cached?.version ?? -1, iso(S), iso(E)],
    );
    if (!head) return null;
    let layout = cached;
    if (!layout || layout.version !== head.version) {
      layout = { version: head.version, thresholds: Q.map((_, i) => head[`t${i}`] as number[]) };
      if (layouts.size >= cacheSize) layouts.delete(layouts.keys().next().value!);
      layouts.set(deviceId, layout);
    }
    const thresholds = layout.thresholds;
    const sAt = (head.s_at as Date | null)?.getTime() ?? Number.NEGATIVE_INFINITY;
    const eAt = (head.e_at as Date | null)?.getTime() ?? Number.NEGATIVE_INFINITY;

    const counts = thresholds.map((t) => new Array<number>(t.length + 1).fill(0));
    // The checkpoints' difference, C(<E) − C(<S) as far as they go (empty when neither exists).
    COUNTS.forEach((c, q) => {
      (head[`d_${c}`] as number[]).forEach((n, b) => {
        counts[q]![b]! += Number(n);
      });
    });

    // The raw readings between each checkpoint and its bound (k 0: before S, k 1: before E; one row
    // of arrays each: thousands of readings decode far faster so) and the unindexed ones (k 2).
    const raw = await tx.query<{ k: number; xs: number[]; ys: number[]; zs: number[]; ts: Date | null }>(
      `SELECT 0 AS k, array_agg(x) AS xs, array_agg(y) AS ys, array_agg(z) AS zs, NULL::timestamptz AS ts
       FROM devices.readings
       WHERE device_id = $1 AND $2::timestamptz IS NOT NULL
         AND ts >= coalesce($3::timestamptz, '-infinity') AND ts < $2::timestamptz
       HAVING count(*) > 0
       UNION ALL
       SELECT 1, array_agg(x), array_agg(y), array_agg(z), NULL FROM devices.readings
       WHERE device_id = $1 AND ts >= coalesce($5::timestamptz, '-infinity')
         AND ts < coalesce($4::timestamptz, 'infinity')
       HAVING count(*) > 0
       UNION ALL
       SELECT 2, ARRAY[d.x], ARRAY[d.y], ARRAY[d.z], d.ts FROM ${UNINDEXED}
         AND ro.bucket < coalesce($4::timestamptz, 'infinity')`,
      [deviceId, iso(S), iso(head.s_at as Date | null), iso(E), iso(head.e_at as Date | null)],
    );
    const sMs = S?.getTime() ?? Number.NEGATIVE_INFINITY;
    const eMs = E?.getTime() ?? Number.POSITIVE_INFINITY;
    const inPeriod: number[][] = [];
    for (const r of raw) {
      for (let i = 0; i < r.xs.length; i++) countRaw(r, i);
    }
    function countRaw(r: (typeof raw)[number], i: number) {
      const vs = quantitiesOf(r.xs[i]!, r.ys[i]!, r.zs[i]!);
      const bs = vs.map((v, q) => bucketOf(thresholds[q]!, v));
      const add = (sign: number) =>
        bs.forEach((b, q) => {
          counts[q]![b]! += sign;
        });
      if (r.k === 0) add(-1);
      else if (r.k === 1) add(1);
      else {
        const t = r.ts!.getTime();
        if (t < eAt) add(1);
        if (t < sAt) add(-1);
        if (t >= sMs && t < eMs) inPeriod.push(vs);
      }
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
