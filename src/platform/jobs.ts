/**
 * Background jobs on the same database through pg-boss 10 (Celery's role, without another server).
 * Modules `define` jobs; every process can `send`; processes started with background work also
 * `work` them, so `telelab worker` processes on other machines share the load.
 *
 * PGlite has no pg pool: pg-boss gets an adapter that runs parameterless (often multi-statement)
 * SQL through `exec` and the rest through `query`. PGlite serialises calls on its one connection,
 * so pg-boss's own `BEGIN ... COMMIT` scripts stay atomic.
 */
import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Db } from './db';

export interface JobContext {
  jobId: string;
}

export interface JobDefinition<T extends object = object> {
  name: string;
  handler: (data: T, ctx: JobContext) => Promise<unknown>;
  /** pg-boss queue policy: 'singleton' = at most one active job (e.g. recalculations). */
  policy?: 'standard' | 'short' | 'singleton' | 'stately';
  retryLimit?: number;
  expireInSeconds?: number;
  /** Cron schedule; empty = not scheduled. */
  cron?: string;
}

export interface JobState {
  id: string;
  name: string;
  state: 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';
  data: unknown;
  output: unknown;
  createdOn: Date;
  startedOn: Date | null;
  completedOn: Date | null;
}

export interface Jobs {
  define<T extends object>(def: JobDefinition<T>): void;
  send(name: string, data: object, options?: PgBoss.SendOptions): Promise<string | null>;
  get(name: string, id: string): Promise<JobState | null>;
  /** Creates queues; with `work`, also starts workers for every defined job. */
  start(opts: { work: boolean }): Promise<void>;
  stop(): Promise<void>;
  readonly working: boolean;
}

function bossDb(db: Db): PgBoss.Db {
  if (db.pool) {
    const pool = db.pool;
    return { executeSql: (text, values) => pool.query(text, values) };
  }
  const client = db.pglite!;
  return {
    async executeSql(text, values) {
      if (values && values.length > 0) return client.query(text, values);
      const results = await client.exec(text);
      return results[results.length - 1] ?? { rows: [] };
    },
  };
}

/**
 * Processes starting together on a fresh PostgreSQL can deadlock inside pg-boss's createQueue
 * (each creates the queue's partition); the loser simply tries again.
 */
async function retryOnDeadlock<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (i >= attempts || (code !== '40P01' && code !== '23505')) throw e;
      await new Promise((r) => setTimeout(r, 50 * i + Math.random() * 100));
    }
  }
}

export function createJobs(deps: {
  db: Db;
  logger: Logger;
  pollingIntervalSeconds?: number;
  /** Processes doing background work also run cron and pg-boss maintenance; senders stay light. */
  background?: boolean;
}): Jobs {
  const defs = new Map<string, JobDefinition<object>>();
  const boss = new PgBoss({
    db: bossDb(deps.db),
    schema: 'pgboss',
    supervise: deps.background ?? true,
    schedule: deps.background ?? true,
  });
  boss.on('error', (err) => deps.logger.error({ err }, 'background jobs error'));
  let started = false;
  let working = false;

  return {
    get working() {
      return working;
    },
    define(def) {
      if (defs.has(def.name)) throw new Error(`Job ${def.name} is defined twice`);
      defs.set(def.name, def as JobDefinition<object>);
    },
    async send(name, data, options = {}) {
      if (!defs.has(name)) throw new Error(`Unknown job ${name}`);
      return boss.send(name, data, options);
    },
    async get(name, id) {
      // pg-boss ids are uuids; anything else would be a database error, not "no such job".
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
      const job = await boss.getJobById<unknown>(name, id, { includeArchive: true });
      if (!job) return null;
      return {
        id: job.id,
        name: job.name,
        state: job.state,
        data: job.data,
        output: job.output,
        createdOn: job.createdOn,
        startedOn: job.startedOn ?? null,
        completedOn: job.completedOn ?? null,
      };
    },
    async start({ work }) {
      await boss.start();
      started = true;
      for (const def of defs.values()) {
        const queue = {
          name: def.name,
          policy: def.policy ?? 'standard',
          retryLimit: def.retryLimit ?? 0,
          expireInSeconds: def.expireInSeconds ?? 15 * 60,
        } as const;
        await retryOnDeadlock(() => boss.createQueue(def.name, queue));
      }
      if (!work) return;
      working = true;
      for (const def of defs.values()) {
        await boss.work<object>(
          def.name,
          { pollingIntervalSeconds: deps.pollingIntervalSeconds ?? 0.5, batchSize: 1 },
          async ([job]) => {
            if (!job) return;
            deps.logger.debug({ job: def.name, id: job.id }, 'job started');
            return def.handler(job.data, { jobId: job.id });
          },
        );
        if (def.cron) await boss.schedule(def.name, def.cron, {}, { tz: 'UTC' });
        else await boss.unschedule(def.name).catch(() => {});
      }
    },
    async stop() {
      if (!started) return;
      started = false;
      working = false;
      // graceful: wait for active handlers; close: false because the Db is ours to close.
      await boss.stop({ graceful: true, close: false, wait: true, timeout: 10_000 });
    },
  };
}
