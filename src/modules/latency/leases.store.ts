/**
 * The leases of experiment segments: claiming one (with the rule that spreads an experiment's segments
 * over the live workers), renewing, reading what runners must obey, heartbeats, and finding segments
 * nobody runs. Each is one conditional statement, atomic on both drivers: a concurrent claimer re-checks
 * the WHERE after the first commits and finds the lease taken. Lease times use the database clock, so
 * machines with skewed clocks agree on expiry. The writes a lease holder makes are in runs.store.ts.
 */
import type { Db, Queryable } from '../../platform/db';
import { EXPERIMENT_COLUMNS, experimentFromRow } from './experiments.store';
import type { ExperimentState, ExperimentSummary } from './model';
import type { ClaimedSegment, SegmentRef } from './runs.store';

const key = (id: string, segment: number) => `${id}:${segment}`;

/**
 * After a segment let go: the experiment completes once every segment is done, and its numbers are
 * final (`finished_at`) once it is completed, stopped or failed and no segment is held any more.
 */
export async function settle(q: Queryable, id: string): Promise<void> {
  await q.query(
    `UPDATE latency.experiments e
        SET state = CASE WHEN e.state IN ('running', 'paused')
                          AND NOT EXISTS (SELECT 1 FROM latency.segments s
                                           WHERE s.experiment_id = e.id AND s.state <> 'done')
                         THEN 'completed' ELSE e.state END,
            updated_at = now()
      WHERE e.id = $1`,
    [id],
  );
  await q.query(
    `UPDATE latency.experiments e SET finished_at = coalesce(e.finished_at, now())
      WHERE e.id = $1 AND e.state IN ('completed', 'stopped', 'failed')
        AND NOT EXISTS (SELECT 1 FROM latency.segments s
                         WHERE s.experiment_id = e.id AND s.lease_owner IS NOT NULL)`,
    [id],
  );
}

export function createLeasesStore(db: Db) {
  return {
    /**
     * Takes segment `segment` of a `running` experiment unless a live lease holds it. A process that
     * already runs another segment of the experiment leaves it to a live worker that runs none (the
     * segments of one experiment spread over the processes there are). Null when not taken.
     */
    async claim(
      id: string,
      segment: number,
      owner: string,
      leaseMs: number,
      spreadWithinMs: number,
    ): Promise<ClaimedSegment | null> {
      const [row] = await db.query(
        `UPDATE latency.segments s
            SET lease_owner = $3, worker = $3, lease_expires_at = now() + make_interval(secs => $4::float8 / 1000),
                run_attempts = s.run_attempts + 1, updated_at = now()
           FROM latency.experiments e
          WHERE s.experiment_id = $1 AND s.idx = $2 AND e.id = s.experiment_id AND e.state = 'running'
            AND s.state = 'pending' AND (s.lease_owner IS NULL OR s.lease_expires_at < now())
            AND NOT (
              EXISTS (SELECT 1 FROM latency.segments o
                       WHERE o.experiment_id = $1 AND o.idx <> $2 AND o.lease_owner = $3
                         AND o.lease_expires_at > now())
              AND EXISTS (SELECT 1 FROM latency.workers w
                           WHERE w.owner <> $3 AND w.seen_at > now() - make_interval(secs => $5::float8 / 1000)
                             AND NOT EXISTS (SELECT 1 FROM latency.segments o
                                              WHERE o.experiment_id = $1 AND o.lease_owner = w.owner
                                                AND o.lease_expires_at > now())))
          RETURNING s.current_profile_index, s.progress_ms, s.summary AS segment_summary,
                    s.histogram AS segment_histogram, s.raw_histogram AS segment_raw_histogram`,
        [id, segment, owner, leaseMs, spreadWithinMs],
      );
      if (!row) return null;
      await db.query(
        `UPDATE latency.experiments SET started_at = coalesce(started_at, now()), updated_at = now()
          WHERE id = $1`,
        [id],
      );
      const [e] = await db.query(
        `SELECT ${EXPERIMENT_COLUMNS},
                greatest(0, extract(epoch FROM (run_start_at - now())) * 1000)::float8 AS start_in_ms
           FROM latency.experiments WHERE id = $1`,
        [id],
      );
      if (!e) return null;
      const position = {
        profileIndex: Number(row.current_profile_index),
        progressMs: Number(row.progress_ms),
      };
      const fresh = position.profileIndex === 0 && position.progressMs === 0;
      return {
        experiment: experimentFromRow(e),
        segment,
        position,
        totals: {
          summary: (row.segment_summary as ExperimentSummary | null) ?? null,
          histogram: (row.segment_histogram as string | null) ?? null,
          rawHistogram: (row.segment_raw_histogram as string | null) ?? null,
        },
        rawResultsCount: Number(e.raw_results_count),
        // Only a segment that has not run yet waits for the shared start; a resumed one goes on at once.
        startInMs: fresh ? Number(e.start_in_ms ?? 0) : 0,
      };
    },

    /** Marks this process alive (for the spreading rule of `claim`); `gone` removes it at shutdown. */
    async heartbeat(owner: string, gone = false): Promise<void> {
      if (gone) await db.query('DELETE FROM latency.workers WHERE owner = $1', [owner]);
      else
        await db.query(
          `INSERT INTO latency.workers (owner, seen_at) VALUES ($1, now())
           ON CONFLICT (owner) DO UPDATE SET seen_at = now()`,
          [owner],
        );
    },

    /** Extends the leases this owner still holds; returns the `id:segment` keys it holds. */
    async renew(refs: SegmentRef[], owner: string, leaseMs: number): Promise<Set<string>> {
      if (refs.length === 0) return new Set();
      const rows = await db.query<{ experiment_id: string; idx: number }>(
        `UPDATE latency.segments s SET lease_expires_at = now() + make_interval(secs => $4::float8 / 1000)
           FROM unnest($1::uuid[], $2::int[]) AS r(id, idx)
          WHERE s.experiment_id = r.id AND s.idx = r.idx AND s.lease_owner = $3
          RETURNING s.experiment_id, s.idx`,
        [refs.map((r) => r.id), refs.map((r) => r.segment), owner, leaseMs],
      );
      return new Set(rows.map((r) => key(r.experiment_id, Number(r.idx))));
    },

    /** The experiment's state and the segment's owner, for every segment given (`id:segment` keys). */
    async states(
      refs: SegmentRef[],
    ): Promise<Map<string, { state: ExperimentState; leaseOwner: string | null }>> {
      if (refs.length === 0) return new Map();
      const rows = await db.query<{
        experiment_id: string;
        idx: number;
        state: ExperimentState;
        lease_owner: string | null;
      }>(
        `SELECT s.experiment_id, s.idx, e.state, s.lease_owner
           FROM unnest($1::uuid[], $2::int[]) AS r(id, idx)
           JOIN latency.segments s ON s.experiment_id = r.id AND s.idx = r.idx
           JOIN latency.experiments e ON e.id = s.experiment_id`,
        [refs.map((r) => r.id), refs.map((r) => r.segment)],
      );
      return new Map(
        rows.map((r) => [key(r.experiment_id, Number(r.idx)), { state: r.state, leaseOwner: r.lease_owner }]),
      );
    },

    /**
     * Segments of `running` experiments nobody holds (never claimed yet, released, or their runner
     * died). Finished experiments whose runner died before letting go are closed on the way.
     */
    async orphans(limit: number): Promise<SegmentRef[]> {
      const stale = await db.query<{ experiment_id: string }>(
        `UPDATE latency.segments s SET lease_owner = NULL, lease_expires_at = NULL
           FROM latency.experiments e
          WHERE e.id = s.experiment_id AND e.state IN ('completed', 'stopped', 'failed')
            AND s.lease_owner IS NOT NULL AND s.lease_expires_at < now()
          RETURNING s.experiment_id`,
      );
      for (const id of new Set(stale.map((r) => r.experiment_id))) await settle(db, id);
      const rows = await db.query<{ experiment_id: string; idx: number }>(
        `SELECT s.experiment_id, s.idx FROM latency.segments s
           JOIN latency.experiments e ON e.id = s.experiment_id
          WHERE e.state = 'running' AND s.state = 'pending'
            AND (s.lease_owner IS NULL OR s.lease_expires_at < now())
          ORDER BY s.lease_expires_at NULLS FIRST LIMIT $1`,
        [limit],
      );
      return rows.map((r) => ({ id: r.experiment_id, segment: Number(r.idx) }));
    },
  };
}
