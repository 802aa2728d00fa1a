/**
 * The median index: what makes a device's exact medians cost the same at 10 thousand readings and at
 * 10 million. It is built off the insert path, per device with at least `minReadings` readings:
 *
 * - a layout: per quantity, thresholds cutting the values into B ≈ n / bucketTarget buckets of about
 *   equal size (median.layout.ts), and each bucket's total;
 * - checkpoints: at hour boundaries spaced about 2·B readings apart, the count of indexed readings
 *   before it, per bucket (dense arrays);
 * - leaves: every indexed reading's value and time, per quantity and bucket, in chunks of 64;
 * - median_hours: per hour, how many readings the index holds.
 *
 * Which readings it holds: exactly the device's readings whose txid (their inserting transaction) is
 * below the layout's bound. A run takes its bound after locking the device: the xmin of a snapshot
 * taken then, so every transaction below it has ended (committed or rolled back) and the readings
 * below it cannot change any more, in whatever order concurrent inserts commit. A reading the index
 * lacks makes its hour's rollup count differ from median_hours' count, so the readings to add (and
 * those a reader adds raw) are found in those hours only: txid at or above the old bound.
 *
 * `update` adds the readings below a new bound and `rebuild` starts over with a new layout, when a device
 * is first indexed, when its count doubled since the layout was built, or when a bucket grew to 8× its
 * share. Both run in one transaction holding the device's advisory lock; readers never wait (they
 * use a snapshot). How answers use it: median.query.ts.
 */
import type { Db, Queryable } from '../../platform/db';
import { sqlTime } from '../../platform/time';
import {
  cols,
  extendCheckpoints,
  insertCheckpoint,
  type Layout,
  loadLayout,
  type MedianIndexOptions,
  rebuild,
  saveLayout,
  txidBoundNow,
  unbalanced,
} from './median.build';
import { bucketOf } from './median.layout';
import { f8, LEAF_SIZE, LOCK_DEVICE, quantitiesOf, txidLiteral, unindexed } from './median.sql';

export type { MedianIndexOptions } from './median.build';

export const MEDIAN_INDEX_DEFAULTS: MedianIndexOptions = {
  minReadings: 4096,
  bucketTarget: 128,
  maxBuckets: 4096,
};

interface NewRow {
  ts: Date;
  x: number;
  y: number;
  z: number;
  hour: Date;
}

/** Appends values to their buckets' last leaf chunk, then to new chunks. */
async function appendLeaves(tx: Queryable, deviceId: string, rows: NewRow[], layout: Layout) {
  const groups = new Map<string, { q: number; b: number; v: number[]; t: Date[] }>();
  for (const r of rows) {
    quantitiesOf(r.x, r.y, r.z).forEach((v, q) => {
      const b = bucketOf(layout.thresholds[q]!, v);
      const key = `${q}:${b}`;
      let g = groups.get(key);
      if (!g) {
        g = { q, b, v: [], t: [] };
        groups.set(key, g);
      }
      g.v.push(v);
      g.t.push(r.ts);
    });
  }
  const list = [...groups.values()];
  const lastChunks = await tx.query<{ quantity: number; bucket: number; seq: number; len: number }>(
    `SELECT DISTINCT ON (quantity, bucket) quantity, bucket, seq, cardinality(vals) AS len
     FROM devices.median_leaves
     WHERE device_id = $1 AND (quantity, bucket) IN (SELECT * FROM unnest($2::int2[], $3::int4[]))
     ORDER BY quantity, bucket, seq DESC`,
    [deviceId, list.map((g) => g.q), list.map((g) => g.b)],
  );
  const last = new Map(lastChunks.map((c) => [`${c.quantity}:${c.bucket}`, c]));
  const out = {
    q: [] as number[],
    b: [] as number[],
    s: [] as number[],
    v: [] as string[],
    t: [] as string[],
  };
  for (const g of list) {
    const c = last.get(`${g.q}:${g.b}`);
    let seq = c ? c.seq : 0;
    let len = c ? Number(c.len) : 0;
    g.v.forEach((v, i) => {
      if (len >= LEAF_SIZE) [seq, len] = [seq + 1, 0];
      out.q.push(g.q);
      out.b.push(g.b);
      out.s.push(seq);
      out.v.push(f8(v));
      out.t.push(sqlTime(g.t[i]!));
      layout.totals[g.q]![g.b]! += 1;
      len++;
    });
  }
  await tx.query(
    `INSERT INTO devices.median_leaves AS l (device_id, quantity, bucket, seq, vals, times, t_min, t_max)
     SELECT $1, q, b, s, array_agg(v ORDER BY n), array_agg(t ORDER BY n), min(t), max(t)
     FROM unnest($2::int2[], $3::int4[], $4::int4[], $5::float8[], $6::timestamptz[])
       WITH ORDINALITY AS u(q, b, s, v, t, n)
     GROUP BY q, b, s
     ON CONFLICT (device_id, quantity, bucket, seq)
     DO UPDATE SET vals = l.vals || excluded.vals, times = l.times || excluded.times,
       t_min = least(l.t_min, excluded.t_min), t_max = greatest(l.t_max, excluded.t_max)`,
    [deviceId, out.q, out.b, out.s, out.v, out.t],
  );
}

/** Adds late readings (before existing checkpoints) to those checkpoints' counts. */
async function addToCheckpoints(tx: Queryable, deviceId: string, rows: NewRow[], layout: Layout) {
  let earliest = Number.POSITIVE_INFINITY;
  for (const r of rows) earliest = Math.min(earliest, r.ts.getTime());
  const later = await tx.query<Record<string, unknown> & { at: Date }>(
    'SELECT * FROM devices.median_checkpoints WHERE device_id = $1 AND at > $2 ORDER BY at',
    [deviceId, sqlTime(new Date(earliest))],
  );
  for (const ck of later) {
    const counts = cols('counts').map((c) => (ck[c] as number[]).map(Number));
    for (const r of rows) {
      if (r.ts.getTime() >= ck.at.getTime()) continue;
      quantitiesOf(r.x, r.y, r.z).forEach((v, q) => {
        counts[q]![bucketOf(layout.thresholds[q]!, v)]! += 1;
      });
    }
    await insertCheckpoint(tx, deviceId, ck.at, counts);
  }
}

/** Brings the device's index up to date; returns how many readings it added (or rebuilt). */
async function update(tx: Queryable, deviceId: string, o: MedianIndexOptions): Promise<number> {
  await tx.query(LOCK_DEVICE, [deviceId]);
  const layout = await loadLayout(tx, deviceId);
  if (!layout) return rebuild(tx, deviceId, o);
  const bound = await txidBoundNow(tx);
  const [pending] = await tx.query<{ n: number }>(
    `SELECT coalesce(sum(ro.count - coalesce(mh.count, 0)), 0)::int8 AS n FROM devices.rollups ro
     LEFT JOIN devices.median_hours mh ON mh.device_id = ro.device_id AND mh.bucket = ro.bucket
     WHERE ro.device_id = $1 AND ro.count <> coalesce(mh.count, 0)`,
    [deviceId],
  );
  const n = Number(pending!.n);
  if (n === 0) return 0;
  // Many new readings at once (a bulk load, an indexer that was off): starting over costs no more.
  if (layout.indexedCount + n > 2 * layout.builtCount || n > Math.max(100_000, layout.builtCount / 4))
    return rebuild(tx, deviceId, o);
  const rows = await tx.query<NewRow>(
    `SELECT d.ts, d.x, d.y, d.z, ro.bucket AS hour
     FROM ${unindexed(txidLiteral(layout.txidBound), txidLiteral(bound))}`,
    [deviceId],
  );
  // Readings below the new bound that the index lacks are all in `rows`: from here it holds all of them.
  layout.txidBound = bound;
  if (rows.length === 0) {
    await saveLayout(tx, deviceId, layout, false);
    return 0;
  }
  await appendLeaves(tx, deviceId, rows, layout);
  if (unbalanced(layout, o)) return rebuild(tx, deviceId, o);
  const hours = new Map<number, number>();
  for (const r of rows) hours.set(r.hour.getTime(), (hours.get(r.hour.getTime()) ?? 0) + 1);
  await tx.query(
    `INSERT INTO devices.median_hours AS h (device_id, bucket, count)
     SELECT $1, bucket, n FROM unnest($2::timestamptz[], $3::int8[]) AS u(bucket, n)
     ON CONFLICT (device_id, bucket) DO UPDATE SET count = h.count + excluded.count`,
    [deviceId, [...hours.keys()].map((t) => sqlTime(new Date(t))), [...hours.values()]],
  );
  await addToCheckpoints(tx, deviceId, rows, layout);
  layout.indexedCount += rows.length;
  await saveLayout(tx, deviceId, layout, false);
  await extendCheckpoints(tx, deviceId, layout, o);
  return rows.length;
}

export function createMedianIndex(
  db: Pick<Db, 'query' | 'transaction'>,
  options: Partial<MedianIndexOptions> = {},
) {
  const o = { ...MEDIAN_INDEX_DEFAULTS, ...options };
  return {
    options: o,
    /** Devices with enough readings whose index misses some (or that have none yet). */
    async staleDevices(): Promise<string[]> {
      const rows = await db.query<{ device_id: string }>(
        `SELECT ro.device_id FROM devices.rollups ro
         LEFT JOIN devices.median_hours mh ON mh.device_id = ro.device_id AND mh.bucket = ro.bucket
         GROUP BY ro.device_id
         HAVING sum(ro.count) >= $1 AND bool_or(ro.count <> coalesce(mh.count, 0))
         ORDER BY ro.device_id`,
        [o.minReadings],
      );
      return rows.map((r) => r.device_id);
    },
    /**
     * Updates (or with `full`, rebuilds) the index of those of these devices with enough readings; a
     * device that fell below the threshold cannot exist (readings are never deleted).
     */
    async refresh(deviceIds: readonly string[], full: boolean): Promise<void> {
      const rows = await db.query<{ device_id: string }>(
        `SELECT device_id FROM devices.rollups WHERE device_id = ANY($1::text[])
         GROUP BY device_id HAVING sum(count) >= $2 ORDER BY device_id`,
        [deviceIds, o.minReadings],
      );
      for (const { device_id: id } of rows) {
        await db.transaction((tx) => (full ? rebuild(tx, id, o) : update(tx, id, o)));
      }
    },
    update: (deviceId: string) => db.transaction((tx) => update(tx, deviceId, o)),
    rebuild: (deviceId: string) => db.transaction((tx) => rebuild(tx, deviceId, o)),
  };
}

export type MedianIndex = ReturnType<typeof createMedianIndex>;
