import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../../test/helpers';
import { createDecisionsStore } from '../decisions.store';
import { createReadingsStore } from '../readings.store';
import { createReplayService } from '../replay.service';
import { controlApp, type FakeClock, fakeClock, payloads, postReading, T0 } from '../test-support';

const I = 5000;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const iso = (ms: number) => new Date(ms).toISOString();

async function fillWindow(app: TestApp, clock: FakeClock, startMs: number, values: number[]) {
  clock.set(startMs + 1);
  const responses = await Promise.all(
    values.map((v, i) => postReading(app, iso(startMs + Math.floor((i * I) / values.length)), v)),
  );
  for (const res of responses) expect(res.json()).toEqual({ accepted: true });
}

async function replay(app: TestApp, body: Record<string, unknown>) {
  return app.http.inject({ method: 'POST', url: '/control/replay', payload: body });
}

/** Window means: a step up at window 3, down at 7, with noise (20 readings of ±5 each). */
const MEANS = [100, 100, 100, 108, 108, 108, 108, 99, 99, 99, 99, 99];

/** The live loop (t-test, min_dwell 1) decides at every t_k over MEANS; the clock ends at the last one. */
async function liveRun(env: Record<string, string> = {}) {
  const clock = fakeClock();
  const { app, control } = await controlApp({
    clock,
    env: { MANIPULATOR_PORT: '1', CONTROL_MIN_DWELL: '1', ...env },
  });
  cleanups.push(() => app.close());
  for (let k = 0; k < MEANS.length; k++) {
    await fillWindow(app, clock, T0 + k * I, payloads(100 + k, 20, MEANS[k]!, 5));
    if (k >= 1) {
      clock.set(T0 + (k + 1) * I);
      const r = await control.controller.tick(clock.now());
      expect(r.outcome).toBe('decided');
      await r.delivery;
    }
  }
  return { app, clock, control };
}

describe('POST /control/replay', () => {
  it('replays the live t-test and reproduces exactly the decisions the live loop made', async () => {
    const { app } = await liveRun();
    const live = (await app.http.inject({ method: 'GET', url: '/decisions?order=asc&limit=100' })).json<
      Record<string, unknown>[]
    >();
    expect(live).toHaveLength(MEANS.length - 1);
    const res = await replay(app, { from: iso(T0 + 2 * I), to: iso(T0 + MEANS.length * I) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.detector).toEqual({ type: 'ttest', alpha: 0.05, min_dwell: 1 });
    expect(body.start_status).toBe('down');
    const same = live.slice(0); // decisions at T0+2I .. T0+12I
    expect(body.decisions).toHaveLength(same.length);
    body.decisions.forEach((d: Record<string, unknown>, i: number) => {
      const l = same[i]!;
      for (const f of [
        'decided_at',
        'previous_status',
        'status',
        'changed',
        'reason',
        'detail',
        'detector',
      ]) {
        expect(d[f], `${f} at ${l.decided_at}`).toEqual(l[f]);
      }
      expect(d.previous_window).toEqual(l.previous_window);
      expect(d.current_window).toEqual(l.current_window);
      expect(d.t).toBeCloseTo(l.t as number, 9);
      expect(d.p).toBeCloseTo(l.p as number, 12);
      expect(d).toMatchObject({ delivered: null, delivery: 'not_sent', leader_id: 'replay', missed: 0 });
    });
    // The step up and the step down switch; min_dwell holds nothing here.
    expect(body.summary.switches).toBe(live.filter((d) => d.changed).length);
    expect(body.summary.switches).toBe(2);
    expect(body.summary).toEqual({ ...body.live, unknown_seconds: body.summary.unknown_seconds });
    expect(body.summary.up_seconds + body.summary.down_seconds).toBe(50);
    expect(body.summary.timeline).toEqual(
      (
        await app.http.inject({
          method: 'GET',
          url: `/history?after=${iso(T0 + 2 * I)}&before=${iso(T0 + 12 * I)}`,
        })
      ).json(),
    );
  });

  it('a period before the first reading is unknown, not the initial status (no live decision before it)', async () => {
    const clock = fakeClock();
    const { app } = await controlApp({ clock, env: { MANIPULATOR_PORT: '1' } });
    cleanups.push(() => app.close());
    // Readings only in windows 4..7; no live decision at all.
    for (let k = 4; k < 8; k++) await fillWindow(app, clock, T0 + k * I, payloads(k, 20, 100, 5));
    clock.set(T0 + 8 * I + 1);
    const res = await replay(app, { from: iso(T0 + 2 * I), to: iso(T0 + 8 * I) });
    expect(res.statusCode, res.body).toBe(200);
    const { summary, decisions } = res.json();
    expect(decisions).toHaveLength(7); // T0+2I .. T0+8I
    // Decisions at 2I-4I read empty windows; the first with a reading is at 5I (its current window is 4I-5I).
    expect(summary.unknown_seconds).toBe(15);
    expect(summary.up_seconds + summary.down_seconds).toBe(15);
    expect(summary.timeline[0]).toMatchObject({ from_datetime: iso(T0 + 5 * I) });
  });

  it('replays a CUSUM on the same windows, says why for each decision, and counts false switches', async () => {
    const { app } = await liveRun();
    const res = await replay(app, {
      from: iso(T0 + 2 * I),
      to: iso(T0 + 12 * I),
      detector: 'cusum',
      arl: 200,
      k: 0.5,
      stationary: { from: iso(T0), to: iso(T0 + 3 * I) },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.detector).toMatchObject({ type: 'cusum', arl: 200, k: 0.5 });
    expect(body.decisions.every((d: { detector: string }) => d.detector === 'cusum')).toBe(true);
    expect(body.decisions[0]).toMatchObject({ reason: 'cusum_below_threshold', t: null, p: null });
    const up = body.decisions.find((d: { changed: boolean }) => d.changed);
    expect(up).toMatchObject({ decided_at: iso(T0 + 4 * I), status: 'up', reason: 'cusum_increase' });
    expect(up.cusum.s_up).toBeGreaterThan(up.cusum.threshold);
    // Stationary [T0, T0+3I]: the decisions at 2I and 3I have both windows inside; neither switched.
    expect(body.summary.stationary).toEqual({
      from: iso(T0),
      to: iso(T0 + 3 * I),
      decisions: 2,
      switches: 0,
      false_switch_rate: 0,
    });
  });

  it('reads the windows in pages and gives the same decisions as the live loop', async () => {
    const { app, clock } = await liveRun();
    const store = { ...createReadingsStore(app.db), ...createDecisionsStore(app.db) };
    const pages: [number, number][] = [];
    const service = createReplayService({
      store: {
        ...store,
        slotStats: (from, to, interval) => {
          pages.push([from, to]);
          return store.slotStats(from, to, interval);
        },
      },
      clock,
      intervalMs: I,
      retentionMs: 600_000,
      maxDecisions: 10_000,
    });
    const r = await service.replay({
      from: new Date(T0 + 2 * I),
      to: new Date(T0 + 12 * I),
      detector: { type: 'ttest', alpha: 0.05, minDwell: 1 },
    });
    expect(r.decisions.map((d) => d.status)).toEqual(
      [...(await store.listDecisions({ limit: 100, order: 'asc' }))].map((d) => d.status),
    );
    // A first page of 2 windows, then pages sized to ~20 000 readings: contiguous, non-overlapping.
    expect(pages[0]).toEqual([T0 / I, T0 / I + 2]);
    expect(pages.length).toBeGreaterThan(1);
    for (let i = 1; i < pages.length; i++) expect(pages[i]![0]).toBe(pages[i - 1]![1]);
    expect(pages.at(-1)![1]).toBe(T0 / I + 12);
  });

  describe('refuses a bad request', () => {
    // The refusals write nothing: one app (empty database, clock at the last decision time) serves them all.
    let app: TestApp;
    beforeAll(async () => {
      ({ app } = await controlApp({ clock: fakeClock(T0 + 12 * I), env: { MANIPULATOR_PORT: '1' } }));
    });
    afterAll(() => app.close());

    it.each([
      [{ detector: 'bogus' }, 400, /body\.detector.*ttest.*cusum|body\.detector/],
      [{ alpha: 1.5 }, 400, /body\.alpha/],
      [{ detector: 'cusum', arl: 5 }, 400, /body\.arl/],
      [{ detector: 'cusum', k: 0 }, 400, /body\.k/],
      [{ min_dwell: -1 }, 400, /body\.min_dwell/],
      [{ arl: 500 }, 422, /body\.arl: applies to detector cusum only/],
      [{ detector: 'cusum', alpha: 0.01 }, 422, /body\.alpha: applies to detector ttest only/],
      [{ from: 'yesterday' }, 400, /body\.from: must be an ISO 8601 date-time/],
      [{ from: iso(T0 - 3600_000) }, 422, /body\.from: readings are kept for 600 s/],
      [{ to: iso(T0) }, 422, /body\.to: must be later than body\.from/],
      [{ stationary: { from: iso(T0 - 60_000), to: iso(T0 + I) } }, 422, /body\.stationary\.from/],
      [{ stationary: { from: iso(T0 + 2 * I), to: iso(T0 + 3 * I) } }, 422, /body\.stationary: no decision/],
      [{ extra: 1 }, 400, /body.*extra/],
    ])('refuses %j with %i naming the field', async (patch, status, detail) => {
      const res = await replay(app, { from: iso(T0 + 2 * I), to: iso(T0 + 12 * I), ...patch });
      expect(res.statusCode, res.body).toBe(status);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().detail).toMatch(detail);
    });
  });

  it('refuses a period longer than the cap, naming `to`', async () => {
    const clock = fakeClock(T0 + 3 * 3600_000);
    const { app } = await controlApp({
      clock,
      env: { MANIPULATOR_PORT: '1', CONTROL_DECISION_INTERVAL: '0.1', CONTROL_RETENTION: '7200' },
    });
    cleanups.push(() => app.close());
    const res = await replay(app, { from: iso(T0 + 2 * 3600_000), to: iso(T0 + 3 * 3600_000) });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().detail).toMatch(/^body\.to: the period holds 36001 decision times; at most 10000/);
  });
});
