/**
 * SQL pieces shared by the median index's builder (median.index.ts) and its reader (median.query.ts).
 */
import { QUANTITIES, type Quantity } from './rollups.store';

/** Quantities in index order (median_leaves.quantity is the position). */
export const MEDIAN_QUANTITIES: readonly Quantity[] = QUANTITIES.map(([q]) => q);

/** Readings per leaf chunk (median_leaves rows). */
export const LEAF_SIZE = 64;

/** Serialises the index's work on one device across processes (held until the transaction ends). */
export const LOCK_DEVICE = `SELECT pg_advisory_xact_lock(hashtextextended('telelab.devices.median:' || $1, 0))`;

/**
 * The bound of a run of the index on a device whose lock it holds (see median.index.ts): the xmin of a
 * snapshot taken now, so every transaction with a lower id has ended and the readings below it are
 * final. As text: an xid8 can pass 2^53.
 */
export const TXID_BOUND = 'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS bound';

/** A txid bound as an SQL literal (checked: it is spliced into statements). */
export function txidLiteral(bound: string): string {
  if (!/^\d{1,20}$/.test(bound)) throw new Error(`not a transaction id: ${bound}`);
  return `${bound}::int8`;
}

/**
 * FROM and WHERE of the readings of device $1 with txid below `below` (an SQL expression) and
 * from <= ts < to (SQL expressions, NULL = open; alias r): the readings an index bounded by `below`
 * holds. Driven from the hours, one index range scan each (OFFSET 0 keeps the planner from flattening
 * it): joined the other way round, a planner that believed the device had few readings (bulk-loaded,
 * not analysed yet) probed every hour for every reading.
 */
export function indexedReadings(below: string, from = 'NULL', to = 'NULL'): { from: string; where: string } {
  const lo = `coalesce(${from}::timestamptz, '-infinity')`;
  const hi = `coalesce(${to}::timestamptz, 'infinity')`;
  return {
    from: `devices.median_hours h CROSS JOIN LATERAL (
      SELECT r0.id, r0.ts, r0.x, r0.y, r0.z FROM devices.readings r0
      WHERE r0.device_id = h.device_id AND r0.txid < ${below}
        AND r0.ts >= greatest(h.bucket, ${lo}) AND r0.ts < least(h.bucket + interval '1 hour', ${hi})
      OFFSET 0) r`,
    where: `h.device_id = $1 AND h.bucket >= date_trunc('hour', ${lo}, 'UTC') AND h.bucket < ${hi}`,
  };
}

/** (q, v) rows of a reading r: its four quantities, in MEDIAN_QUANTITIES order. */
export const QUANTITY_ROWS = `CROSS JOIN LATERAL (VALUES
  (0::int2, r.x + r.y + r.z), (1::int2, r.x), (2::int2, r.y), (3::int2, r.z)) AS qv(q, v)`;

/**
 * The bucket of qv.v given one thresholds array per quantity (SQL expressions, MEDIAN_QUANTITIES order:
 * parameters such as `$5::float8[]`, or columns).
 */
export function bucketSql(thresholds: readonly string[]): string {
  // A 2-D array cannot be ragged: pick the quantity's thresholds with CASE.
  const th = `CASE qv.q WHEN 0 THEN ${thresholds[0]} WHEN 1 THEN ${thresholds[1]} WHEN 2 THEN ${thresholds[2]} ELSE ${thresholds[3]} END`;
  return `CASE WHEN cardinality(${th}) = 0 THEN 0 ELSE width_bucket(qv.v, ${th}) END`;
}

/** Four float8[] parameters from $first on, one per quantity, for bucketSql. */
export const thresholdParams = (first: number): string[] =>
  MEDIAN_QUANTITIES.map((_, i) => `$${first + i}::float8[]`);

/**
 * FROM the readings of device `device` (default $1) an index bounded by `from` (an SQL expression: its txid bound) does
 * not hold (alias d; their hour ro.bucket), below `below` when given: those with txid >= the bound, in
 * hours whose rollup count differs from the index's (a reading the index lacks makes its hour's counts
 * differ, and only such hours are read).
 */
export function unindexed(from: string, below?: string, device = '$1'): string {
  // The hours first, fenced (OFFSET 0): left to itself the planner may scan every hour's readings and
  // only then drop the hours whose counts agree, which reads the device's whole history.
  return `(SELECT ro0.device_id, ro0.bucket FROM devices.rollups ro0
      LEFT JOIN devices.median_hours mh ON mh.device_id = ro0.device_id AND mh.bucket = ro0.bucket
      WHERE ro0.device_id = ${device} AND ro0.count <> coalesce(mh.count, 0) OFFSET 0) ro
  CROSS JOIN LATERAL (
    SELECT id, ts, x, y, z FROM devices.readings r
    WHERE r.device_id = ro.device_id AND r.ts >= ro.bucket AND r.ts < ro.bucket + interval '1 hour'
      AND r.txid >= ${from}${below ? ` AND r.txid < ${below}` : ''}
    OFFSET 0 -- not flattened: the planner may otherwise scan all the device's readings first
  ) d`;
}

/** A float8 as PostgreSQL text, keeping -0 (String(-0) is "0"). */
export const f8 = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

/** The four quantities of a reading, in MEDIAN_QUANTITIES order (value = x + y + z, as in SQL). */
export const quantitiesOf = (x: number, y: number, z: number): [number, number, number, number] => [
  x + y + z,
  x,
  y,
  z,
];

/**
 * An int8[] in PostgreSQL's binary array format (array_send): ndim, has-nulls flag, element type, then
 * per dimension its size and lower bound, then per element its length and big-endian value. Null: [].
 * Each value is read as two 32-bit halves (exact below 2^53, as counts are): BigInt is ~10× slower.
 */
export function unpackInt8Array(bytes: Uint8Array | null): Float64Array {
  if (!bytes) return new Float64Array(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getInt32(0) === 0) return new Float64Array(0); // an empty array has no dimensions
  const n = view.getInt32(12);
  const out = new Float64Array(n);
  for (let i = 0, at = 20; i < n; i++, at += 12) {
    out[i] = view.getInt32(at + 4) * 4294967296 + view.getUint32(at + 8); // at: the element's length (8)
  }
  return out;
}

/** float8 values packed big-endian in a bytea (float8send), as PostgreSQL and PGlite return it. */
export function unpackFloat8(bytes: Uint8Array | null): Float64Array {
  if (!bytes) return new Float64Array(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, false);
  return out;
}
