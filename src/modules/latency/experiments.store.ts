/**
 * SQL for experiments, their per-second series and raw results (what the API reads and writes).
 * The runner's writes (claim, lease, per-second records) are in runs.store.ts.
 */
import type { Db, Queryable, Row } from '../../platform/db';
import { type CapacityRecordJson, recordFromJson } from './capacity.record';
import type {
  Experiment,
  ExperimentSettings,
  ExperimentState,
  ExperimentSummary,
  Page,
  RawResult,
  Segment,
  SeriesPoint,
} from './model';
import { mergePoints, type SegmentPoint } from './series-merge';
import { segmentCountOf } from './settings';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids arrive from query strings: one that is not a uuid names no experiment (and must not reach SQL). */
export const isUuid = (id: string) => UUID.test(id);

/** A segment lease held by some process (lapsed ones count until the sweep clears them). */
const LEASED_SEGMENTS = `(SELECT count(*) FROM latency.segments s
  WHERE s.experiment_id = experiments.id AND s.lease_owner IS NOT NULL)::int AS leased_segments`;

export const EXPERIMENT_COLUMNS = `id, name, settings, state, current_profile_index, progress_ms, created_at, updated_at,
  started_at, finished_at, summary, histogram, raw_histogram, seconds_recorded, raw_results_count, interrupted,
  run_start_at, verdict, capacity, ${LEASED_SEGMENTS}`;

export function experimentFromRow(r: Row): Experiment {
  return {
    id: r.id as string,
    name: r.name as string,
    settings: r.settings as ExperimentSettings,
    state: r.state as ExperimentState,
    currentProfileIndex: Number(r.current_profile_index),
    progressMs: Number(r.progress_ms),
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    startedAt: (r.started_at as Date | null) ?? null,
    finishedAt: (r.finished_at as Date | null) ?? null,
    // `interrupted` lives in its own column: a runner that lost its lease adds to it without the lease.
    summary: { ...(r.summary as ExperimentSummary), interrupted: Number(r.interrupted ?? 0) },
    histogram: (r.histogram as string | null) ?? null,
    rawHistogram: (r.raw_histogram as string | null) ?? null,
    secondsRecorded: Number(r.seconds_recorded),
    rawResultsCount: Number(r.raw_results_count),
    leasedSegments: Number(r.leased_segments ?? 0),
    runStartAt: (r.run_start_at as Date | null) ?? null,
    verdict: (r.verdict as string | null) ?? null,
    capacity: r.capacity ? recordFromJson(r.capacity as CapacityRecordJson) : null,
  };
}

function segmentFromRow(r: Row): Segment {
  return {
    index: Number(r.idx),
    worker: (r.worker as string | null) ?? null,
    state: r.state === 'done' ? 'done' : r.live === true ? 'running' : 'pending',
    currentProfileIndex: Number(r.current_profile_index),
    progressMs: Number(r.progress_ms),
    summary: (r.summary as ExperimentSummary | null) ?? null,
    runAttempts: Number(r.run_attempts),
  };
}

function seriesFromRow(r: Row): SeriesPoint {
  return {
    second: Number(r.second),
    ts: r.ts as Date,
    durationMs: Number(r.duration_ms),
    profileIndex: Number(r.profile_index),
    elapsedInProfileMs: Number(r.elapsed_in_profile_ms),
    requests: Number(r.requests),
    successes: Number(r.successes),
    failures: Number(r.failures),
    late: Number(r.late),
    dropped: Number(r.dropped),
    statusCodes: r.status_codes as Record<string, number>,
    failuresByKind: r.failures_by_kind as Record<string, number>,
    latency: r.latency as SeriesPoint['latency'],
    rawLatency: (r.raw_latency as SeriesPoint['rawLatency']) ?? null,
  };
}

function segmentPointFromRow(r: Row): SegmentPoint {
  return {
    ...seriesFromRow(r),
    segment: Number(r.segment),
    histogram: (r.histogram as string | null) ?? null,
    rawHistogram: (r.raw_histogram as string | null) ?? null,
  };
}

const SERIES_COLUMNS = `second, ts, duration_ms, profile_index, elapsed_in_profile_ms, requests, successes, failures,
  late, dropped, status_codes, failures_by_kind, latency, raw_latency`;

export interface TransitionOutcome {
  experiment: Experiment;
  /** A runner holds the run now (its lease has not lapsed). */
  leased: boolean;
}

export function createExperimentsStore(db: Db) {
  return {
    async insert(
      e: { id: string; name: string; settings: ExperimentSettings; summary: ExperimentSummary },
      q: Queryable = db,
    ): Promise<Experiment> {
      const [row] = await q.query(
        `INSERT INTO latency.experiments (id, name, settings, summary) VALUES ($1, $2, $3::jsonb, $4::jsonb)
         RETURNING ${EXPERIMENT_COLUMNS}`,
        [e.id, e.name, JSON.stringify(e.settings), JSON.stringify(e.summary)],
      );
      await q.query(
        'INSERT INTO latency.segments (experiment_id, idx) SELECT $1, g FROM generate_series(0, $2 - 1) AS g',
        [e.id, segmentCountOf(e.settings)],
      );
      return experimentFromRow(row!);
    },

    async get(id: string, q: Queryable = db): Promise<Experiment | null> {
      if (!isUuid(id)) return null;
      const [row] = await q.query(`SELECT ${EXPERIMENT_COLUMNS} FROM latency.experiments WHERE id = $1`, [
        id,
      ]);
      return row ? experimentFromRow(row) : null;
    },

    async getMany(ids: string[], q: Queryable = db): Promise<Experiment[]> {
      if (ids.length === 0) return [];
      const rows = await q.query(
        `SELECT ${EXPERIMENT_COLUMNS} FROM latency.experiments WHERE id = ANY($1::uuid[])
         ORDER BY created_at, id`,
        [ids],
      );
      return rows.map(experimentFromRow);
    },

    async list(limit: number, offset: number): Promise<Page<Experiment>> {
      const rows = await db.query(
        `SELECT ${EXPERIMENT_COLUMNS} FROM latency.experiments ORDER BY created_at, id LIMIT $1 OFFSET $2`,
        [limit, offset],
      );
      const [count] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM latency.experiments');
      return { items: rows.map(experimentFromRow), total: Number(count!.n) };
    },

    /**
     * Moves the experiment from `from` to `to` if it is still in `from` (a concurrent change makes this
     * return null). Stopping records the finish time, unless a runner holds the run: it records it with
     * its last numbers (so `finished_at` set means the numbers are final).
     */
    async transition(
      id: string,
      from: ExperimentState,
      to: ExperimentState,
      startDelayMs = 0,
      q: Queryable = db,
    ): Promise<TransitionOutcome | null> {
      // The first start of an experiment of several segments sets their shared start a little ahead,
      // so that each worker has claimed its segment by then.
      const [row] = await q.query(
        `WITH live AS (SELECT count(*) AS n FROM latency.segments
                        WHERE experiment_id = $1 AND lease_owner IS NOT NULL AND lease_expires_at > now())
         UPDATE latency.experiments
            SET state = $3, updated_at = now(),
                finished_at = CASE WHEN $3 = 'stopped' AND (SELECT n FROM live) = 0 THEN now() ELSE finished_at END,
                run_start_at = CASE WHEN $3 = 'running' AND run_start_at IS NULL
                                    THEN now() + make_interval(secs => $4::float8 / 1000) ELSE run_start_at END
          WHERE id = $1 AND state = $2
          RETURNING ${EXPERIMENT_COLUMNS}, (SELECT n FROM live) AS live`,
        [id, from, to, startDelayMs],
      );
      return row ? { experiment: experimentFromRow(row), leased: Number(row.live) > 0 } : null;
    },

    /** The segments of an experiment, by index. */
    async segments(id: string): Promise<Segment[]> {
      const rows = await db.query(
        `SELECT idx, state, current_profile_index, progress_ms, summary, worker, run_attempts,
                (lease_owner IS NOT NULL AND lease_expires_at > now()) AS live
           FROM latency.segments WHERE experiment_id = $1 ORDER BY idx`,
        [id],
      );
      return rows.map(segmentFromRow);
    },

    /** Seconds after `afterSecond` (all when -1), oldest first. */
    async series(id: string, afterSecond = -1, limit = 100_000): Promise<SeriesPoint[]> {
      const rows = await db.query(
        `SELECT ${SERIES_COLUMNS} FROM latency.series WHERE experiment_id = $1 AND second > $2
         ORDER BY second LIMIT $3`,
        [id, afterSecond, limit],
      );
      return rows.map(seriesFromRow);
    },

    /** Every point of every segment, with the histograms that merging them needs. */
    async segmentPoints(id: string): Promise<SegmentPoint[]> {
      const rows = await db.query(
        `SELECT ${SERIES_COLUMNS}, segment, histogram, raw_histogram FROM latency.series
          WHERE experiment_id = $1 ORDER BY second`,
        [id],
      );
      return rows.map(segmentPointFromRow);
    },

    /** The newest second of each experiment given (for live stats): its segments' newest, merged. */
    async lastSeconds(ids: string[]): Promise<Map<string, SeriesPoint>> {
      if (ids.length === 0) return new Map();
      const rows = await db.query(
        `SELECT DISTINCT ON (experiment_id, segment) experiment_id, ${SERIES_COLUMNS}, segment, histogram,
                raw_histogram
           FROM latency.series
          WHERE experiment_id = ANY($1::uuid[]) ORDER BY experiment_id, segment, second DESC`,
        [ids],
      );
      const byExperiment = new Map<string, SegmentPoint[]>();
      for (const r of rows) {
        const id = r.experiment_id as string;
        byExperiment.set(id, [...(byExperiment.get(id) ?? []), segmentPointFromRow(r)]);
      }
      return new Map([...byExperiment].map(([id, points]) => [id, mergePoints(points)]));
    },

    async results(id: string, limit: number, offset: number): Promise<RawResult[]> {
      const rows = await db.query(
        `SELECT status_code, latency_ms, ts, error FROM latency.results WHERE experiment_id = $1
         ORDER BY seq LIMIT $2 OFFSET $3`,
        [id, limit, offset],
      );
      return rows.map((r) => ({
        status_code: Number(r.status_code),
        latency_ms: r.latency_ms === null ? null : Number(r.latency_ms),
        timestamp: (r.ts as Date).toISOString(),
        error: (r.error as string | null) ?? null,
      }));
    },
  };
}

export type ExperimentsStore = ReturnType<typeof createExperimentsStore>;
