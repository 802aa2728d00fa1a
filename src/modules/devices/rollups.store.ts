/**
 * Hourly rollups of readings (devices.rollups): per device and UTC hour, count, first/last time and
 * min/max/sum of value (x + y + z) and of each axis.
 *
 * They are maintained by the readings insert itself (ROLLUP_UPSERT, a CTE of the same statement), so a
 * reading is in its hour's rollup exactly when it is stored: atomic with it, visible with its commit,
 * never counted twice. A late reading simply adds to its (old) hour. Rows are upserted in
 * (device_id, bucket) order so concurrent statements lock rollup rows in one order (no deadlock).
 *
 * A period's count, min, max, sum, first and last read the rollups of the hours it covers whole and the
 * raw readings of at most two partial hours at its edges: the cost depends on the period's length in
 * hours, not on how many readings it holds.
 */
import type { Db } from '../../platform/db';
import { sqlTime } from '../../platform/time';
import type { Period } from './model';

export const HOUR_MS = 3_600_000;

export const QUANTITIES = [
  ['value', 'x + y + z'],
  ['x', 'x'],
  ['y', 'y'],
  ['z', 'z'],
] as const;
export type Quantity = (typeof QUANTITIES)[number][0];

/**
 * The columns of a rollup row after device_id and bucket: each one's aggregate over raw readings, and
 * how two rows' values combine (sum, min or max: merging partial rows, and the insert's upsert).
 */
const COLUMNS: readonly { name: string; raw: string; combine: 'sum' | 'min' | 'max' }[] = [
  { name: 'count', raw: 'count(*)', combine: 'sum' },
  { name: 'first_ts', raw: 'min(ts)', combine: 'min' },
  { name: 'last_ts', raw: 'max(ts)', combine: 'max' },
  ...QUANTITIES.flatMap(([q, e]) => [
    { name: `${q}_min`, raw: `min(${e})`, combine: 'min' as const },
    { name: `${q}_max`, raw: `max(${e})`, combine: 'max' as const },
    { name: `${q}_sum`, raw: `sum(${e})`, combine: 'sum' as const },
  ]),
];
const PAIRWISE = { min: 'least', max: 'greatest' } as const;

export const ROLLUP_COLUMNS = COLUMNS.map((c) => c.name);

/** The same quantities aggregated from raw readings, in ROLLUP_COLUMNS order. */
const RAW_AGGREGATES = COLUMNS.map((c) => c.raw).join(', ');

/** Merges rollup-shaped rows (count, first_ts, … in ROLLUP_COLUMNS order) into one. */
const MERGE = COLUMNS.map((c) => `${c.combine}(${c.name}) AS ${c.name}`).join(', ');

const UPSERT_SET = COLUMNS.map(({ name: c, combine }) =>
  combine === 'sum' ? `${c} = r.${c} + excluded.${c}` : `${c} = ${PAIRWISE[combine]}(r.${c}, excluded.${c})`,
).join(', ');

/**
 * A CTE (`, rolled AS (...)`) adding the rows of `source` (device_id, ts, x, y, z) to their hours.
 * `after`, when given, is a CTE with RETURNING rows that must finish first (the device registration:
 * registering after taking rollup locks could deadlock against a statement registering the same device).
 */
export function rollupUpsertCte(source: string, after?: string): string {
  const wait = after ? `WHERE (SELECT count(*) FROM ${after}) >= 0` : '';
  return `, rolled AS (
  INSERT INTO devices.rollups AS r (device_id, bucket, ${ROLLUP_COLUMNS.join(', ')})
  SELECT device_id, date_trunc('hour', ts, 'UTC'), ${RAW_AGGREGATES}
  FROM ${source} ${wait}
  GROUP BY 1, 2
  ORDER BY 1, 2
  ON CONFLICT (device_id, bucket) DO UPDATE SET ${UPSERT_SET}
  RETURNING 1
)`;
}

/**
 * Splits an inclusive period into the whole UTC hours it covers, [lo, hi), and the partial edges
 * [start, lo) and [hi, end]. Timestamps have millisecond precision, so ts <= end is ts < end + 1 ms.
 * Null = open (no edge on that side). When no hour is covered whole, lo = hi = start: one edge.
 */
export function splitPeriod(period: Period): { lo: Date | null; hi: Date | null } {
  const s = period.start?.getTime() ?? null;
  const e = period.end?.getTime() ?? null;
  const lo = s === null ? null : Math.ceil(s / HOUR_MS) * HOUR_MS;
  const hi = e === null ? null : Math.floor((e + 1) / HOUR_MS) * HOUR_MS;
  if (lo !== null && hi !== null && lo >= hi) return { lo: new Date(s!), hi: new Date(s!) };
  return { lo: lo === null ? null : new Date(lo), hi: hi === null ? null : new Date(hi) };
}

/**
 * SQL of the merged rollup-shaped row of the devices `devicesSql` selects (a subquery of ids, or `$1`
 * for one id) over the period with start, end and the whole hours' bounds lo, hi (`bounds`: SQL
 * expressions, by default $2-$5; periodParams): the whole hours from rollups, the two edges from raw
 * readings (index range scans of the primary key). With `byDevice`, one row per device and the
 * combined row (device_id NULL), as grouping sets.
 */
export function periodRollupSql(
  devicesSql: string,
  byDevice: boolean,
  [start, end, lo, hi] = ['$2', '$3', '$4', '$5'],
): string {
  const cols = ['device_id', ...ROLLUP_COLUMNS].join(', ');
  return `SELECT ${byDevice ? 'device_id, ' : ''}${MERGE} FROM (
    SELECT ${cols} FROM devices.rollups
    WHERE device_id IN (${devicesSql})
      AND bucket >= coalesce(${lo}::timestamptz, '-infinity') AND bucket < coalesce(${hi}::timestamptz, 'infinity')
    UNION ALL
    SELECT device_id, ${RAW_AGGREGATES} FROM devices.readings
    WHERE device_id IN (${devicesSql}) AND ts >= ${start}::timestamptz AND ts < ${lo}::timestamptz
    GROUP BY device_id
    UNION ALL
    SELECT device_id, ${RAW_AGGREGATES} FROM devices.readings
    WHERE device_id IN (${devicesSql}) AND ts >= ${hi}::timestamptz AND ts <= ${end}::timestamptz
    GROUP BY device_id
  ) parts${byDevice ? ' GROUP BY GROUPING SETS ((device_id), ())' : ''}`;
}

/** $2-$5 of periodRollupSql: start, end, and the whole hours' bounds lo, hi. */
export function periodParams(period: Period): (string | null)[] {
  const { lo, hi } = splitPeriod(period);
  return [sqlTime(period.start), sqlTime(period.end), sqlTime(lo), sqlTime(hi)];
}

export function createRollupsStore(db: Pick<Db, 'transaction'>) {
  return {
    /**
     * Rebuilds the rollups of these devices (all when null) from their readings, in one transaction that
     * holds writers of rollups off meanwhile (SHARE ROW EXCLUSIVE: inserts wait, reads go on): a reading
     * committed during the rebuild could otherwise be lost or counted twice. For data loaded around the
     * insert path (bulk loads) and the full recalculation.
     */
    async rebuild(deviceIds: readonly string[] | null): Promise<void> {
      const where = deviceIds ? 'WHERE device_id = ANY($1::text[])' : '';
      const params = deviceIds ? [deviceIds] : [];
      await db.transaction(async (tx) => {
        await tx.query('LOCK TABLE devices.rollups IN SHARE ROW EXCLUSIVE MODE');
        await tx.query(`DELETE FROM devices.rollups ${where}`, params);
        await tx.query(
          `INSERT INTO devices.rollups (device_id, bucket, ${ROLLUP_COLUMNS.join(', ')})
           SELECT device_id, date_trunc('hour', ts, 'UTC'), ${RAW_AGGREGATES}
           FROM devices.readings ${where} GROUP BY 1, 2`,
          params,
        );
      });
    },
  };
}

export type RollupsStore = ReturnType<typeof createRollupsStore>;
