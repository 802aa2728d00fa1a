/**
 * The runner's SQL. Each segment of an experiment is owned through a lease on its segment row (taken,
 * renewed and found in leases.store.ts); every write here carries `lease_owner = $me`, so a runner that
 * lost its lease (it stalled past the expiry and another process took over) can never write again.
 *
 * Each recorded second updates the segment row and then, under a row lock on the experiment, adds the
 * second to the experiment's merged numbers in the same transaction: the experiment always holds the
 * exact merge of what its segments recorded, each second counted once.
 */
import type { Db, Queryable } from '../../platform/db';
import { createCapacityStore } from './capacity.store';
import { createLeasesStore, settle } from './leases.store';
import type { Experiment, ExperimentSummary, RawResult, SeriesPoint } from './model';

export interface Position {
  profileIndex: number;
  progressMs: number;
}

/** A segment's (or the experiment's) cumulative numbers at a position. */
export interface Cumulative extends Position {
  summary: ExperimentSummary;
  histogram: string;
  rawHistogram: string | null;
}

export interface SecondRecord extends Omit<SeriesPoint, 'second'> {
  histogram: string;
  rawHistogram: string | null;
}

/** What the experiment row holds before a second is added to it. */
export interface ExperimentTotalsRow {
  summary: ExperimentSummary;
  histogram: string | null;
  rawHistogram: string | null;
  profileIndex: number;
  progressMs: number;
}

/** An aborting threshold, evaluated on the merged numbers (see summary.ts `abortCheck`). */
export interface AbortCheck {
  failed: boolean;
  /** How long the failure must hold before the experiment fails. */
  afterMs: number;
  verdict: string | null;
}

/** Adds this segment's news to the experiment's merged numbers (see summary.ts). */
export type MergeIntoExperiment = (row: ExperimentTotalsRow) => Cumulative & { abort?: AbortCheck | null };

export interface SegmentRef {
  id: string;
  segment: number;
}

export interface ClaimedSegment {
  experiment: Experiment;
  segment: number;
  position: Position;
  totals: { summary: ExperimentSummary | null; histogram: string | null; rawHistogram: string | null };
  rawResultsCount: number;
  /** Wait this long before starting: the segments' shared start is still ahead (ms, by the DB clock). */
  startInMs: number;
}

/**
 * How a segment's run ends: its profiles ran out, the user stopped it, this process lets go, or it
 * cannot run at all.
 */
export type RunEnd = 'completed' | 'stopped' | 'released' | 'abandoned';

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

export function createRunsStore(db: Db) {
  /** Adds a second (or only a new position, `point` null) to the experiment, under its row lock. */
  async function mergeExperiment(
    tx: Queryable,
    id: string,
    merge: MergeIntoExperiment,
  ): Promise<{ second: number; rawCount: number }> {
    const [row] = await tx.query(
      `SELECT summary, histogram, raw_histogram, current_profile_index, progress_ms, seconds_recorded,
              raw_results_count
         FROM latency.experiments WHERE id = $1 FOR UPDATE`,
      [id],
    );
    const totals = merge({
      summary: row!.summary as ExperimentSummary,
      histogram: (row!.histogram as string | null) ?? null,
      rawHistogram: (row!.raw_histogram as string | null) ?? null,
      profileIndex: Number(row!.current_profile_index),
      progressMs: Number(row!.progress_ms),
    });
    // An aborting threshold that failed long enough fails the experiment here, in the same transaction
    // as the numbers that failed it; every runner sees `failed` at its next poll and stops its segment.
    const abort = totals.abort ?? null;
    await tx.query(
      `UPDATE latency.experiments
          SET summary = $2::jsonb, histogram = $3, raw_histogram = $4, current_profile_index = $5,
              progress_ms = $6, updated_at = now(),
              threshold_breach_at = CASE WHEN $7::boolean THEN coalesce(threshold_breach_at, now()) END,
              state = CASE WHEN $7::boolean AND state IN ('running', 'paused')
                            AND coalesce(threshold_breach_at, now()) <= now() - make_interval(secs => $8::float8 / 1000)
                           THEN 'failed' ELSE state END,
              verdict = CASE WHEN $7::boolean AND state IN ('running', 'paused')
                              AND coalesce(threshold_breach_at, now()) <= now() - make_interval(secs => $8::float8 / 1000)
                             THEN $9 ELSE verdict END
        WHERE id = $1`,
      [
        id,
        json(totals.summary),
        totals.histogram,
        totals.rawHistogram,
        totals.profileIndex,
        totals.progressMs,
        abort?.failed ?? false,
        abort?.afterMs ?? 0,
        abort?.verdict ?? null,
      ],
    );
    return { second: Number(row!.seconds_recorded), rawCount: Number(row!.raw_results_count) };
  }

  return {
    ...createLeasesStore(db),
    ...createCapacityStore(db),

    /**
     * One second of a segment, in one short transaction: the segment's cumulative numbers and position,
     * the experiment's merge (under its row lock), the series row and the raw records up to `rawCap`.
     * False (nothing written) when the lease is lost.
     */
    async recordSecond(
      ref: SegmentRef,
      owner: string,
      segmentTotals: Cumulative,
      merge: MergeIntoExperiment,
      point: SecondRecord,
      raw: RawResult[],
      rawCap: number,
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        const [held] = await tx.query(
          `UPDATE latency.segments
              SET summary = $4::jsonb, histogram = $5, raw_histogram = $6, current_profile_index = $7,
                  progress_ms = $8, seconds_recorded = seconds_recorded + 1, updated_at = now()
            WHERE experiment_id = $1 AND idx = $2 AND lease_owner = $3 RETURNING idx`,
          [
            ref.id,
            ref.segment,
            owner,
            json(segmentTotals.summary),
            segmentTotals.histogram,
            segmentTotals.rawHistogram,
            segmentTotals.profileIndex,
            segmentTotals.progressMs,
          ],
        );
        if (!held) return false;
        const { second, rawCount } = await mergeExperiment(tx, ref.id, merge);
        const kept = raw.slice(0, Math.max(0, rawCap - rawCount));
        await tx.query(
          `UPDATE latency.experiments SET seconds_recorded = seconds_recorded + 1,
                  raw_results_count = raw_results_count + $2
            WHERE id = $1`,
          [ref.id, kept.length],
        );
        await tx.query(
          `INSERT INTO latency.series (experiment_id, second, segment, ts, duration_ms, profile_index,
             elapsed_in_profile_ms, requests, successes, failures, late, dropped, status_codes,
             failures_by_kind, latency, raw_latency, histogram, raw_histogram)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15::jsonb,
             $16::jsonb, $17, $18)`,
          [
            ref.id,
            second,
            ref.segment,
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
        if (kept.length > 0) await insertRaw(tx, ref.id, rawCount, kept);
        return true;
      });
    },

    /** Where a paused segment is (and the experiment's furthest position), so a restart resumes there. */
    async savePosition(
      ref: SegmentRef,
      owner: string,
      p: Position,
      merge: MergeIntoExperiment,
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        const rows = await tx.query(
          `UPDATE latency.segments SET current_profile_index = $4, progress_ms = $5, updated_at = now()
            WHERE experiment_id = $1 AND idx = $2 AND lease_owner = $3 RETURNING idx`,
          [ref.id, ref.segment, owner, p.profileIndex, p.progressMs],
        );
        if (rows.length === 0) return false;
        await mergeExperiment(tx, ref.id, merge);
        return true;
      });
    },

    /**
     * Ends this owner's run of a segment with its last position and lets go of the lease. `completed`
     * marks the segment done (the experiment completes with its last segment, unless stopped
     * meanwhile); `stopped` and `released` leave it pending (a released segment of a `running`
     * experiment is resumed by another process); `abandoned` (it cannot run at all) stops the experiment.
     */
    async finish(
      ref: SegmentRef,
      owner: string,
      end: RunEnd,
      totals: Cumulative | null,
      merge: MergeIntoExperiment | null,
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        const rows = await tx.query(
          `UPDATE latency.segments
              SET state = CASE WHEN $4 = 'completed' THEN 'done' ELSE state END,
                  current_profile_index = coalesce($5, current_profile_index),
                  progress_ms = coalesce($6, progress_ms), summary = coalesce($7::jsonb, summary),
                  histogram = coalesce($8, histogram), raw_histogram = coalesce($9, raw_histogram),
                  lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE experiment_id = $1 AND idx = $2 AND lease_owner = $3 RETURNING idx`,
          [
            ref.id,
            ref.segment,
            owner,
            end,
            totals?.profileIndex ?? null,
            totals?.progressMs ?? null,
            json(totals?.summary),
            totals?.histogram ?? null,
            totals?.rawHistogram ?? null,
          ],
        );
        if (rows.length === 0) return false;
        if (merge) await mergeExperiment(tx, ref.id, merge);
        if (end === 'abandoned') {
          await tx.query(
            `UPDATE latency.experiments SET state = 'stopped', updated_at = now()
              WHERE id = $1 AND state IN ('created', 'running', 'paused')`,
            [ref.id],
          );
        }
        await settle(tx, ref.id);
        return true;
      });
    },

    /**
     * Requests a runner saw answered after it lost its lease: it may no longer write the run's numbers,
     * so it counts them here (without the lease) rather than dropping them silently.
     */
    async addInterrupted(id: string, requests: number): Promise<void> {
      await db.query('UPDATE latency.experiments SET interrupted = interrupted + $2 WHERE id = $1', [
        id,
        requests,
      ]);
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
