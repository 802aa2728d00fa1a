/**
 * The recalculation job end to end through pg-boss on this database: status transitions, progress,
 * one-at-a-time execution, stored results, and a failing store.
 */
import { describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import type { Db } from '../../platform/db';
import { createAggregatesStore } from './aggregates.store';
import { createDevicesModule, type DevicesModuleOptions } from './index';
import { RECALC_JOB } from './recalc.service';

const DEVICES = ['r-1', 'r-2', 'r-3', 'r-4', 'r-5'];

async function appWith(options: DevicesModuleOptions, env: Record<string, string> = {}): Promise<TestApp> {
  const app = await buildTestApp({ modules: [(deps) => createDevicesModule(deps, options)], env });
  const payload = DEVICES.flatMap((device_id, d) =>
    Array.from({ length: d + 2 }, (_, i) => ({
      device_id,
      x: i - d,
      y: i * 0.5,
      z: -1,
      ts: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString(),
    })),
  );
  expect((await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload })).statusCode).toBe(
    201,
  );
  return app;
}

const task = async (app: TestApp, id: string) => {
  const res = await app.http.inject({ method: 'GET', url: `/tasks/${id}` });
  expect(res.statusCode).toBe(200);
  return res.json();
};

async function waitForStatus(
  app: TestApp,
  id: string,
  status: string,
  also: (t: { progress: { total: number } }) => boolean = () => true,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await task(app, id);
    if (t.status === status && also(t)) return t;
    if (Date.now() > deadline) throw new Error(`task ${id} still ${t.status}, wanted ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function requestRecalc(app: TestApp, query = '', body?: unknown): Promise<string> {
  const res = await app.http.inject({
    method: 'POST',
    url: `/tasks/recalculate${query}`,
    ...(body === undefined ? {} : { payload: body as object }),
  });
  expect(res.statusCode).toBe(202);
  const full = query.includes('full=true') || (body as { full?: boolean } | undefined)?.full === true;
  expect(res.json()).toMatchObject({ status: 'queued', full, progress: { done: 0, total: 0 }, error: null });
  expect((await app.http.inject({ method: 'GET', url: `/tasks/${res.json().task_id}` })).json().full).toBe(
    full,
  );
  return res.json().task_id;
}

/** A store whose writes wait until the test opens the gate. */
function gated() {
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const aggregatesStore = (db: Db) => {
    const real = createAggregatesStore(db);
    return {
      ...real,
      async storeAllTime(ids: readonly string[], taskId: string) {
        await gate;
        return real.storeAllTime(ids, taskId);
      },
    };
  };
  return { aggregatesStore, open };
}

describe('POST /tasks/recalculate', () => {
  it('runs queued -> running -> completed, one at a time, and stores every device’s aggregates', async () => {
    const { aggregatesStore, open } = gated();
    const app = await appWith({ aggregatesStore, recalcChunkSize: 2 });

    const first = await requestRecalc(app);
    // pg-boss marks the job active a moment before the handler records the total.
    const running = await waitForStatus(app, first, 'running', (t) => t.progress.total > 0);
    expect(running).toMatchObject({ progress: { done: 0, total: 5 }, finished_at: null, error: null });
    expect(running.started_at).toMatch(/Z$/);

    // Requested while the first runs: it waits in the queue (singleton policy), it does not run alongside.
    const second = await requestRecalc(app);
    await new Promise((r) => setTimeout(r, 1500)); // three polling intervals
    expect((await task(app, second)).status).toBe('queued');
    expect((await task(app, first)).status).toBe('running');

    open();
    const done1 = await waitForStatus(app, first, 'completed');
    expect(done1).toMatchObject({ progress: { done: 5, total: 5 }, error: null });
    const done2 = await waitForStatus(app, second, 'completed');
    expect(Date.parse(done2.started_at)).toBeGreaterThanOrEqual(Date.parse(done1.finished_at));
    // No reading arrived in between: the second (incremental) run has nothing to recompute.
    expect(done2.progress).toEqual({ done: 0, total: 0 });

    const stored = await app.http.inject({ method: 'GET', url: '/devices/aggregates?limit=3' });
    expect(stored.statusCode).toBe(200);
    const page1 = stored.json();
    const page2 = (
      await app.http.inject({ method: 'GET', url: `/devices/aggregates?after=${page1.next_after}` })
    ).json();
    const items = [...page1.items, ...page2.items];
    expect(items.map((a: { device_id: string }) => a.device_id)).toEqual(DEVICES);
    for (const item of items) {
      const { computed_at, task_id, pending_readings, ...aggregates } = item;
      expect(task_id).toBe(first);
      expect(pending_readings).toBe(0);
      expect(Date.parse(computed_at)).toBeGreaterThanOrEqual(Date.parse(done1.started_at));
      const live = await app.http.inject({ method: 'GET', url: `/devices/${item.device_id}/data/all` });
      expect(aggregates).toEqual(live.json());
    }
    // Independent check of one: r-2 has x = -1, 0, 1; y = 0, 0.5, 1; z = -1.
    expect(items[1]).toMatchObject({
      count: 3,
      summation: 1.5 - 3,
      median: -0.5,
      axes: { x: { median: 0 } },
    });
  });

  it('recomputes only devices with new readings; full recomputes all, to the same results', async () => {
    const app = await appWith({ recalcChunkSize: 2 });
    const stored = async () =>
      (await app.http.inject({ method: 'GET', url: '/devices/aggregates?limit=100' })).json().items as {
        device_id: string;
        task_id: string;
        pending_readings: number;
        computed_at: string;
      }[];
    const first = await requestRecalc(app);
    expect((await waitForStatus(app, first, 'completed')).progress).toEqual({ done: 5, total: 5 });

    // A late reading in the middle of r-2's history and a new device.
    const late = { x: 100, y: 0, z: 0, ts: new Date(Date.UTC(2024, 0, 1, 0, 1, 30)).toISOString() };
    expect(
      (await app.http.inject({ method: 'POST', url: '/devices/r-2/data', payload: late })).statusCode,
    ).toBe(201);
    expect(
      (await app.http.inject({ method: 'POST', url: '/devices/r-9/data', payload: { x: 1, y: 1, z: 1 } }))
        .statusCode,
    ).toBe(201);
    const before = await stored();
    expect(before.find((a) => a.device_id === 'r-2')?.pending_readings).toBe(1);
    expect(before.find((a) => a.device_id === 'r-1')?.pending_readings).toBe(0);

    const second = await requestRecalc(app);
    expect((await waitForStatus(app, second, 'completed')).progress).toEqual({ done: 2, total: 2 });
    const incremental = await stored();
    expect(incremental.map((a) => [a.device_id, a.task_id === second])).toEqual([
      ['r-1', false],
      ['r-2', true],
      ['r-3', false],
      ['r-4', false],
      ['r-5', false],
      ['r-9', true],
    ]);
    for (const a of incremental) {
      expect(a.pending_readings).toBe(0);
      const { computed_at, task_id, pending_readings, ...aggregates } = a;
      const live = await app.http.inject({ method: 'GET', url: `/devices/${a.device_id}/data/all` });
      expect(aggregates).toEqual(live.json());
    }
    // r-2: values x + y + z = -2, -0.5, 1 and the late 100 + 0 + 0.
    expect(incremental[1]).toMatchObject({ count: 4, median: (-0.5 + 1) / 2, max_value: 100, min_value: -2 });

    const full = await requestRecalc(app, '?full=true');
    expect((await waitForStatus(app, full, 'completed')).progress).toEqual({ done: 6, total: 6 });
    const rebuilt = await stored();
    expect(rebuilt.every((a) => a.task_id === full)).toBe(true);
    const strip = ({ computed_at, task_id, ...rest }: Record<string, unknown>) => rest;
    expect(rebuilt.map(strip)).toEqual(incremental.map(strip));

    // The same in a JSON body, as a client of a POST route tends to send it.
    const again = await requestRecalc(app, '', { full: true });
    expect((await waitForStatus(app, again, 'completed')).progress).toEqual({ done: 6, total: 6 });

    const bad = await app.http.inject({ method: 'POST', url: '/tasks/recalculate?full=maybe' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toBe('querystring.full: must be true or false');
    for (const [payload, detail] of [
      [{ full: 'yes' }, 'body.full: must be true or false'],
      [{ ful: true }, 'body.ful: unknown field (not allowed)'],
    ] as const) {
      const res = await app.http.inject({ method: 'POST', url: '/tasks/recalculate', payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().detail).toBe(detail);
    }
  });

  it('reports failed with progress so far and a safe error when the store fails mid-run', async () => {
    let calls = 0;
    const app = await appWith({
      recalcChunkSize: 2,
      aggregatesStore: (db) => {
        const real = createAggregatesStore(db);
        return {
          ...real,
          async storeAllTime(ids: readonly string[], taskId: string) {
            if (++calls === 2) throw new Error('disk on fire at /var/lib/postgresql');
            return real.storeAllTime(ids, taskId);
          },
        };
      },
    });
    const id = await requestRecalc(app);
    const failed = await waitForStatus(app, id, 'failed');
    expect(failed.progress).toEqual({ done: 2, total: 5 });
    expect(failed.finished_at).toMatch(/Z$/);
    expect(failed.error).toContain('failed');
    expect(failed.error).not.toContain('disk'); // internals stay in the log
    // The chunk stored before the failure is kept.
    const stored = (await app.http.inject({ method: 'GET', url: '/devices/aggregates' })).json();
    expect(stored.items.map((a: { device_id: string }) => a.device_id)).toEqual(['r-1', 'r-2']);

    // The next request recomputes what the failed one left (3 of 5 devices) and completes.
    const retry = await requestRecalc(app);
    expect((await waitForStatus(app, retry, 'completed')).progress).toEqual({ done: 3, total: 3 });
    const after = (await app.http.inject({ method: 'GET', url: '/devices/aggregates' })).json();
    expect(after.items.map((a: { device_id: string }) => a.device_id)).toEqual(DEVICES);
  });

  it('runs a job that arrives without a task row (the cron path) and reports it', async () => {
    const app = await appWith({}, { DEVICES_RECALC_CRON: '*/30 * * * *' });
    const schedules = await app.db.query<{ name: string; cron: string }>(
      'SELECT name, cron FROM pgboss.schedule',
    );
    expect(schedules).toEqual([{ name: RECALC_JOB, cron: '*/30 * * * *' }]);
    // What pg-boss's scheduler sends: no data.
    const id = await app.jobs.send(RECALC_JOB, {});
    const done = await waitForStatus(app, id!, 'completed');
    expect(done.progress).toEqual({ done: 5, total: 5 });
  });

  it('answers 404 for an unknown task and 400 for a malformed id', async () => {
    const app = await buildTestApp({ modules: [createDevicesModule] });
    const unknown = await app.http.inject({
      method: 'GET',
      url: '/tasks/00000000-0000-4000-8000-000000000000',
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('DEVICES_TASK_NOT_FOUND');
    const bad = await app.http.inject({ method: 'GET', url: '/tasks/42' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toContain('params.task_id');
  });
});
