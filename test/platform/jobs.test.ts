import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/platform/db';
import { createJobs } from '../../src/platform/jobs';
import { createLogger } from '../../src/platform/logger';
import type { ModuleFactory } from '../../src/platform/module';
import { buildTestApp, openTestDb } from '../helpers';

describe('background jobs', () => {
  it('sends, works and completes a job on this database', async () => {
    const seen: unknown[] = [];
    const probe: ModuleFactory = ({ jobs }) => {
      jobs.define<{ n: number }>({
        name: 'test-double',
        handler: async (data) => {
          seen.push(data);
          return { doubled: data.n * 2 };
        },
      });
      return { name: 'probe' };
    };
    const app = await buildTestApp({ modules: [probe] });
    const id = await app.jobs.send('test-double', { n: 21 });
    expect(id).toBeTruthy();
    let state = await app.jobs.get('test-double', id!);
    for (let i = 0; i < 100 && state?.state !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = await app.jobs.get('test-double', id!);
    }
    expect(state?.state).toBe('completed');
    expect(state?.output).toEqual({ doubled: 42 });
    expect(seen).toEqual([{ n: 21 }]);
  });
});

describe('a job sent from the process that works it', () => {
  it('starts at once, not at the next poll (JOBS_POLL_INTERVAL_SECONDS=60)', async () => {
    let startedAt = 0;
    const probe: ModuleFactory = ({ jobs }) => {
      jobs.define({
        name: 'test-prompt',
        handler: async () => {
          startedAt = Date.now();
        },
      });
      return { name: 'probe' };
    };
    const app = await buildTestApp({ modules: [probe], env: { JOBS_POLL_INTERVAL_SECONDS: '60' } });
    // The worker's first fetch happens when it starts; let it go to sleep for its 60 s poll.
    await new Promise((r) => setTimeout(r, 500));
    const sentAt = Date.now();
    await app.jobs.send('test-prompt', {});
    for (let i = 0; i < 100 && startedAt === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(startedAt, 'the job never started').toBeGreaterThan(0);
    expect(startedAt - sentAt).toBeLessThan(5000);
  });
});

describe('stopping while a worker is fetching', () => {
  it('runs nothing and touches the database no more once stop() has returned', async () => {
    const db = await openTestDb();
    // pg-boss's fetch is slowed down on demand, so that stop() begins while it is in flight.
    let slowFetch = false;
    let statementsAfterStop = 0;
    let stopped = false;
    const slow = async <T>(text: string, run: () => Promise<T>): Promise<T> => {
      if (stopped) statementsAfterStop++;
      if (slowFetch && /SKIP LOCKED/i.test(text)) await new Promise((r) => setTimeout(r, 400));
      return run();
    };
    const raw = db.pool ?? db.pglite!;
    const wrapped = db.pool
      ? { pool: { query: (t: string, v?: unknown[]) => slow(t, () => db.pool!.query(t, v)) } }
      : {
          pglite: {
            query: (t: string, v?: unknown[]) => slow(t, () => db.pglite!.query(t, v)),
            exec: (t: string) => slow(t, () => db.pglite!.exec(t)),
          },
        };
    expect(raw).toBeTruthy();
    const jobs = createJobs({
      db: { ...db, pool: null, pglite: null, ...wrapped } as unknown as Db,
      logger: createLogger('silent'),
      pollingIntervalSeconds: 0.5,
    });
    let ran = false;
    jobs.define({
      name: 'test-late',
      handler: async () => {
        ran = true;
      },
    });
    await jobs.start({ work: true });
    await new Promise((r) => setTimeout(r, 700)); // the worker's first fetch is over
    slowFetch = true;
    const id = await jobs.send('test-late', {}); // wakes the worker: a slow fetch begins
    await new Promise((r) => setTimeout(r, 100));
    await jobs.stop();
    stopped = true;
    const ranBeforeStopReturned = ran;
    await new Promise((r) => setTimeout(r, 800)); // the fetch would be over by now
    expect(statementsAfterStop).toBe(0);
    expect(ran).toBe(ranBeforeStopReturned);
    // The job the fetch took is failed (retried where its queue allows), not left active.
    const rows = await db.query<{ state: string }>('select state from pgboss.job where id = $1', [id]);
    expect(rows[0]?.state).toBe(ran ? 'completed' : 'failed');
  });
});
