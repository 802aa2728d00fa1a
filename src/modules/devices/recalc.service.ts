/**
 * Background recalculation of every device's all-time aggregates, stored in devices.aggregates with
 * the task that computed them.
 *
 * Runs as a pg-boss job on a 'singleton' queue: at most one recalculation is active across all
 * processes; a second one requested meanwhile is queued and WAITS, then runs (it may see newer
 * readings). Each request therefore has its own task id and its own status history.
 *
 * Incremental by default: only devices whose reading count differs from their stored result (readings
 * are insert-only, so that is exactly the devices that received readings since) are recomputed. `full`
 * rebuilds every device's hourly rollups and median index from its readings, then recomputes every device.
 * The incremental run brings the median index of the devices it recomputes up to date first.
 * State (queued/running/completed/failed) comes from pg-boss; the progress row adds done/total and
 * the error, and keeps the outcome after pg-boss has purged the job.
 */
import { randomUUID } from 'node:crypto';
import { conflict, isServiceError, notFound } from '../../platform/errors';
import type { JobState, Jobs } from '../../platform/jobs';
import type { Logger } from '../../platform/logger';
import type { AggregatesStore } from './aggregates.store';
import type { MedianIndex } from './median.index';
import type { Page, PageRequest, StoredAggregates, TaskStatus, TaskView } from './model';
import type { RollupsStore } from './rollups.store';
import type { TaskRecord, TasksStore } from './tasks.store';

export const RECALC_JOB = 'devices-recalculate';
/** The trigger recorded for a full rebuild asked for through the API. */
const FULL_TRIGGER = 'api-full';

export interface RecalcServiceDeps {
  jobs: Pick<Jobs, 'define' | 'send' | 'get'>;
  tasks: TasksStore;
  aggregates: Pick<AggregatesStore, 'deviceIds' | 'changedDeviceIds' | 'storeAllTime' | 'listStored'>;
  rollups: Pick<RollupsStore, 'rebuild'>;
  medianIndex: Pick<MedianIndex, 'refresh'>;
  logger: Logger;
  /** Cron expression; '' = not scheduled. */
  cron: string;
  /** Devices per statement; progress is reported after each. */
  chunkSize: number;
  onOutcome?: (outcome: 'completed' | 'failed') => void;
}

const STATUS_OF_JOB: Record<JobState['state'], TaskStatus> = {
  created: 'queued',
  retry: 'queued',
  active: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'failed',
};

/** What a task reports as its error: our own messages, never a driver's internals. */
function publicError(err: unknown, taskId: string): string {
  if (isServiceError(err) && err.status < 500) return err.message;
  return `The recalculation failed; the worker log has the cause (task ${taskId}).`;
}

export function createRecalcService(deps: RecalcServiceDeps) {
  const { tasks, aggregates, logger } = deps;
  let stopping = false;

  async function run(taskId: string, trigger: string, full: boolean): Promise<{ devices: number }> {
    try {
      const ids = full ? await aggregates.deviceIds() : await aggregates.changedDeviceIds();
      await tasks.start(taskId, trigger, ids.length);
      for (let i = 0; i < ids.length; i += deps.chunkSize) {
        if (stopping) throw conflict('DEVICES_RECALC_INTERRUPTED', 'Interrupted: the worker shut down');
        const chunk = ids.slice(i, i + deps.chunkSize);
        if (full) await deps.rollups.rebuild(chunk);
        await deps.medianIndex.refresh(chunk, full);
        await aggregates.storeAllTime(chunk, taskId);
        await tasks.progress(taskId, i + chunk.length);
      }
      await tasks.finish(taskId, 'completed', null);
      deps.onOutcome?.('completed');
      return { devices: ids.length };
    } catch (err) {
      logger.error({ err, taskId }, 'devices recalculation failed');
      await tasks
        .finish(taskId, 'failed', publicError(err, taskId))
        .catch((e) => logger.error({ err: e, taskId }, 'could not record the failure'));
      deps.onOutcome?.('failed');
      throw err; // pg-boss marks the job failed
    }
  }

  deps.jobs.define<{ trigger?: string; full?: boolean }>({
    name: RECALC_JOB,
    policy: 'singleton',
    retryLimit: 0,
    expireInSeconds: 60 * 60,
    cron: deps.cron,
    handler: (data, ctx) => run(ctx.jobId, data.trigger ?? 'schedule', data.full === true),
  });

  function view(id: string, job: JobState | null, row: TaskRecord | null): TaskView {
    const status = job ? STATUS_OF_JOB[job.state] : (row?.status ?? 'queued');
    const terminal = status === 'completed' || status === 'failed';
    let error = row?.error ?? null;
    // A job that failed without our handler recording why: it expired or its worker died.
    if (status === 'failed' && !error)
      error = 'The recalculation did not finish (expired or its worker stopped).';
    return {
      taskId: id,
      status,
      full: row?.trigger === FULL_TRIGGER,
      progress: { done: row?.done ?? 0, total: row?.total ?? 0 },
      startedAt: row?.startedAt ?? job?.startedOn ?? null,
      finishedAt: terminal ? (row?.finishedAt ?? job?.completedOn ?? null) : null,
      error: terminal ? error : null,
    };
  }

  return {
    /**
     * Queues a recalculation (incremental, or `full`); the task row exists before the job, so its id is
     * known at once.
     */
    async request(options: { full?: boolean } = {}): Promise<TaskView> {
      const id = randomUUID();
      const trigger = options.full ? FULL_TRIGGER : 'api';
      await tasks.create(id, trigger);
      // Read before sending: a worker may pick the job up at once and mark the row running.
      const queued = await tasks.get(id);
      try {
        const sent = await deps.jobs.send(RECALC_JOB, { trigger, full: options.full === true }, { id });
        if (sent !== id) throw new Error(`pg-boss did not queue job ${id}`);
      } catch (err) {
        await tasks.remove(id).catch(() => {});
        throw err;
      }
      return view(id, null, queued);
    },

    async status(taskId: string): Promise<TaskView> {
      // Job first, row second: the handler finishes the row before pg-boss completes the job, so a
      // completed job is never shown with the progress row as it was before the run.
      const job = await deps.jobs.get(RECALC_JOB, taskId);
      const row = await tasks.get(taskId);
      if (!job && !row) throw notFound('DEVICES_TASK_NOT_FOUND', `Task ${taskId} does not exist`);
      return view(taskId, job, row);
    },

    listStored(page: PageRequest): Promise<Page<StoredAggregates>> {
      return aggregates.listStored(page);
    },

    /** A running recalculation stops before its next chunk (its task then reports failed). */
    stop(): void {
      stopping = true;
    },
  };
}

export type RecalcService = ReturnType<typeof createRecalcService>;
