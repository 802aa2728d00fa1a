/**
 * Aggregate rows: the SQL select lists every aggregate query shares and the mapping of their rows to
 * domain objects.
 *
 * Median: percentile_disc picks the two middle values (the same one twice for an odd count) and
 * JavaScript averages them as (lo + hi) / 2: correctly rounded (|values| <= 3e100, so the sum cannot
 * overflow), bit for bit the lo/2 + hi/2 computed here before wherever halving is exact, and defined
 * for subnormal values, where PostgreSQL's float8 division raises "underflow" when a half rounds to 0.
 * percentile_cont(0.5) computes lo + (hi - lo) * 0.5 instead, which rounds twice: on PostgreSQL 15 it
 * differed in the last bit for 29% of random pairs. The second fraction selects row ceil(n * 0.5000000000001) = n/2 + 1 for
 * even n and the middle row for odd n, exact for any period of fewer than 10^13 rows.
 */

import { sqlTime } from '../../platform/time';
import type { Medians } from './median.query';
import type { Aggregates, Period, Stat } from './model';
import { QUANTITIES, type Quantity } from './rollups.store';

const MIDDLE_FRACTIONS = 'ARRAY[0.5, 0.5000000000001]';
/** The two middle values of each quantity (percentile_disc), as `<q>_mid` float8[2]. */
export const MIDDLES = QUANTITIES.map(
  ([q, expr]) => `percentile_disc(${MIDDLE_FRACTIONS}) WITHIN GROUP (ORDER BY ${expr}) AS ${q}_mid`,
).join(', ');
/** Everything from the readings in one pass (the oracle). */
export const RAW = [
  'count(*) AS count',
  'min(ts) AS first_ts',
  'max(ts) AS last_ts',
  ...QUANTITIES.map(([q, e]) => `min(${e}) AS ${q}_min, max(${e}) AS ${q}_max, sum(${e}) AS ${q}_sum`),
  MIDDLES,
].join(', ');
export const IN_PERIOD = `ts >= coalesce($2::timestamptz, '-infinity') AND ts <= coalesce($3::timestamptz, 'infinity')`;
export const OWNED = 'SELECT id FROM devices.devices WHERE owner_id = $1::int8';

export type AggregateRow = Record<string, unknown> & {
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

export function toAggregates(r: AggregateRow): Aggregates {
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

export const bounds = (p: Period) => [sqlTime(p.start), sqlTime(p.end)];

/** A user's devices combined (null when none has readings in the period) and each device with any. */
export interface OwnerAggregates {
  combined: Aggregates | null;
  devices: Map<string, Aggregates>;
}

export function ownerResult(rows: (AggregateRow & { device_id: string | null })[]): OwnerAggregates {
  let combined: Aggregates | null = null;
  const devices = new Map<string, Aggregates>();
  for (const row of rows) {
    if (!(Number(row.count) > 0)) continue;
    if (row.device_id === null) combined = toAggregates(row);
    else devices.set(row.device_id, toAggregates(row));
  }
  return { combined, devices };
}

/** The row with the index's medians as middles (midpoint(m, m) = m). */
export const withMedians = (row: AggregateRow, m: Medians): Aggregates =>
  toAggregates({ ...row, ...Object.fromEntries(Object.entries(m).map(([q, v]) => [`${q}_mid`, [v, v]])) });
