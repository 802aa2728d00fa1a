/**
 * Latency experiments. An experiment row holds its settings, its state, its cumulative
 * summary and HDR histogram (the exact merge of its segments'), and the furthest position any segment
 * reached. Each segment row holds one part's run lease (the process running it writes `lease_owner`
 * and renews `lease_expires_at`; a segment whose lease lapsed is picked up again), its position and
 * its own numbers. See runner/runner.ts.
 *
 * Histograms are HdrHistogram V2 compressed base64 (µs), so any HDR implementation can read them.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  smallint,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { timestamptzMs } from '../../platform/db-columns';

export const latencySchema = pgSchema('latency');

export const experiments = latencySchema.table(
  'experiments',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    /** host, port, path, method, headers, body, scheme, model, load_profiles, thresholds, ... */
    settings: jsonb('settings').notNull(),
    state: text('state').notNull().default('created'),
    currentProfileIndex: integer('current_profile_index').notNull().default(0),
    /** Active (not paused) ms already spent in the current profile. */
    progressMs: integer('progress_ms').notNull().default(0),
    createdAt: timestamptzMs('created_at').notNull().defaultNow(),
    updatedAt: timestamptzMs('updated_at').notNull().defaultNow(),
    startedAt: timestamptzMs('started_at'),
    finishedAt: timestamptzMs('finished_at'),
    /** Cumulative counters and latency summary over every run segment (the public `summary`). */
    summary: jsonb('summary').notNull(),
    histogram: text('histogram'),
    /** Open model only: latency from the actual send (not corrected for coordinated omission). */
    rawHistogram: text('raw_histogram'),
    secondsRecorded: integer('seconds_recorded').notNull().default(0),
    rawResultsCount: integer('raw_results_count').notNull().default(0),
    /**
     * Requests answered after their runner lost its lease (so it could no longer write them): counted
     * here, outside the lease, instead of vanishing. 0 unless a runner stalled past its lease.
     */
    interrupted: integer('interrupted').notNull().default(0),
    /** When every segment's first run starts (the database clock), so the segments' profiles line up. */
    runStartAt: timestamptzMs('run_start_at'),
    /** Since when an aborting threshold has failed on the merged numbers (null while they hold). */
    thresholdBreachAt: timestamptzMs('threshold_breach_at'),
    /** Why the experiment ended `failed`: the threshold and the value measured. */
    verdict: text('verdict'),
    /** model "capacity": every step judged, the step under way and the answer (model.ts CapacityRecord). */
    capacity: jsonb('capacity'),
  },
  (t) => [
    check(
      'experiments_state_check',
      sql`${t.state} in ('created', 'running', 'paused', 'completed', 'stopped', 'failed')`,
    ),
    index('experiments_created_idx').on(t.createdAt, t.id),
  ],
);

/** The experiment a row belongs to: deleted with it. */
const experimentId = () =>
  uuid('experiment_id')
    .notNull()
    .references(() => experiments.id, { onDelete: 'cascade' });

export const groups = latencySchema.table(
  'groups',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    /** The state last asked for with manage_group; reads derive `completed` from the members. */
    state: text('state').notNull().default('created'),
    createdAt: timestamptzMs('created_at').notNull().defaultNow(),
    updatedAt: timestamptzMs('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('groups_state_check', sql`${t.state} in ('created', 'running', 'paused', 'completed', 'stopped')`),
    index('groups_created_idx').on(t.createdAt, t.id),
  ],
);

export const groupMembers = latencySchema.table(
  'group_members',
  {
    groupId: uuid('group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    experimentId: experimentId(),
    addedAt: timestamptzMs('added_at').notNull().defaultNow(),
    /** Join order (members added in one transaction share added_at). */
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
  },
  (t) => [
    primaryKey({ columns: [t.groupId, t.experimentId] }),
    index('group_members_experiment_idx').on(t.experimentId),
  ],
);

/** One row per second of running (the engine's 'second' events), numbered from 0 per experiment. */
export const series = latencySchema.table(
  'series',
  {
    experimentId: experimentId(),
    second: integer('second').notNull(),
    /** The segment that recorded this point (an experiment of N segments has N points per second). */
    segment: smallint('segment').notNull().default(0),
    ts: timestamptzMs('ts').notNull(),
    durationMs: integer('duration_ms').notNull(),
    profileIndex: integer('profile_index').notNull(),
    elapsedInProfileMs: integer('elapsed_in_profile_ms').notNull(),
    requests: integer('requests').notNull(),
    successes: integer('successes').notNull(),
    failures: integer('failures').notNull(),
    late: integer('late').notNull(),
    dropped: integer('dropped').notNull(),
    statusCodes: jsonb('status_codes').notNull(),
    failuresByKind: jsonb('failures_by_kind').notNull(),
    latency: jsonb('latency').notNull(),
    rawLatency: jsonb('raw_latency'),
    histogram: text('histogram').notNull(),
    rawHistogram: text('raw_histogram'),
  },
  (t) => [primaryKey({ columns: [t.experimentId, t.second] })],
);

/** Per-request records, the original API's ExperimentResult; at most LATENCY_RAW_RESULTS_CAP per experiment. */
export const results = latencySchema.table(
  'results',
  {
    experimentId: experimentId(),
    seq: integer('seq').notNull(),
    statusCode: smallint('status_code').notNull(),
    latencyMs: doublePrecision('latency_ms'),
    ts: timestamptzMs('ts').notNull(),
    error: text('error'),
  },
  (t) => [primaryKey({ columns: [t.experimentId, t.seq] })],
);

/**
 * The parts of an experiment that run in different processes (settings.segments, 1-64): each has its
 * own run lease, position and cumulative numbers; the experiment row holds their exact merge.
 */
export const segments = latencySchema.table(
  'segments',
  {
    experimentId: experimentId(),
    idx: smallint('idx').notNull(),
    /** pending (still to run or running) | done (its profiles ran out). */
    state: text('state').notNull().default('pending'),
    currentProfileIndex: integer('current_profile_index').notNull().default(0),
    progressMs: integer('progress_ms').notNull().default(0),
    summary: jsonb('summary'),
    histogram: text('histogram'),
    rawHistogram: text('raw_histogram'),
    secondsRecorded: integer('seconds_recorded').notNull().default(0),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamptzMs('lease_expires_at'),
    /** The process that ran it last (kept after it lets go). */
    worker: text('worker'),
    runAttempts: integer('run_attempts').notNull().default(0),
    updatedAt: timestamptzMs('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.experimentId, t.idx] }),
    check('segments_state_check', sql`${t.state} in ('pending', 'done')`),
    index('segments_pending_idx').on(t.leaseExpiresAt).where(sql`state = 'pending'`),
  ],
);

/**
 * Background processes that can run segments, with their last heartbeat: a process does not take a
 * second segment of one experiment while another live one runs none of it.
 */
export const workers = latencySchema.table('workers', {
  owner: text('owner').primaryKey(),
  seenAt: timestamptzMs('seen_at').notNull().defaultNow(),
});
