/** Progress rows of recalculation tasks (see tasks in devices.schema.ts). */
import type { Db, Queryable } from '../../platform/db';
import type { TaskStatus } from './model';

export interface TaskRecord {
  id: string;
  trigger: string;
  status: TaskStatus;
  total: number;
  done: number;
  requestedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

interface TaskRow {
  id: string;
  trigger: string;
  status: TaskStatus;
  total: number;
  done: number;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  error: string | null;
}

export function createTasksStore(db: Pick<Db, 'query'>) {
  return {
    async create(id: string, trigger: string, tx: Queryable = db): Promise<void> {
      await tx.query('INSERT INTO devices.tasks (id, trigger) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
        id,
        trigger,
      ]);
    },

    async remove(id: string, tx: Queryable = db): Promise<void> {
      await tx.query('DELETE FROM devices.tasks WHERE id = $1', [id]);
    },

    /** Marks the task running; creates its row when the job came from the schedule. */
    async start(id: string, trigger: string, total: number, tx: Queryable = db): Promise<void> {
      await tx.query(
        `INSERT INTO devices.tasks (id, trigger, total, status, started_at) VALUES ($1, $2, $3, 'running', now())
         ON CONFLICT (id) DO UPDATE SET total = $3, done = 0, status = 'running', started_at = now(),
           finished_at = NULL, error = NULL`,
        [id, trigger, total],
      );
    },

    async progress(id: string, done: number, tx: Queryable = db): Promise<void> {
      await tx.query('UPDATE devices.tasks SET done = $2 WHERE id = $1', [id, done]);
    },

    async finish(
      id: string,
      status: 'completed' | 'failed',
      error: string | null,
      tx: Queryable = db,
    ): Promise<void> {
      await tx.query('UPDATE devices.tasks SET status = $2, error = $3, finished_at = now() WHERE id = $1', [
        id,
        status,
        error,
      ]);
    },

    async get(id: string, tx: Queryable = db): Promise<TaskRecord | null> {
      const rows = await tx.query<TaskRow>('SELECT * FROM devices.tasks WHERE id = $1', [id]);
      const r = rows[0];
      if (!r) return null;
      return {
        id: r.id,
        trigger: r.trigger,
        status: r.status,
        total: Number(r.total),
        done: Number(r.done),
        requestedAt: r.requested_at,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
        error: r.error,
      };
    },
  };
}

export type TasksStore = ReturnType<typeof createTasksStore>;
