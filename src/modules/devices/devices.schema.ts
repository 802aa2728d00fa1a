/**
 * Device telemetry tables. A reading's value is x + y + z, computed in queries rather than
 * stored: float8 addition is IEEE in PostgreSQL and in JavaScript, so both sides agree bit for bit.
 *
 * No foreign key from readings to devices: the only writer registers a reading's device in the same
 * statement (see readings.store.ts) and devices are never deleted, so the invariant holds without a
 * per-row RI trigger and its KEY SHARE lock on a hot device row, which would cap ingest.
 * The primary key (device_id, ts, id) carries INCLUDE (x, y, z), added by a custom migration
 * (drizzle cannot express INCLUDE): every aggregate is an index-only scan of it, and it is the table's
 * only index, so each inserted row updates one btree (a separate id key cost ~30% of insert time).
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  doublePrecision,
  index,
  integer,
  pgSchema,
  primaryKey,
  smallint,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { timestamptzMs } from '../../platform/db-columns';

export const devicesSchema = pgSchema('devices');

export const users = devicesSchema.table('users', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  name: text('name').notNull(),
  createdAt: timestamptzMs('created_at').notNull().defaultNow(),
});

export const devices = devicesSchema.table(
  'devices',
  {
    id: text('id').primaryKey(),
    ownerId: bigint('owner_id', { mode: 'number' }).references(() => users.id, { onDelete: 'set null' }),
    registeredAt: timestamptzMs('registered_at').notNull().defaultNow(),
  },
  (t) => [index('devices_owner_idx').on(t.ownerId)],
);

export const readings = devicesSchema.table(
  'readings',
  {
    id: bigint('id', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    deviceId: text('device_id').notNull(),
    /** The device's time of the measurement (default: server time); periods filter on it. */
    ts: timestamptzMs('ts').notNull(),
    x: doublePrecision('x').notNull(),
    y: doublePrecision('y').notNull(),
    z: doublePrecision('z').notNull(),
    /** When the server stored it. */
    createdAt: timestamptzMs('created_at').notNull().defaultNow(),
    /**
     * The inserting transaction's id (xid8 as bigint): the median index holds exactly the readings whose
     * txid is below its bound (median.index.ts), whatever order concurrent inserts commit in.
     */
    txid: bigint('txid', { mode: 'number' }).notNull().default(sql`(pg_current_xact_id()::text)::bigint`),
  },
  (t) => [primaryKey({ name: 'readings_pkey', columns: [t.deviceId, t.ts, t.id] })],
);

function rollupColumns(quantity: string) {
  return {
    [`${quantity}Min`]: doublePrecision(`${quantity}_min`).notNull(),
    [`${quantity}Max`]: doublePrecision(`${quantity}_max`).notNull(),
    [`${quantity}Sum`]: doublePrecision(`${quantity}_sum`).notNull(),
  };
}

const axisColumns = (axis: string) => ({
  ...rollupColumns(axis),
  [`${axis}Median`]: doublePrecision(`${axis}_median`).notNull(),
});

/**
 * Per device and UTC hour: count, first/last time and min/max/sum of value and of each axis, maintained by
 * the readings insert in the same statement (readings.store.ts). Period aggregates read these for the
 * hours a period covers whole and raw readings only for the partial hours at its edges.
 */
export const rollups = devicesSchema.table(
  'rollups',
  {
    deviceId: text('device_id').notNull(),
    /** Start of the UTC hour. */
    bucket: timestamptzMs('bucket').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
    firstTs: timestamptzMs('first_ts').notNull(),
    lastTs: timestamptzMs('last_ts').notNull(),
    ...rollupColumns('value'),
    ...rollupColumns('x'),
    ...rollupColumns('y'),
    ...rollupColumns('z'),
  },
  (t) => [primaryKey({ name: 'rollups_pkey', columns: [t.deviceId, t.bucket] })],
);

/** All-time aggregates per device, written by the recalculation job. */
export const aggregates = devicesSchema.table('aggregates', {
  deviceId: text('device_id').primaryKey(),
  count: bigint('count', { mode: 'number' }).notNull(),
  ...axisColumns('value'),
  ...axisColumns('x'),
  ...axisColumns('y'),
  ...axisColumns('z'),
  firstTs: timestamptzMs('first_ts').notNull(),
  lastTs: timestamptzMs('last_ts').notNull(),
  computedAt: timestamptzMs('computed_at').notNull(),
  taskId: uuid('task_id').notNull(),
});

/**
 * Progress of recalculation tasks, keyed by the pg-boss job id. The job's state (queued, running,
 * completed, failed) stays in pg-boss; this row adds progress and the error, and outlives pg-boss's
 * archive retention.
 */
export const tasks = devicesSchema.table('tasks', {
  id: uuid('id').primaryKey(),
  trigger: text('trigger').notNull(),
  total: integer('total').notNull().default(0),
  done: integer('done').notNull().default(0),
  requestedAt: timestamptzMs('requested_at').notNull().defaultNow(),
  startedAt: timestamptzMs('started_at'),
  finishedAt: timestamptzMs('finished_at'),
  status: text('status').notNull().default('queued'),
  error: text('error'),
});

/*
 * The median index (median.index.ts): per device, value buckets with cumulative counts at checkpoints
 * and the indexed values per bucket, built off the insert path. See the module README, "Design".
 */

/** Per device: the bucket thresholds of each quantity and what the index holds. */
export const medianLayouts = devicesSchema.table('median_layouts', {
  deviceId: text('device_id').primaryKey(),
  version: integer('version').notNull(),
  /** Lower bounds of buckets 1..B-1 per quantity (value, x, y, z); bucket 0 is everything below. */
  valueThresholds: doublePrecision('value_thresholds').array().notNull(),
  xThresholds: doublePrecision('x_thresholds').array().notNull(),
  yThresholds: doublePrecision('y_thresholds').array().notNull(),
  zThresholds: doublePrecision('z_thresholds').array().notNull(),
  /** Readings indexed per bucket, per quantity (all time): to see when buckets grew unbalanced. */
  valueTotals: bigint('value_totals', { mode: 'number' }).array().notNull(),
  xTotals: bigint('x_totals', { mode: 'number' }).array().notNull(),
  yTotals: bigint('y_totals', { mode: 'number' }).array().notNull(),
  zTotals: bigint('z_totals', { mode: 'number' }).array().notNull(),
  builtCount: bigint('built_count', { mode: 'number' }).notNull(),
  indexedCount: bigint('indexed_count', { mode: 'number' }).notNull(),
  /**
   * The index holds exactly the device's readings with txid below this: the xmin of the snapshot its
   * last update took after locking the device, so every transaction below it had ended (median.index.ts).
   */
  txidBound: bigint('txid_bound', { mode: 'number' }).notNull(),
  builtAt: timestamptzMs('built_at').notNull(),
});

/** Per device and UTC hour: how many readings of the hour the index holds. */
export const medianHours = devicesSchema.table(
  'median_hours',
  {
    deviceId: text('device_id').notNull(),
    bucket: timestamptzMs('bucket').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ name: 'median_hours_pkey', columns: [t.deviceId, t.bucket] })],
);

/** Per device and checkpoint time: indexed readings before it, per bucket, per quantity. */
export const medianCheckpoints = devicesSchema.table(
  'median_checkpoints',
  {
    deviceId: text('device_id').notNull(),
    at: timestamptzMs('at').notNull(),
    valueCounts: bigint('value_counts', { mode: 'number' }).array().notNull(),
    xCounts: bigint('x_counts', { mode: 'number' }).array().notNull(),
    yCounts: bigint('y_counts', { mode: 'number' }).array().notNull(),
    zCounts: bigint('z_counts', { mode: 'number' }).array().notNull(),
  },
  (t) => [primaryKey({ name: 'median_checkpoints_pkey', columns: [t.deviceId, t.at] })],
);

/** The indexed readings' values and times per quantity and bucket, in chunks of at most 64. */
export const medianLeaves = devicesSchema.table(
  'median_leaves',
  {
    deviceId: text('device_id').notNull(),
    quantity: smallint('quantity').notNull(),
    bucket: integer('bucket').notNull(),
    seq: integer('seq').notNull(),
    vals: doublePrecision('vals').array().notNull(),
    times: timestamptzMs('times').array().notNull(),
    /** The chunk's earliest and latest time: a chunk wholly inside a period is read without its times. */
    tMin: timestamptzMs('t_min').notNull(),
    tMax: timestamptzMs('t_max').notNull(),
  },
  (t) => [primaryKey({ name: 'median_leaves_pkey', columns: [t.deviceId, t.quantity, t.bucket, t.seq] })],
);
