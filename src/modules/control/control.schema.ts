/**
 * Controller tables in the `control` schema: sensor readings and one row per decision.
 *
 * `readings` is append-only and read by time range only: the decision's window statistics and the
 * dashboard's live means are range aggregates over `datetime`, so one btree on it is all it needs (no
 * primary key: nothing ever addresses one reading). The leader deletes readings older than the retention
 * (see controller.ts), so the table holds about ten minutes, not everything ever sent.
 *
 * `decisions` has one row per decision time t_k; the primary key on `decided_at` also fences a stale
 * leader: a second insert for the same t_k does nothing. History reads the few rows where the status
 * changed through a partial index.
 */
import { sql } from 'drizzle-orm';
import { boolean, check, doublePrecision, index, integer, jsonb, pgSchema, text } from 'drizzle-orm/pg-core';
import { timestamptzMs } from '../../platform/db-columns';

export const controlSchema = pgSchema('control');

export const readings = controlSchema.table(
  'readings',
  {
    /** The sensor's time of the measurement: decides the window. */
    datetime: timestamptzMs('datetime').notNull(),
    payload: integer('payload').notNull(),
    /** When the controller wrote it (its clock at the flush of the batch, a few ms after receipt). */
    receivedAt: timestamptzMs('received_at').notNull(),
  },
  (t) => [index('readings_datetime_idx').on(t.datetime)],
);

/** The two windows a decision compared (`prev`, `curr`): bounds, size, mean and standard deviation. */
const windowColumns = (window: 'prev' | 'curr') => ({
  [`${window}Start`]: timestamptzMs(`${window}_start`).notNull(),
  [`${window}End`]: timestamptzMs(`${window}_end`).notNull(),
  [`${window}N`]: integer(`${window}_n`).notNull(),
  [`${window}Mean`]: doublePrecision(`${window}_mean`),
  [`${window}Std`]: doublePrecision(`${window}_std`),
});

export const decisions = controlSchema.table(
  'decisions',
  {
    /** t_k: the aligned decision time; the command carries it as its datetime. */
    decidedAt: timestamptzMs('decided_at').primaryKey(),
    /** When the leader had the result (decided_at + loop lag). */
    madeAt: timestamptzMs('made_at').notNull(),
    ...windowColumns('prev'),
    ...windowColumns('curr'),
    /** Welch's t (±Infinity for constant windows), degrees of freedom, two-sided p; null when not run. */
    t: doublePrecision('t'),
    df: doublePrecision('df'),
    p: doublePrecision('p'),
    previousStatus: text('previous_status').notNull(),
    status: text('status').notNull(),
    changed: boolean('changed').notNull(),
    reason: text('reason').notNull(),
    detail: text('detail').notNull(),
    /** Decisions that kept the status since the last change (0 = this one changed); null = never changed. */
    sinceChange: integer('since_change'),
    /** Decision times skipped right before this one (the loop was late by more than an interval). */
    missed: integer('missed').notNull().default(0),
    /** Null while the command is in flight; then whether it was acknowledged or sent. */
    delivered: boolean('delivered'),
    /** Null while in flight; then acknowledged (replied ok), sent (to a manipulator that never replies), failed. */
    delivery: text('delivery'),
    deliveryError: text('delivery_error'),
    leaderId: text('leader_id').notNull(),
    /** Which detector made the decision: ttest (t, df, p) or cusum (its statistics in `cusum`). */
    detector: text('detector').notNull().default('ttest'),
    /** CUSUM: z, sums, threshold and the baseline the next decision continues from; null for ttest. */
    cusum: jsonb('cusum'),
  },
  (t) => [
    index('decisions_changes_idx').on(t.decidedAt).where(sql`${t.changed}`),
    check(
      'decisions_status_check',
      sql`${t.status} IN ('up', 'down') AND ${t.previousStatus} IN ('up', 'down')`,
    ),
  ],
);
