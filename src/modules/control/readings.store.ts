/**
 * SQL of the readings: the batched insert, the window statistics of a decision, the live view and replay,
 * and retention. Rows become domain objects here: numbers, NaN for a missing statistic (SQL NULL: avg of
 * no rows, stddev_samp of one row), which is what decide() expects.
 */
import type { Db, Queryable } from '../../platform/db';
import type { NewReading, TimeWindow, WindowStats } from './model';

interface StatsRow {
  prev_n: number;
  prev_mean: number | null;
  prev_std: number | null;
  curr_n: number;
  curr_mean: number | null;
  curr_std: number | null;
}

/** SQL NULL (no statistic) as NaN; pg and PGlite return float8 'Infinity'/'NaN' as numbers already. */
export const num = (v: number | string | null): number => (v === null ? Number.NaN : Number(v));

/**
 * Both windows in one pass over one index range. float8 aggregates (not numeric): faster, and
 * stddev_samp(float8) uses the numerically stable Youngs-Cramer update.
 */
const WINDOW_STATS_SQL = `
SELECT count(*) FILTER (WHERE datetime < $2) AS prev_n,
       avg(payload::float8) FILTER (WHERE datetime < $2) AS prev_mean,
       stddev_samp(payload::float8) FILTER (WHERE datetime < $2) AS prev_std,
       count(*) FILTER (WHERE datetime >= $2) AS curr_n,
       avg(payload::float8) FILTER (WHERE datetime >= $2) AS curr_mean,
       stddev_samp(payload::float8) FILTER (WHERE datetime >= $2) AS curr_std
FROM control.readings
WHERE datetime >= $1 AND datetime < $3`;

/** n, mean, sample std of one aligned window, keyed by its slot (start / interval). */
export interface SlotStats {
  slot: number;
  n: number;
  mean: number;
  std: number;
}

/**
 * Per-window statistics of a range of aligned windows, for replay: the same aggregates as the decision's
 * query, grouped by slot = floor(epoch ms / interval). One range scan of the datetime index per page.
 */
const SLOT_STATS_SQL = `
SELECT floor(extract(epoch FROM datetime) * 1000 / $3)::int8 AS slot,
       count(*) AS n,
       avg(payload::float8) AS mean,
       stddev_samp(payload::float8) AS std
FROM control.readings
WHERE datetime >= $1 AND datetime < $2
GROUP BY 1
ORDER BY 1`;

export function createReadingsStore(db: Pick<Db, 'query'>) {
  return {
    /**
     * One statement per batch (the BatchWriter's flush). `receivedAt` is one value for the batch: its rows
     * arrived within the writer's few milliseconds, and a third array costs ~40 % more per row on PGlite.
     */
    async insertReadings(rows: readonly NewReading[], receivedAt: Date, tx: Queryable = db): Promise<void> {
      if (rows.length === 0) return;
      await tx.query(
        `INSERT INTO control.readings (datetime, payload, received_at)
         SELECT d, p, $3::timestamptz FROM unnest($1::timestamptz[], $2::int4[]) AS u(d, p)`,
        [rows.map((r) => r.datetime.toISOString()), rows.map((r) => r.payload), receivedAt.toISOString()],
      );
    },

    /** n, mean, sample std of two adjacent windows (prev.end must equal curr.start). */
    async windowStats(
      prev: TimeWindow,
      curr: TimeWindow,
      tx: Queryable = db,
    ): Promise<{ prev: WindowStats; curr: WindowStats }> {
      const [r] = await tx.query<StatsRow>(WINDOW_STATS_SQL, [
        prev.start.toISOString(),
        curr.start.toISOString(),
        curr.end.toISOString(),
      ]);
      const row = r!;
      return {
        prev: { n: Number(row.prev_n), mean: num(row.prev_mean), std: num(row.prev_std), ...prev },
        curr: { n: Number(row.curr_n), mean: num(row.curr_mean), std: num(row.curr_std), ...curr },
      };
    },

    /** Windows with readings among the slots [fromSlot, toSlot) of `intervalMs`; empty ones are absent. */
    async slotStats(fromSlot: number, toSlot: number, intervalMs: number): Promise<SlotStats[]> {
      const rows = await db.query<{
        slot: number | string;
        n: number | string;
        mean: number;
        std: number | null;
      }>(SLOT_STATS_SQL, [
        new Date(fromSlot * intervalMs).toISOString(),
        new Date(toSlot * intervalMs).toISOString(),
        intervalMs,
      ]);
      return rows.map((r) => ({ slot: Number(r.slot), n: Number(r.n), mean: num(r.mean), std: num(r.std) }));
    },

    /** Deletes readings older than `cutoff`; returns how many. */
    async deleteReadingsBefore(cutoff: Date, tx: Queryable = db): Promise<number> {
      const rows = await tx.query<{ n: number }>(
        'WITH d AS (DELETE FROM control.readings WHERE datetime < $1 RETURNING 1) SELECT count(*) AS n FROM d',
        [cutoff.toISOString()],
      );
      return Number(rows[0]!.n);
    },
  };
}

export type ReadingsStore = ReturnType<typeof createReadingsStore>;
