/**
 * Aggregate SQL. Count, min, max, sum and first/last come from the hourly rollups plus the partial
 * hours at a period's edges (rollups.store.ts); a device's exact medians from its median index
 * (median.query.ts) when it has one, otherwise (and a user's devices combined) from the period's
 * readings (an index-only scan of the covering primary key). `raw*` computes everything from the readings in one pass: the oracle the
 * tests compare with, and the benchmark's "on demand" column.
 *
 * Median: percentile_disc picks the two middle values (the same one twice for an odd count) and
 * JavaScript averages them as (lo + hi) / 2: correctly rounded (|values| <= 3e100, so the sum cannot
 * overflow), bit for bit the lo/2 + hi/2 computed here before wherever halving is exact, and defined
 * for subnormal values, where PostgreSQL's float8 division raises "underflow" when a half rounds to 0.
 * percentile_cont(0.5) computes lo + (hi - lo) * 0.5 instead, which rounds twice: on PostgreSQL 15 it
 * differed in the last bit for 29% of random pairs. The second fraction selects row ceil(n * 0.5000000000001) = n/2 + 1 for
 * even n and the middle row for odd n, exact for any period of fewer than 10^13 rows.
 *
 * Sums are float8, added in scan order; exact while the partial sums are exactly
 * representable (e.g. values with few decimals and moderate size), otherwise within float8 rounding
 * (relative error below n * 2^-53). Inputs are bounded (|axis| <= 1e100) so no sum can overflow.
 */
import type { Db, Queryable } from '../../platform/db';
import { createMedianReader, type Medians } from './median.query';
import type { Aggregates, Page, PageRequest, Period, Stat, StoredAggregates } from './model';
import { periodParams, periodRollupSql, QUANTITIES, type Quantity } from './rollups.store';

const MIDDLE_FRACTIONS = 'ARRAY[0.5, 0.5000000000001]';
/** The two middle values of each quantity (percentile_disc), as `<q>_mid` float8[2]. */
const MIDDLES = QUANTITIES.map(
  ([q, expr]) => `percentile_disc(${MIDDLE_FRACTIONS}) WITHIN GROUP (ORDER BY ${expr}) AS ${q}_mid`,
).join(', ');
/** Everything from the readings in one pass (the oracle). */
const RAW = [
  'count(*) AS count',
  'min(ts) AS first_ts',
  'max(ts) AS last_ts',
  ...QUANTITIES.map(([q, e]) => `min(${e}) AS ${q}_min, max(${e}) AS ${q}_max, sum(${e}) AS ${q}_sum`),
  MIDDLES,
].join(', ');
const IN_PERIOD = `ts >= coalesce($2::timestamptz, '-infinity') AND ts <= coalesce($3::timestamptz, 'infinity')`;
const OWNED = 'SELECT id FROM devices.devices WHERE owner_id = $1::int8';

/** The columns of devices.aggregates after device_id. */
const COLUMNS = [
  'count',
  'first_ts',
  'last_ts',
  ...QUANTITIES.flatMap(([q]) => [`${q}_min`, `${q}_max`, `${q}_sum`, `${q}_median`]),
];

type AggregateRow = Record<string, unknown> & {
  count: number | string | null;
  first_ts: Date;
  last_ts: Date;
};

/** The mean of the two middle values, correctly rounded (see the file comment). */
export const midpoint = (lo: number, hi: number) => (lo + hi) / 2;

function toStat(r: AggregateRow, q: Quantity): Stat {
  const mid = r[`${q}_mid`] as number[] | undefined;
  return {
    min: r[`${q}_min`] as number,
    max: r[`${q}_max`] as number,
    sum: r[`${q}_sum`] as number,
    median: mid ? midpoint(mid[0]!, mid[1]!) : (r[`${q}_median`] as number),
  };
}

function toAggregates(r: AggregateRow): Aggregates {
  return {
    count: Number(r.count),
    value: toStat(r, 'value'),
    x: toStat(r, 'x'),
    y: toStat(r, 'y'),
    z: toStat(r, 'z'),
    first: r.first_ts,
    last: r.last_ts,
  };
}

const bounds = (p: Period) => [p.start?.toISOString() ?? null, p.end?.toISOString() ?? null];

/** A user's devices combined (null when none has readings in the period) and each device with any. */
export interface OwnerAggregates {
  combined: Aggregates | null;
  devices: Map<string, Aggregates>;
}

function ownerResult(rows: (AggregateRow & { device_id: string | null })[]): OwnerAggregates {
  let combined: Aggregates | null = null;
  const devices = new Map<string, Aggregates>();
  for (const row of rows) {
    if (!(Number(row.count) > 0)) continue;
    if (row.device_id === null) combined = toAggregates(row);
    else devices.set(row.device_id, toAggregates(row));
  }
  return { combined, devices };
}

const INDEXED = 'EXISTS (SELECT 1 FROM devices.median_layouts WHERE device_id = $1)';
/** Rollups, plus the medians by sorting the period's readings unless the device has a median index. */
const FOR_DEVICE = `SELECT * FROM (${periodRollupSql('$1', false)}) t,
  (SELECT ${MIDDLES} FROM devices.readings WHERE device_id = $1 AND ${IN_PERIOD} AND NOT ${INDEXED}) m,
  (SELECT ${INDEXED} AS indexed) i`;
const FOR_DEVICE_SORTED = `SELECT * FROM (${periodRollupSql('$1', false)}) t,
  (SELECT ${MIDDLES} FROM devices.readings WHERE device_id = $1 AND ${IN_PERIOD}) m`;

/** The row with the index's medians as middles (midpoint(m, m) = m). */
const withMedians = (row: AggregateRow, m: Medians): Aggregates =>
  toAggregates({ ...row, ...Object.fromEntries(Object.entries(m).map(([q, v]) => [`${q}_mid`, [v, v]])) });

export interface AggregatesStoreOptions {
  /**
   * Called when a device's median index disagrees with its rollups about a period's count (a bug): the
   * answer then comes from sorting the period, as for devices without an index.
   */
  onIndexMismatch?: (deviceId: string, period: Period) => void;
}

export function createAggregatesStore(
  db: Pick<Db, 'query' | 'transaction'>,
  options: AggregatesStoreOptions = {},
) {
  const reader = createMedianReader();

  /** Devices known to have a median index (an index, once built, stays). */
  const indexedDevices = new Set<string>();

  /** With the median index, in one snapshot: the rollups and the index's medians. */
  async function indexed(deviceId: string, period: Period, tx: Queryable): Promise<Aggregates | null> {
    const params = [deviceId, ...periodParams(period)];
    const [row] = await tx.query<AggregateRow>(`SELECT * FROM (${periodRollupSql('$1', false)}) t`, params);
    if (!row || !(Number(row.count) > 0)) return null;
    const m = await reader.medians(tx, deviceId, period, Number(row.count));
    if (m) return withMedians(row, m);
    options.onIndexMismatch?.(deviceId, period);
    const [sorted] = await tx.query<AggregateRow>(FOR_DEVICE_SORTED, params);
    return toAggregates(sorted!);
  }

  /** Aggregates of one device's readings in the period; null when it has none there. */
  async function forDevice(deviceId: string, period: Period, tx: Queryable = db): Promise<Aggregates | null> {
    if (!indexedDevices.has(deviceId)) {
      const rows = await tx.query<AggregateRow & { indexed: boolean }>(FOR_DEVICE, [
        deviceId,
        ...periodParams(period),
      ]);
      const row = rows[0];
      if (!row || !(Number(row.count) > 0)) return null;
      if (!row.indexed) return toAggregates(row);
      if (indexedDevices.size >= 100_000) indexedDevices.clear();
      indexedDevices.add(deviceId);
    }
    if (tx !== db) return indexed(deviceId, period, tx);
    return db.transaction((t) => indexed(deviceId, period, t), { snapshot: true });
  }

  return {
    forDevice,

    /** The user's devices combined and each device (grouping sets). */
    async forOwner(userId: number, period: Period, tx: Queryable = db): Promise<OwnerAggregates> {
      const rows = await tx.query<AggregateRow & { device_id: string | null }>(
        `SELECT t.*, m.* FROM (${periodRollupSql(OWNED, true)}) t
         JOIN (
           SELECT device_id AS mid_device_id, ${MIDDLES} FROM devices.readings
           WHERE device_id IN (${OWNED}) AND ${IN_PERIOD}
           GROUP BY GROUPING SETS ((device_id), ())
         ) m ON m.mid_device_id IS NOT DISTINCT FROM t.device_id`,
        [userId, ...periodParams(period)],
      );
      return ownerResult(rows);
    },

    /** forDevice computed from the readings alone in one pass (the oracle). */
    async rawForDevice(deviceId: string, period: Period, tx: Queryable = db): Promise<Aggregates | null> {
      const rows = await tx.query<AggregateRow>(
        `SELECT ${RAW} FROM devices.readings WHERE device_id = $1 AND ${IN_PERIOD}`,
        [deviceId, ...bounds(period)],
      );
      const row = rows[0];
      return row && Number(row.count) > 0 ? toAggregates(row) : null;
    },

    /** forOwner computed from the readings alone in one scan (the oracle). */
    async rawForOwner(userId: number, period: Period, tx: Queryable = db): Promise<OwnerAggregates> {
      const rows = await tx.query<AggregateRow & { device_id: string | null }>(
        `SELECT device_id, ${RAW} FROM devices.readings
         WHERE device_id IN (${OWNED}) AND ${IN_PERIOD}
         GROUP BY GROUPING SETS ((device_id), ())`,
        [userId, ...bounds(period)],
      );
      return ownerResult(rows);
    },

    /**
     * Devices whose stored all-time aggregates miss readings, or that have none stored: the incremental
     * recalculation's work list. Readings are never updated or deleted, so a device changed exactly when
     * its reading count (the sum of its hourly rollups) differs from the stored count.
     */
    async changedDeviceIds(tx: Queryable = db): Promise<string[]> {
      const rows = await tx.query<{ id: string }>(
        `SELECT d.id FROM devices.devices d
         LEFT JOIN devices.aggregates a ON a.device_id = d.id
         CROSS JOIN LATERAL (SELECT coalesce(sum(r.count), 0) AS n FROM devices.rollups r WHERE r.device_id = d.id) c
         WHERE c.n > 0 AND (a.device_id IS NULL OR a.count <> c.n)
         ORDER BY d.id`,
      );
      return rows.map((r) => r.id);
    },

    /** Every registered device id, in order (the full recalculation's work list). */
    async deviceIds(tx: Queryable = db): Promise<string[]> {
      const rows = await tx.query<{ id: string }>('SELECT id FROM devices.devices ORDER BY id');
      return rows.map((r) => r.id);
    },

    /** Recomputes and stores all-time aggregates of these devices; returns how many had readings. */
    async storeAllTime(deviceIds: readonly string[], taskId: string, tx: Queryable = db): Promise<number> {
      if (deviceIds.length === 0) return 0;
      const computed: [string, Aggregates][] = [];
      for (const id of deviceIds) {
        const a = await forDevice(id, { start: null, end: null }, tx);
        if (a) computed.push([id, a]);
      }
      if (computed.length === 0) return 0;
      const column = (f: (a: Aggregates) => unknown) => computed.map(([, a]) => f(a));
      const values: unknown[][] = [
        computed.map(([id]) => id),
        column((a) => a.count),
        column((a) => a.first.toISOString()),
        column((a) => a.last.toISOString()),
        ...QUANTITIES.flatMap(([q]) => [
          column((a) => a[q].min),
          column((a) => a[q].max),
          column((a) => a[q].sum),
          column((a) => a[q].median),
        ]),
      ];
      const types = [
        'text',
        'int8',
        'timestamptz',
        'timestamptz',
        ...QUANTITIES.flatMap(() => Array(4).fill('float8')),
      ];
      await tx.query(
        `INSERT INTO devices.aggregates (device_id, ${COLUMNS.join(', ')}, computed_at, task_id)
         SELECT *, now(), $${values.length + 1}::uuid FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
         ON CONFLICT (device_id) DO UPDATE SET
           ${[...COLUMNS, 'computed_at', 'task_id'].map((c) => `${c} = excluded.${c}`).join(', ')}`,
        [...values, taskId],
      );
      return computed.length;
    },

    async listStored(page: PageRequest, tx: Queryable = db): Promise<Page<StoredAggregates>> {
      const rows = await tx.query<
        AggregateRow & { device_id: string; computed_at: Date; task_id: string; pending: number | string }
      >(
        `SELECT device_id, ${COLUMNS.map((c) => `a.${c}`).join(', ')}, computed_at, task_id,
           (SELECT coalesce(sum(r.count), 0) FROM devices.rollups r WHERE r.device_id = a.device_id) - a.count
             AS pending
         FROM devices.aggregates a
         WHERE $1::text IS NULL OR device_id > $1
         ORDER BY device_id
         LIMIT $2`,
        [page.after, page.limit + 1],
      );
      const items = rows.slice(0, page.limit).map((r) => ({
        ...toAggregates(r),
        deviceId: r.device_id,
        computedAt: r.computed_at,
        taskId: r.task_id,
        pendingReadings: Number(r.pending),
      }));
      return { items, nextAfter: rows.length > page.limit ? items[items.length - 1]!.deviceId : null };
    },
  };
}

export type AggregatesStore = ReturnType<typeof createAggregatesStore>;
