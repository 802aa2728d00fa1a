import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../../test/helpers';
import { createDecisionsStore, type DecisionsStore } from '../decisions.store';
import type { ControlModule } from '../index';
import {
  at2030 as at,
  clearControlTables,
  controlApp,
  expectProblemDetail as expectProblem,
  type FakeClock,
  fakeClock,
  readRoutesApp,
  seedDecisions,
  T0,
  taskExample,
} from '../test-support';

let app: TestApp;
let control: ControlModule;
let clock: FakeClock;
let store: DecisionsStore;

beforeAll(async () => {
  ({ app, control, clock } = await readRoutesApp());
  store = createDecisionsStore(app.db);
});

beforeEach(() => clearControlTables(app, clock));

const seed = (points: typeof taskExample) => seedDecisions(store, points);

async function get(url: string) {
  return app.http.inject({ method: 'GET', url });
}

describe('GET /decisions', () => {
  beforeEach(() => clock.set(at('13:00').getTime()));

  it('lists decisions newest first with every field of the explanation', async () => {
    await seed(taskExample);
    const rows = (await get('/decisions')).json<Record<string, unknown>[]>();
    expect(rows.map((r) => r.decided_at)).toEqual(
      ['12:20', '12:15', '12:10', '12:05', '12:00'].map((t) => at(t).toISOString()),
    );
    expect(rows[1]).toEqual({
      decided_at: at('12:15').toISOString(),
      made_at: '2030-01-01T12:15:00.003Z',
      lag_ms: 3,
      previous_window: {
        from_datetime: '2030-01-01T12:14:50.000Z',
        to_datetime: '2030-01-01T12:14:55.000Z',
        n: 0,
        mean: null,
        std: null,
      },
      current_window: {
        from_datetime: '2030-01-01T12:14:55.000Z',
        to_datetime: '2030-01-01T12:15:00.000Z',
        n: 0,
        mean: null,
        std: null,
      },
      t: null,
      df: null,
      p: null,
      previous_status: 'up',
      status: 'down',
      changed: true,
      reason: 'insufficient_data',
      detail: 'seeded',
      missed: 0,
      delivered: true,
      delivery: 'acknowledged',
      delivery_error: null,
      leader_id: 'seed',
      detector: 'ttest',
      cusum: null,
    });
  });

  it('filters strictly after/before, orders ascending on request, and limits', async () => {
    await seed(taskExample);
    const res = await get(
      '/decisions?after=2030-01-01T12:00:00Z&before=2030-01-01T12:20:00Z&order=asc&limit=2',
    );
    expect(res.json<{ decided_at: string }[]>().map((r) => r.decided_at)).toEqual([
      at('12:05').toISOString(),
      at('12:10').toISOString(),
    ]);
  });

  it.each([
    ['after=2030-01-01T12:10:00Z&before=2030-01-01T12:05:00Z', 'querystring.after:'],
    ['after=soon', 'querystring.after:'],
    ['before=0000-01-01', 'querystring.before:'],
    ['limit=0', 'querystring.limit:'],
    ['limit=10001', 'querystring.limit:'],
    ['order=sideways', 'querystring.order:'],
  ])('answers 400 for %s', async (query, field) => {
    expectProblem(await get(`/decisions?${query}`), 400, field);
  });

  it('stores an infinite t (both windows constant) and shows it as null', async () => {
    clock.set(T0 + 9000);
    const { db } = app;
    await db.query(
      `INSERT INTO control.readings (datetime, payload, received_at)
       SELECT to_timestamp(${T0 / 1000} + g * 0.5), CASE WHEN g < 10 THEN 5 ELSE 9 END, now()
       FROM generate_series(0, 19) g`,
    );
    clock.set(T0 + 10_000);
    const r = await control.controller.tick(clock.now());
    await r.delivery;
    expect(r.decision).toMatchObject({ reason: 'zero_variance_increase', status: 'up' });
    const [stored] = await store.listDecisions({ limit: 1, order: 'desc' });
    expect(stored!.t).toBe(Number.POSITIVE_INFINITY);
    expect((await get('/decisions')).json<{ t: unknown }[]>()[0]!.t).toBeNull();
  });
});

describe('GET /control/status', () => {
  it('reports down, no leader and no decision before the loop ran', async () => {
    const fresh = await controlApp({ clock: fakeClock(T0 + 2500), env: { MANIPULATOR_PORT: '1' } });
    const res = await fresh.app.http.inject({ method: 'GET', url: '/control/status' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      status: 'down',
      leader: { this_process: false, id: null },
      loop: { enabled: true, running: false },
      manipulator: { host: '127.0.0.1', port: 1, connected: false, ack: 'auto', replies: null },
      interval_seconds: 5,
      alpha: 0.05,
      min_dwell: 0,
      detector: { type: 'ttest', alpha: 0.05, min_dwell: 0 },
      retention_seconds: 600,
      next_decision_at: '2030-01-01T00:00:05.000Z',
      last_decision: null,
    });
  });

  it('reports this process as leader with the last decision after a tick', async () => {
    clock.set(T0 + 5000);
    await (await control.controller.tick(clock.now())).delivery;
    const body = (await get('/control/status')).json<Record<string, unknown>>();
    expect(body).toMatchObject({
      status: 'down',
      leader: { this_process: true, id: control.controller.leaderId },
      last_decision: { decided_at: '2030-01-01T00:00:05.000Z', delivered: false },
    });
  });
});

describe('GET /control/stream', () => {
  it('sends the latest decision, live window means, then each new decision', async () => {
    // Its own app: the stream remembers the newest decision it sent, and other tests move time back.
    const clock = fakeClock(T0 + 5000);
    const { app, control } = await controlApp({
      clock,
      env: { MANIPULATOR_PORT: '1' },
      module: { livePollMs: 50 },
    });
    await (await control.controller.tick(clock.now())).delivery;
    clock.set(T0 + 6000);
    await app.db.query(
      `INSERT INTO control.readings (datetime, payload, received_at) VALUES
       ($1, 10, now()), ($1, 20, now()), ($1, 30, now())`,
      [new Date(T0 + 5500).toISOString()],
    );
    const base = await app.http.listen({ port: 0, host: '127.0.0.1' });
    const abort = new AbortController();
    const res = await fetch(`${base}/control/stream`, { signal: abort.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events: { event: string; data: Record<string, unknown> }[] = [];
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const next = async (event: string) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const found = events.findIndex((e) => e.event === event);
        if (found >= 0) return events.splice(found, 1)[0]!.data;
        const timeout = new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`no ${event} event in time`)),
            Math.max(0, deadline - Date.now()),
          ),
        );
        const { value, done } = await Promise.race([reader.read(), timeout]);
        if (done) throw new Error('stream ended');
        buffer += value;
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop()!;
        for (const block of blocks) {
          const e = /^event: (.+)$/m.exec(block)?.[1];
          const d = /^data: (.+)$/m.exec(block)?.[1];
          if (e && d) events.push({ event: e, data: JSON.parse(d) });
        }
      }
    };
    try {
      expect(await next('decision')).toMatchObject({ decided_at: '2030-01-01T00:00:05.000Z' });
      expect(await next('live')).toMatchObject({
        at: '2030-01-01T00:00:06.000Z',
        current_window: { from_datetime: '2030-01-01T00:00:05.000Z', n: 3, mean: 20, std: 10 },
        previous_window: { n: 0, mean: null },
      });
      clock.set(T0 + 10_000);
      const tick = await control.controller.tick(clock.now());
      expect(await next('decision')).toMatchObject({
        decided_at: '2030-01-01T00:00:10.000Z',
        delivered: null,
      });
      await tick.delivery;
      expect(await next('delivery')).toMatchObject({
        decided_at: '2030-01-01T00:00:10.000Z',
        delivered: false,
      });
    } finally {
      abort.abort();
      await reader.cancel().catch(() => {});
    }
  });
});

describe('OpenAPI', () => {
  it('documents every control route with operationId, tag and summary', async () => {
    const doc = (await get('/openapi.json')).json<{
      paths: Record<string, Record<string, { operationId?: string; tags?: string[]; summary?: string }>>;
    }>();
    const routes = ['/sensor-data', '/decisions', '/history', '/control/status', '/control/stream'];
    for (const path of routes) {
      for (const op of Object.values(doc.paths[path] ?? {})) {
        expect(op.operationId, path).toMatch(/^control/);
        expect(op.tags, path).toEqual(['control']);
        expect(op.summary, path).toBeTruthy();
      }
      expect(doc.paths[path], path).toBeDefined();
    }
  });
});
