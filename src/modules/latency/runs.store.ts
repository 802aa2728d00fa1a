/**
 * The runner's SQL. A run is owned through a lease on the experiment row: `claim` is one conditional
 * UPDATE (atomic on both drivers: a concurrent claimer re-checks the WHERE after the first commits and
 * finds the lease taken), and every later write carries `lease_owner = $me`, so a runner that lost its
 * lease (it stalled past the expiry and another process took over) can never write again.
 * Lease times use the database clock, so machines with skewed clocks agree on expiry.
 */
import type { Db, Queryable } from '../../platform/db';
import { EXPERIMENT_COLUMNS, experimentFromRow } from './experiments.store';
import type { Experiment, ExperimentState, ExperimentSummary, RawResult, SeriesPoint } from './model';

export interface Position {
  profileIndex: number;
  progressMs: number;
}

export interface Cumulative extends Position {
  summary: ExperimentSummary;
  histogram: string;
  rawHistogram: string | null;
}

export interface SecondRecord extends Omit<SeriesPoint, 'second'> {
  histogram: string;
  rawHistogram: string | null;
}

/** How a run segment ends: profiles ran out, the user stopped it, this process lets go, or it cannot run. */
export type RunEnd = 'completed' | 'stopped' | 'released' | 'abandoned';

/** The state after `finish`: see its comment. */
const NEXT_STATE = `CASE WHEN $3 = 'completed' AND state IN ('running', 'paused') THEN 'completed'
  WHEN $3 = 'abandoned' THEN 'stopped' ELSE state END`;

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

export function createRunsStore(db: Db) {
  return {
    /** Takes the run of a `running` experiment unless a live lease holds it; null when not taken. */
    async claim(id: string, owner: string, leaseMs: number): Promise<Experiment | null> {
      const [row] = await db.query(
        `UPDATE latency.experiments
            SET lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3::float8 / 1000),
                run_attempts = run_attempts + 1, started_at = coalesce(started_at, now()), updated_at = now()
          WHERE id = $1 AND state = 'running' AND (lease_owner IS NULL OR lease_expires_at < now())
          RETURNING ${EXPERIMENT_COLUMNS}`,
        [id, owner, leaseMs],
      );
      return row ? experimentFromRow(row) : null;
    },

    /** Extends the leases this owner still holds; returns the ids it holds. */
    async renew(ids: string[], owner: string, leaseMs: number): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await db.query<{ id: string }>(
        `UPDATE latency.experiments SET lease_expires_at = now() + make_interval(secs => $3::float8 / 1000)
          WHERE id = ANY($1::uuid[]) AND lease_owner = $2 RETURNING id`,
        [ids, owner, leaseMs],
      );
      return new Set(rows.map((r) => r.id));
    },

    /** State and owner of each experiment given (one small read per poll for every local run). */
    async states(ids: string[]): Promise<Map<string, { state: ExperimentState; leaseOwner: string | null }>> {
      if (ids.length === 0) return new Map();
      const rows = await db.query<{ id: string; state: ExperimentState; lease_owner: string | null }>(
        'SELECT id, state, lease_owner FROM latency.experiments WHERE id = ANY($1::uuid[])',
        [ids],
      );
      return new Map(rows.map((r) => [r.id, { state: r.state, leaseOwner: r.lease_owner }]));
    },

    /**
     * One second of a run, in one short transaction: the cumulative numbers and position on the
     * experiment, the series row, and the raw records. False (nothing written) when the lease is lost.
     */
    async recordSecond(
      id: string,
      owner: string,
      totals: Cumulative,
      point: SecondRecord,
      raw: RawResult[],
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        const [row] = await tx.query<{ second: number; raw_base: number }>(
          `UPDATE latency.experiments
              SET summary = $3::jsonb, histogram = $4, raw_histogram = $5, current_profile_index = $6,
                  progress_ms = $7, seconds_recorded = seconds_recorded + 1,
                  raw_results_count = raw_results_count + $8, updated_at = now()
            WHERE id = $1 AND lease_owner = $2
            RETURNING seconds_recorded - 1 AS second, raw_results_count - $8 AS raw_base`,
          [
            id,
            owner,
            json(totals.summary),
            totals.histogram,
            totals.rawHistogram,
            totals.profileIndex,
            totals.progressMs,
            raw.length,
          ],
        );
        if (!row) return false;
        await tx.query(
          `INSERT INTO latency.series (experiment_id, second, ts, duration_ms, profile_index,
             elapsed_in_profile_ms, requests, successes, failures, late, dropped, status_codes,
             failures_by_kind, latency, raw_latency, histogram, raw_histogram)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14::jsonb, $15::jsonb,
             $16, $17)`,
          [
            id,
            Number(row.second),
            point.ts,
            point.durationMs,
            point.profileIndex,
            point.elapsedInProfileMs,
            point.requests,
            point.successes,
            point.failures,
            point.late,
            point.dropped,
            json(point.statusCodes),
            json(point.failuresByKind),
            json(point.latency),
            json(point.rawLatency),
            point.histogram,
            point.rawHistogram,
          ],
        );
        if (raw.length > 0) await insertRaw(tx, id, Number(row.raw_base), raw);
        return true;
      });
    },

    /** Where a paused run is, so a restart resumes it exactly there. */
    async savePosition(id: string, owner: string, p: Position): Promise<boolean> {
      const rows = await db.query(
        `UPDATE latency.experiments SET current_profile_index = $3, progress_ms = $4, updated_at = now()
          WHERE id = $1 AND lease_owner = $2 RETURNING id`,
        [id, owner, p.profileIndex, p.progressMs],
      );
      return rows.length > 0;
    },

    /**
     * Ends this owner's run segment with its last numbers and lets go of the lease. `completed` marks
     * the experiment so unless it was stopped meanwhile; `stopped` and `released` leave the state as the
     * user set it (a released `running` experiment is resumed by another process); `abandoned` (the run
     * cannot start at all) stops it.
     */
    async finish(id: string, owner: string, end: RunEnd, totals: Cumulative | null): Promise<boolean> {
      const rows = await db.query(
        `UPDATE latency.experiments
            SET state = ${NEXT_STATE},
                finished_at = CASE WHEN ${NEXT_STATE} IN ('completed', 'stopped') THEN coalesce(finished_at, now())
                                   ELSE finished_at END,
                current_profile_index = coalesce($4, current_profile_index),
                progress_ms = coalesce($5, progress_ms), summary = coalesce($6::jsonb, summary),
                histogram = coalesce($7, histogram), raw_histogram = coalesce($8, raw_histogram),
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
          WHERE id = $1 AND lease_owner = $2 RETURNING id`,
        [
          id,
          owner,
          end,
          totals?.profileIndex ?? null,
          totals?.progressMs ?? null,
          json(totals?.summary),
          totals?.histogram ?? null,
          totals?.rawHistogram ?? null,
        ],
      );
      return rows.length > 0;
    },

    /**
     * `running` experiments nobody holds (never claimed yet, released, or their runner died). Finished
     * experiments whose runner died before writing its last numbers are closed on the way.
     */
    async orphans(limit: number): Promise<string[]> {
      await db.query(
        `UPDATE latency.experiments SET finished_at = coalesce(finished_at, now()), lease_owner = NULL,
                lease_expires_at = NULL
          WHERE state IN ('completed', 'stopped') AND lease_owner IS NOT NULL AND lease_expires_at < now()`,
      );
      const rows = await db.query<{ id: string }>(
        `SELECT id FROM latency.experiments
          WHERE state = 'running' AND (lease_owner IS NULL OR lease_expires_at < now())
          ORDER BY lease_expires_at NULLS FIRST LIMIT $1`,
        [limit],
      );
      return rows.map((r) => r.id);
    },
  };
}

/** Raw records as four arrays through unnest: one statement however many rows. */
async function insertRaw(tx: Queryable, id: string, base: number, raw: RawResult[]): Promise<void> {
  await tx.query(
    `INSERT INTO latency.results (experiment_id, seq, status_code, latency_ms, ts, error)
     SELECT $1, $2 + r.ord - 1, r.status_code, r.latency_ms, r.ts, r.error
       FROM unnest($3::smallint[], $4::float8[], $5::timestamptz[], $6::text[])
            WITH ORDINALITY AS r(status_code, latency_ms, ts, error, ord)`,
    [
      id,
      base,
      raw.map((r) => r.status_code),
      raw.map((r) => r.latency_ms),
      raw.map((r) => r.timestamp),
      raw.map((r) => r.error),
    ],
  );
}

export type RunsStore = ReturnType<typeof createRunsStore>;
