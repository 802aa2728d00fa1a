/**
 * SQL for experiments and their deck versions. Every change runs under the exclusive entry lock (see
 * ENTRY_LOCK_KEY) and reads the clock only after taking it, so a change's time is ordered with every
 * batch of new devices: a batch either committed before the change (and its devices were first seen
 * before it) or starts after it commits (and sees it).
 */
import type { Db, Queryable } from '../../platform/db';
import type { Experiment, OptionValue } from './model';

/**
 * Advisory lock between admin changes (exclusive) and batches of new devices (shared): batches run
 * side by side, a change waits for running batches and holds new ones back for its short transaction.
 */
export const ENTRY_LOCK_KEY = 7_324_005;

interface ExperimentRow {
  id: number;
  name: string;
  option_values: OptionValue[];
  seed: number;
  current_version: number;
  started_at: Date;
  stopped_at: Date | null;
  weights: number[];
  deck_size: number;
}

const SELECT_EXPERIMENT = `
  SELECT e.id, e.name, e.option_values, e.seed, e.current_version, e.started_at, e.stopped_at,
         d.weights, cardinality(d.deck) AS deck_size
  FROM ab.experiments e
  JOIN ab.decks d ON d.experiment_id = e.id AND d.version = e.current_version`;

const toExperiment = (r: ExperimentRow): Experiment => ({
  id: r.id,
  name: r.name,
  values: r.option_values,
  weights: r.weights.map(Number),
  version: r.current_version,
  deckSize: Number(r.deck_size),
  seed: r.seed,
  startedAt: r.started_at,
  stoppedAt: r.stopped_at,
});

export interface NewExperiment {
  name: string;
  values: OptionValue[];
  weights: number[];
  seed: number;
  deck: number[];
}

export interface CountRow {
  experimentId: number;
  version: number;
  option: number;
  devices: number;
}

export interface VersionRow {
  experimentId: number;
  version: number;
  weights: number[];
}

export type ExperimentsStore = ReturnType<typeof createExperimentsStore>;

export function createExperimentsStore(db: Pick<Db, 'query' | 'transaction'>) {
  /** Runs fn under the exclusive entry lock; `now` is read after the lock is held. */
  const locked = <T>(now: () => Date, fn: (tx: Queryable, at: Date) => Promise<T>) =>
    db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${ENTRY_LOCK_KEY})`);
      return fn(tx, now());
    });

  const byName = async (name: string, tx: Queryable = db): Promise<Experiment | null> => {
    const rows = await tx.query<ExperimentRow>(`${SELECT_EXPERIMENT} WHERE e.name = $1`, [name]);
    return rows[0] ? toExperiment(rows[0]) : null;
  };

  return {
    byName,

    async list(tx: Queryable = db): Promise<Experiment[]> {
      return (await tx.query<ExperimentRow>(`${SELECT_EXPERIMENT} ORDER BY e.id`)).map(toExperiment);
    },

    /** Inserts the experiment and its first deck; null when the name is taken. */
    create(input: NewExperiment, now: () => Date): Promise<Experiment | null> {
      return locked(now, async (tx, at) => {
        const rows = await tx.query<{ id: number }>(
          `INSERT INTO ab.experiments (name, option_values, seed, current_version, started_at)
           VALUES ($1, $2::jsonb, $3, 1, $4)
           ON CONFLICT (name) DO NOTHING
           RETURNING id`,
          [input.name, JSON.stringify(input.values), input.seed, at],
        );
        if (!rows[0]) return null;
        await tx.query(
          `INSERT INTO ab.decks (experiment_id, version, weights, deck, created_at)
           VALUES ($1, 1, $2::int[], $3::int2[], $4)`,
          [rows[0].id, input.weights, input.deck, at],
        );
        return byName(input.name, tx);
      });
    },

    /** Sets stopped_at once (stopping twice keeps the first time); null when there is no such experiment. */
    stop(name: string, now: () => Date): Promise<Experiment | null> {
      return locked(now, async (tx, at) => {
        await tx.query(`UPDATE ab.experiments SET stopped_at = $2 WHERE name = $1 AND stopped_at IS NULL`, [
          name,
          at,
        ]);
        return byName(name, tx);
      });
    },

    /**
     * Adds deck version `version` and makes it current, only if the current one is still `version - 1`
     * (a concurrent change wins, the other gets null and re-reads). Earlier devices keep their rows.
     */
    addVersion(
      id: number,
      version: number,
      weights: number[],
      deck: number[],
      now: () => Date,
    ): Promise<boolean> {
      return locked(now, async (tx, at) => {
        const moved = await tx.query(
          `UPDATE ab.experiments SET current_version = $2 WHERE id = $1 AND current_version = $2 - 1 RETURNING id`,
          [id, version],
        );
        if (moved.length === 0) return false;
        await tx.query(
          `INSERT INTO ab.decks (experiment_id, version, weights, deck, created_at)
           VALUES ($1, $2, $3::int[], $4::int2[], $5)`,
          [id, version, weights, deck, at],
        );
        return true;
      });
    },

    /** Deletes the experiment with its decks and assignments; returns the new answers epoch, or null. */
    delete(name: string, now: () => Date): Promise<number | null> {
      return locked(now, async (tx) => {
        const gone = await tx.query(`DELETE FROM ab.experiments WHERE name = $1 RETURNING id`, [name]);
        if (gone.length === 0) return null;
        const rows = await tx.query<{ epoch: number }>(
          `UPDATE ab.answers_epoch SET epoch = epoch + 1 RETURNING epoch`,
        );
        return Number(rows[0]!.epoch);
      });
    },

    async versions(tx: Queryable = db): Promise<VersionRow[]> {
      const rows = await tx.query<{ experiment_id: number; version: number; weights: number[] }>(
        `SELECT experiment_id, version, weights FROM ab.decks ORDER BY experiment_id, version`,
      );
      return rows.map((r) => ({ experimentId: r.experiment_id, version: r.version, weights: r.weights }));
    },

    /** Devices per (experiment, version, option), counted from the assignments themselves. */
    async counts(tx: Queryable = db): Promise<CountRow[]> {
      const rows = await tx.query<{ experiment_id: number; version: number; option: number; n: number }>(
        `SELECT experiment_id, version, option, count(*) AS n
         FROM ab.assignments GROUP BY experiment_id, version, option`,
      );
      return rows.map((r) => ({
        experimentId: r.experiment_id,
        version: r.version,
        option: r.option,
        devices: Number(r.n),
      }));
    },
  };
}
