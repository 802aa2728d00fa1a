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

/**
 * pg-boss's database adapter, which also counts the statements in flight, so that stop() can wait
 * for them before the owner closes the database (see stop()).
 */
function bossDb(db: Db): PgBoss.Db & { idle(): boolean; settled(): Promise<void> } {
  const inFlight = new Set<Promise<unknown>>();
  const run = (text: string, values?: unknown[]): Promise<unknown> => {
    if (db.pool) return db.pool.query(text, values);
    const client = db.pglite!;
    if (values && values.length > 0) return client.query(text, values);
    return client.exec(text).then((results) => results[results.length - 1] ?? { rows: [] });
  };
  return {
    executeSql(text, values) {
      const p = run(text, values);
      inFlight.add(p);
      const forget = () => inFlight.delete(p);
      p.then(forget, forget);
      return p as ReturnType<PgBoss.Db['executeSql']>;
    },
    idle: () => inFlight.size === 0,
    settled: () => Promise.allSettled([...inFlight]).then(() => undefined),
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
  /** Default 0.5 s. A job sent by this process wakes its worker at once, whatever the interval. */
  pollingIntervalSeconds?: number | undefined;
  /** Processes doing background work also run cron and pg-boss maintenance; senders stay light. */
  background?: boolean;
}): Jobs {
  const defs = new Map<string, JobDefinition<object>>();
  const db = bossDb(deps.db);
  const boss = new PgBoss({
    db,
    schema: 'pgboss',
    supervise: deps.background ?? true,
    schedule: deps.background ?? true,
  });
  boss.on('error', (err) => deps.logger.error({ err }, 'background jobs error'));
  let started = false;
  let working = false;
  let stopping = false;
  /** Handlers running now (their promises), whichever worker fetched them. */
  const handling = new Set<Promise<unknown>>();
  /** This process's worker of each queue, woken by send() instead of waiting for its next poll. */
  const workers = new Map<string, string>();
  const pollingIntervalSeconds = deps.pollingIntervalSeconds ?? 0.5;

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
      const id = await boss.send(name, data, options);
      const worker = workers.get(name);
      if (id !== null && worker) boss.notifyWorker(worker);
      return id;
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
        const workerId = await boss.work<object>(
          def.name,
          { pollingIntervalSeconds, batchSize: 1 },
          async ([job]) => {
            if (!job) return;
            // A fetch already in flight when stop() began may still hand over a job: pg-boss
            // fails it (and retries it where the queue allows) instead of running it now.
            if (stopping) throw new Error('This process was stopping when the job arrived');
            deps.logger.debug({ job: def.name, id: job.id }, 'job started');
            const p = def.handler(job.data, { jobId: job.id });
            handling.add(p);
            const forget = () => handling.delete(p);
            p.then(forget, forget);
            return p;
          },
        );
        workers.set(def.name, workerId);
        if (def.cron) await boss.schedule(def.name, def.cron, {}, { tz: 'UTC' });
        else await boss.unschedule(def.name).catch(() => {});
      }
    },
    async stop() {
      if (!started) return;
      started = false;
      working = false;
      stopping = true;
      workers.clear();
      // graceful: wait for active handlers; close: false because the Db is ours to close.
      const timeoutMs = 10_000;
      const deadline = Date.now() + timeoutMs + 2_000;
      await boss.stop({ graceful: true, close: false, wait: true, timeout: timeoutMs });
      // pg-boss returns once no worker holds a job, but (pg-boss 10) a worker's fetch may still be
      // in flight, and the statement marking a finished job completed or failed is not awaited.
      // The owner closes the database right after stop(): wait until no statement and no handler
      // is left, checking again after the event loop turns so that a fetch's handler has begun.
      while (Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([db.settled(), ...handling]),
          new Promise((r) => (timer = setTimeout(r, deadline - Date.now()))),
        ]);
        clearTimeout(timer);
        await new Promise((r) => setImmediate(r));
        if (db.idle() && handling.size === 0) break;
      }
      if (handling.size > 0) {
        deps.logger.warn({ handlers: handling.size }, 'background jobs still running at shutdown');
      }
    },
  };
}
