/**
 * Aggregate SQL. Count, min, max, sum and first/last come from the hourly rollups plus the partial
 * hours at a period's edges (rollups.store.ts); exact medians from the devices' median indexes
 * (median.query.ts, and median.owner.ts for a user's devices) when they have one, otherwise from the
 * period's readings (an index-only scan of the covering primary key). `raw*` computes everything from
 * the readings in one pass: the oracle the tests compare with, and the benchmark's "on demand" column.
 * How medians are computed and rounded: aggregates.rows.ts.
 *
 * Sums are float8, added in scan order; exact while the partial sums are exactly
 * representable (e.g. values with few decimals and moderate size), otherwise within float8 rounding
 * (relative error below n * 2^-53). Inputs are bounded (|axis| <= 1e100) so no sum can overflow.
 */
import type { Db, Queryable } from '../../platform/db';
import {
  type AggregateRow,
  bounds,
  IN_PERIOD,
  MIDDLES,
  OWNED,
  type OwnerAggregates,
  ownerResult,
  RAW,
  toAggregates,
  withMedians,
} from './aggregates.rows';
import { mediansOf } from './median.leaves';
import { ownerMedians } from './median.owner';
import { createMedianReader } from './median.query';
import type { Aggregates, Page, PageRequest, Period, StoredAggregates } from './model';
import { periodParams, periodRollupSql, QUANTITIES } from './rollups.store';

/** The columns of devices.aggregates after device_id. */
const COLUMNS = [
  'count',
  'first_ts',
  'last_ts',
  ...QUANTITIES.flatMap(([q]) => [`${q}_min`, `${q}_max`, `${q}_sum`, `${q}_median`]),
];

const INDEXED = 'EXISTS (SELECT 1 FROM devices.median_layouts WHERE device_id = $1)';
/** Rollups, plus the medians by sorting the period's readings unless the device has a median index. */
const FOR_DEVICE = `SELECT * FROM (${periodRollupSql('$1', false)}) t,
  (SELECT ${MIDDLES} FROM devices.readings WHERE device_id = $1 AND ${IN_PERIOD} AND NOT ${INDEXED}) m,
  (SELECT ${INDEXED} AS indexed) i`;
const FOR_DEVICE_SORTED = `SELECT * FROM (${periodRollupSql('$1', false)}) t,
  (SELECT ${MIDDLES} FROM devices.readings WHERE device_id = $1 AND ${IN_PERIOD}) m`;

/** Rollups of device $1 over each period of $2-$5 (starts, ends, whole hours' lo and hi): row n per period. */
const PERIODS_SQL = `SELECT p.n, t.*
  FROM unnest($2::timestamptz[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[])
    WITH ORDINALITY AS p(s, e, lo, hi, n)
  CROSS JOIN LATERAL (${periodRollupSql('$1', false, ['p.s', 'p.e', 'p.lo', 'p.hi'])}) t`;

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

  /**
   * A user's devices, each and combined (grouping sets of the rollups), with medians from the devices'
   * indexes (median.owner.ts) and a sort of the few readings of devices without one; all sorted when
   * an index disagrees with its rollups.
   */
  async function owner(userId: number, period: Period, tx: Queryable): Promise<OwnerAggregates> {
    type OwnerRow = AggregateRow & { device_id: string | null };
    const params = [userId, ...periodParams(period)];
    const rows = await tx.query<OwnerRow>(`SELECT * FROM (${periodRollupSql(OWNED, true)}) t`, params);
    const counts = new Map<string, number>();
    for (const r of rows)
      if (r.device_id !== null && Number(r.count) > 0) counts.set(r.device_id, Number(r.count));
    if (counts.size === 0) return ownerResult(rows);
    const m = await ownerMedians(tx, reader, period, counts);
    if (!m) {
      options.onIndexMismatch?.(`user ${userId}`, period);
      const sorted = await tx.query<OwnerRow>(
        `SELECT t.*, m.* FROM (${periodRollupSql(OWNED, true)}) t
         JOIN (
           SELECT device_id AS mid_device_id, ${MIDDLES} FROM devices.readings
           WHERE device_id IN (${OWNED}) AND ${IN_PERIOD}
           GROUP BY GROUPING SETS ((device_id), ())
         ) m ON m.mid_device_id IS NOT DISTINCT FROM t.device_id`,
        params,
      );
      return ownerResult(sorted);
    }
    const small = [...counts.keys()].filter((id) => !m.devices.has(id));
    const smallMids = new Map<string, AggregateRow>();
    if (small.length > 0) {
      const mids = await tx.query<AggregateRow & { device_id: string }>(
        `SELECT device_id, ${MIDDLES} FROM devices.readings
         WHERE device_id = ANY($1::text[]) AND ${IN_PERIOD} GROUP BY device_id`,
        [small, ...bounds(period)],
      );
      for (const r of mids) smallMids.set(r.device_id, r);
    }
    const combined = rows.find((r) => r.device_id === null)!;
    const devices = new Map<string, Aggregates>();
    for (const r of rows) {
      if (r.device_id === null || !counts.has(r.device_id)) continue;
      const own = m.devices.get(r.device_id);
      devices.set(
        r.device_id,
        own ? withMedians(r, own) : toAggregates({ ...r, ...smallMids.get(r.device_id) }),
      );
    }
    return { combined: withMedians(combined, m.combined), devices };
  }

  /**
   * An indexed device over one or many periods (a series' buckets), in the caller's snapshot and three
   * statements: every period's rollups (PERIODS_SQL), every period's counts per bucket from the median
   * index, every middle bucket's values. A period the index
   * cannot answer (no index, or a count that disagrees with the rollups: logged) is sorted instead.
   */
  async function manyPeriods(
    deviceId: string,
    periods: readonly Period[],
    tx: Queryable,
  ): Promise<(Aggregates | null)[]> {
    const params = periods.map(periodParams);
    const rows = await tx.query<AggregateRow & { n: number }>(PERIODS_SQL, [
      deviceId,
      ...[0, 1, 2, 3].map((k) => params.map((p) => p[k])),
    ]);
    const byPeriod = new Map(rows.map((r) => [Number(r.n) - 1, r]));
    const wanted = periods.flatMap((period, i) => {
      const row = byPeriod.get(i);
      return row && Number(row.count) > 0 ? [{ i, period, row }] : [];
    });
    const pcs = await reader.periodCounts(
      tx,
      wanted.map(({ period }) => ({ deviceId, period })),
    );
    const answered = wanted.flatMap((w, k) => {
      const pc = pcs[k];
      return pc && pc.n === Number(w.row.count) ? [{ ...w, pc }] : [];
    });
    const medians = await mediansOf(
      tx,
      answered.map(({ pc }) => ({ deviceId, pc })),
    );
    const out: (Aggregates | null)[] = periods.map(() => null);
    answered.forEach(({ i, row }, k) => {
      out[i] = withMedians(row, medians[k]!);
    });
    for (const [k, { i, period }] of wanted.entries()) {
      if (out[i] !== null) continue;
      if (pcs[k]) options.onIndexMismatch?.(deviceId, period);
      const [sorted] = await tx.query<AggregateRow>(FOR_DEVICE_SORTED, [deviceId, ...periodParams(period)]);
      out[i] = toAggregates(sorted!);
    }
    return out;
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
    if (tx !== db) return (await manyPeriods(deviceId, [period], tx))[0]!;
    return db.transaction(async (t) => (await manyPeriods(deviceId, [period], t))[0]!, { snapshot: true });
  }

  return {
    forDevice,

    /** forDevice over each of these periods, in one snapshot (the series of a large period). */
    forPeriods(deviceId: string, periods: readonly Period[]): Promise<(Aggregates | null)[]> {
      return db.transaction((tx) => manyPeriods(deviceId, periods, tx), { snapshot: true });
    },

    /** The user's devices combined and each device, in one snapshot. */
    forOwner(userId: number, period: Period, tx: Queryable = db): Promise<OwnerAggregates> {
      if (tx !== db) return owner(userId, period, tx);
      return db.transaction((t) => owner(userId, period, t), { snapshot: true });
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
