/**
 * Building a device's median index from scratch (the layout, leaves, checkpoints and median_hours; see
 * median.index.ts for what each holds), and the pieces the incremental update shares with it.
 */
import type { Queryable } from '../../platform/db';
import { sqlTime } from '../../platform/time';
import { singleValue, thresholdsFrom } from './median.layout';
import {
  bucketSql,
  f8,
  indexedReadings,
  LEAF_SIZE,
  LOCK_DEVICE,
  MEDIAN_QUANTITIES,
  QUANTITY_ROWS,
  TXID_BOUND,
  thresholdParams,
  txidLiteral,
} from './median.sql';

export interface MedianIndexOptions {
  /** Devices with fewer readings are not indexed: sorting them on demand costs less. */
  minReadings: number;
  /** Readings per bucket when a layout is built. */
  bucketTarget: number;
  /** At most this many buckets per quantity. */
  maxBuckets: number;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const Q = MEDIAN_QUANTITIES;
export const cols = (suffix: string) => Q.map((q) => `${q}_${suffix}`);

export interface Layout {
  version: number;
  thresholds: number[][];
  totals: number[][];
  builtCount: number;
  indexedCount: number;
  /** The index holds exactly the readings with txid below this (an xid8, as text). */
  txidBound: string;
}

type LayoutRow = Record<string, unknown> & {
  version: number;
  built_count: number;
  indexed_count: number;
  txid_bound: string;
};

export async function loadLayout(tx: Queryable, deviceId: string): Promise<Layout | null> {
  const rows = await tx.query<LayoutRow>(
    'SELECT *, txid_bound::text AS txid_bound FROM devices.median_layouts WHERE device_id = $1',
    [deviceId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    version: r.version,
    thresholds: cols('thresholds').map((c) => r[c] as number[]),
    totals: cols('totals').map((c) => (r[c] as number[]).map(Number)),
    builtCount: Number(r.built_count),
    indexedCount: Number(r.indexed_count),
    txidBound: r.txid_bound,
  };
}

/** The bound for a run on a device whose lock the transaction holds (TXID_BOUND). */
export async function txidBoundNow(tx: Queryable): Promise<string> {
  const [row] = await tx.query<{ bound: string }>(TXID_BOUND);
  return row!.bound;
}

/** Readings between checkpoints: about two per bucket. */
const spacingOf = (thresholds: number[][], o: MedianIndexOptions) =>
  2 * Math.max(o.bucketTarget, ...thresholds.map((t) => t.length + 1));

/** Per quantity and bucket, the indexed readings (txid below `bound`) with from <= ts < to (null: open). */
async function windowCounts(
  tx: Queryable,
  deviceId: string,
  from: Date | null,
  to: Date | null,
  thresholds: number[][],
  bound: string,
): Promise<number[][]> {
  const window = indexedReadings(txidLiteral(bound), '$2', '$3');
  const rows = await tx.query<{ q: number; b: number; n: number }>(
    `SELECT qv.q, ${bucketSql(thresholdParams(4))} AS b, count(*)::int8 AS n
     FROM ${window.from} ${QUANTITY_ROWS} WHERE ${window.where}
     GROUP BY 1, 2`,
    [deviceId, sqlTime(from), sqlTime(to), ...thresholds.map((t) => t.map(f8))],
  );
  const counts = thresholds.map((t) => new Array<number>(t.length + 1).fill(0));
  for (const r of rows) counts[r.q]![r.b] = Number(r.n);
  return counts;
}

export async function insertCheckpoint(tx: Queryable, deviceId: string, at: Date, counts: number[][]) {
  await tx.query(
    `INSERT INTO devices.median_checkpoints (device_id, at, ${cols('counts').join(', ')})
     VALUES ($1, $2, $3::int8[], $4::int8[], $5::int8[], $6::int8[])
     ON CONFLICT (device_id, at) DO UPDATE SET ${cols('counts')
       .map((c) => `${c} = excluded.${c}`)
       .join(', ')}`,
    [deviceId, sqlTime(at), ...counts],
  );
}

/** The indexed readings (txid below `bound`) per minute from `from` to the end of that hour. */
async function minuteCounts(tx: Queryable, deviceId: string, hour: Date, from: Date | null, bound: string) {
  const start = from && from > hour ? from : hour;
  return tx.query<{ minute: Date; count: number }>(
    `SELECT date_trunc('minute', ts, 'UTC') AS minute, count(*)::int8 AS count FROM devices.readings
     WHERE device_id = $1 AND txid < ${txidLiteral(bound)} AND ts >= $2 AND ts < $3
     GROUP BY 1 ORDER BY 1`,
    [deviceId, sqlTime(start), sqlTime(new Date(hour.getTime() + HOUR_MS))],
  );
}

/**
 * Adds checkpoints after the last one while the indexed readings after it (per median_hours) reach
 * the spacing: each at the end of the minute that reached it, its counts the previous checkpoint's plus
 * the window's. Minutes, not hours: an hour of a fast device holds many spacings (a 300/s sensor, a
 * million readings), and a bound reads the raw readings between it and its checkpoint.
 */
export async function extendCheckpoints(
  tx: Queryable,
  deviceId: string,
  layout: Layout,
  o: MedianIndexOptions,
) {
  const spacing = spacingOf(layout.thresholds, o);
  const last = await tx.query<Record<string, unknown> & { at: Date }>(
    'SELECT * FROM devices.median_checkpoints WHERE device_id = $1 ORDER BY at DESC LIMIT 1',
    [deviceId],
  );
  let from: Date | null = last[0]?.at ?? null;
  let counts = last[0]
    ? cols('counts').map((c) => (last[0]![c] as number[]).map(Number))
    : layout.thresholds.map((t) => new Array<number>(t.length + 1).fill(0));
  const hours = await tx.query<{ bucket: Date; count: number }>(
    `SELECT bucket, count FROM devices.median_hours
     WHERE device_id = $1 AND bucket >= date_trunc('hour', coalesce($2::timestamptz, '-infinity'), 'UTC')
     ORDER BY bucket`,
    [deviceId, sqlTime(from)],
  );
  let acc = 0;
  for (const h of hours) {
    // A whole hour after the last checkpoint that does not reach the spacing: counted whole.
    if (!(from && from > h.bucket) && acc + Number(h.count) < spacing) {
      acc += Number(h.count);
      continue;
    }
    for (const m of await minuteCounts(tx, deviceId, h.bucket, from, layout.txidBound)) {
      acc += Number(m.count);
      if (acc < spacing) continue;
      const at = new Date(m.minute.getTime() + MINUTE_MS);
      const window = await windowCounts(tx, deviceId, from, at, layout.thresholds, layout.txidBound);
      counts = counts.map((c, q) => c.map((n, b) => n + window[q]![b]!));
      await insertCheckpoint(tx, deviceId, at, counts);
      from = at;
      acc = 0;
    }
  }
}

/** Writes the layout; `rebuilt` gives it a new version (its buckets changed, so caches reload). */
export async function saveLayout(
  tx: Queryable,
  deviceId: string,
  l: Omit<Layout, 'version'>,
  rebuilt: boolean,
) {
  await tx.query(
    `INSERT INTO devices.median_layouts AS m (device_id, version, ${cols('thresholds').join(', ')},
       ${cols('totals').join(', ')}, built_count, indexed_count, txid_bound, built_at)
     VALUES ($1, 1, $2::float8[], $3::float8[], $4::float8[], $5::float8[],
       $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10, $11, $13::int8, now())
     ON CONFLICT (device_id) DO UPDATE SET
       version = m.version + $12::int,
       ${[...cols('thresholds'), ...cols('totals'), 'built_count', 'indexed_count', 'txid_bound', 'built_at']
         .map(
           (c) =>
             `${c} = ${c === 'built_at' ? `CASE WHEN $12::int = 1 THEN now() ELSE m.built_at END` : `excluded.${c}`}`,
         )
         .join(', ')}`,
    [
      deviceId,
      ...l.thresholds.map((t) => t.map(f8)),
      ...l.totals,
      l.builtCount,
      l.indexedCount,
      rebuilt ? 1 : 0,
      l.txidBound,
    ],
  );
}

/**
 * Builds the device's index anew from its readings with txid below a bound taken after the lock (a
 * new layout, so a new version).
 */
export async function rebuild(tx: Queryable, deviceId: string, o: MedianIndexOptions): Promise<number> {
  await tx.query(LOCK_DEVICE, [deviceId]);
  const bound = await txidBoundNow(tx);
  const below = txidLiteral(bound);
  for (const t of ['median_hours', 'median_leaves', 'median_checkpoints']) {
    await tx.query(`DELETE FROM devices.${t} WHERE device_id = $1`, [deviceId]);
  }
  const hours = await tx.query<{ count: number }>(
    `INSERT INTO devices.median_hours (device_id, bucket, count)
     SELECT device_id, date_trunc('hour', ts, 'UTC'), count(*) FROM devices.readings
     WHERE device_id = $1 AND txid < ${below} GROUP BY 1, 2 RETURNING count`,
    [deviceId],
  );
  const ALL = indexedReadings(below);
  const n = hours.reduce((s, h) => s + Number(h.count), 0);
  if (n === 0) {
    await tx.query('DELETE FROM devices.median_layouts WHERE device_id = $1', [deviceId]);
    return 0;
  }
  const buckets = Math.min(o.maxBuckets, Math.max(1, Math.ceil(n / o.bucketTarget)));
  const fractions = Array.from({ length: buckets - 1 }, (_, i) => (i + 1) / buckets);
  let thresholds: number[][] = Q.map(() => []);
  if (fractions.length > 0) {
    const exprs = ['r.x + r.y + r.z', 'r.x', 'r.y', 'r.z'];
    const [row] = await tx.query<Record<string, number[]>>(
      `SELECT ${exprs.map((e, i) => `percentile_disc($2::float8[]) WITHIN GROUP (ORDER BY ${e}) AS q${i}`).join(', ')}
       FROM ${ALL.from} WHERE ${ALL.where}`,
      [deviceId, fractions],
    );
    thresholds = Q.map((_, i) => thresholdsFrom(row![`q${i}`]!));
  }
  await tx.query(
    `INSERT INTO devices.median_leaves (device_id, quantity, bucket, seq, vals, times, t_min, t_max)
     SELECT $1, q, b, (rn - 1) / ${LEAF_SIZE}, array_agg(v ORDER BY rn), array_agg(t ORDER BY rn), min(t), max(t)
     FROM (
       SELECT q, b, v, t, row_number() OVER (PARTITION BY q, b ORDER BY t) AS rn
       FROM (SELECT qv.q, ${bucketSql(thresholdParams(2))} AS b, qv.v, r.ts AS t FROM ${ALL.from} ${QUANTITY_ROWS}
             WHERE ${ALL.where}) s
     ) s2
     GROUP BY q, b, (rn - 1) / ${LEAF_SIZE}`,
    [deviceId, ...thresholds.map((t) => t.map(f8))],
  );
  const totals = await windowCounts(tx, deviceId, null, null, thresholds, bound);
  const layout = { thresholds, totals, builtCount: n, indexedCount: n, txidBound: bound };
  await saveLayout(tx, deviceId, layout, true);
  await extendCheckpoints(tx, deviceId, { ...layout, version: 0 }, o);
  return n;
}

/** True when a bucket that can hold more than one value grew past 8 times its share. */
export function unbalanced(l: Layout, o: MedianIndexOptions): boolean {
  return l.totals.some((totals, q) => {
    const share = Math.max(o.bucketTarget, l.builtCount / totals.length);
    return totals.some((n, b) => n > 8 * share && singleValue(l.thresholds[q]!, b) === null);
  });
}
