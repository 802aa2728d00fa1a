/**
 * Capacity experiments through the HTTP API: bad input, a search run by the background worker against
 * a target of known capacity, and stop / pause / resume.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openTestDb } from '../../../test/helpers';
import type { CapacityRecordJson as CapacityRecord } from './capacity.record';
import { startCapacityTarget } from './capacity-target';
import {
  appWithTarget,
  call,
  createExperiment,
  inState,
  latencyApp,
  manageOk,
  result,
  startExperiment,
  waitFor,
} from './test-support';

// 2 requests at a time × 10 ms = 200 req/s; the rest queue.
const { target, app } = await appWithTarget(startCapacityTarget({ concurrency: 2, serviceMs: 10 }), {
  env: { LATENCY_MAX_RATE: '1000', LATENCY_MAX_DURATION_SECONDS: '600' },
});

const capacityBody = (extra: Record<string, unknown> = {}) => ({
  name: 'capacity',
  host: '127.0.0.1',
  port: Number(new URL(target.url).port),
  path: '/',
  model: 'capacity',
  slo: { p50_ms: 50, error_rate: 1 },
  ...extra,
});

async function problem(body: unknown, status = 400) {
  const res = await call(app, 'POST', '/create_experiment', body);
  expect(res.statusCode, res.body).toBe(status);
  return res.json<{ detail: string; code: string }>();
}

const record = async (id: string) => (await result(app, id, '&limit=0')).capacity as CapacityRecord;

describe('capacity experiments: bad input', () => {
  it('a capacity experiment without an SLO is a 400 naming slo', async () => {
    const { slo: _, ...body } = capacityBody();
    expect((await problem(body)).detail).toMatch(/^body\.slo: a capacity experiment needs an SLO/);
    expect((await problem({ ...body, slo: null })).detail).toMatch(/^body\.slo:/);
  });

  it('an SLO on an unknown metric is a 400 naming it and listing the metrics', async () => {
    const p = await problem(capacityBody({ slo: { p95_ms: 100 } }));
    expect(p.detail).toMatch(/^body\.slo\.p95_ms: unknown SLO metric; use one of p50_ms, .*error_rate/);
    expect((await problem(capacityBody({ slo: {} }))).detail).toMatch(/^body\.slo: give at least one/);
    expect((await problem(capacityBody({ slo: { error_rate: 101 } }))).detail).toMatch(
      /body\.slo\.error_rate/,
    );
  });

  it('runs as one segment: segments > 1 is a 400 that says so', async () => {
    const p = await problem(capacityBody({ segments: 2 }));
    expect(p.detail).toMatch(/^body\.segments: a capacity experiment runs as one segment/);
  });

  it('profiles and thresholds belong to load tests, slo and search to capacity experiments', async () => {
    const profiles = [{ users: 1, duration_seconds: 1, interval_seconds: 1 }];
    expect((await problem(capacityBody({ load_profiles: profiles }))).detail).toMatch(
      /^body\.load_profiles:/,
    );
    expect((await problem(capacityBody({ thresholds: { p99_ms: 5 } }))).detail).toMatch(/^body\.thresholds:/);
    const closed = { ...capacityBody(), model: 'closed', load_profiles: profiles };
    expect((await problem(closed)).detail).toMatch(/^body\.slo: only with model "capacity"/);
    const { slo: _, ...noSlo } = closed;
    expect((await problem({ ...noSlo, search: { max_rps: 5 } })).detail).toMatch(/^body\.search:/);
    const { load_profiles: __, ...noProfiles } = noSlo;
    expect((await problem(noProfiles)).detail).toMatch(/^body\.load_profiles: required/);
  });

  it('the search is checked and capped (max_rps by LATENCY_MAX_RATE, its length by the duration cap)', async () => {
    expect((await problem(capacityBody({ search: { start_rps: 0 } }))).detail).toMatch(/start_rps/);
    const low = await problem(capacityBody({ search: { start_rps: 50, max_rps: 10 } }));
    expect(low.detail).toMatch(/^body\.search\.max_rps: must be >= start_rps/);
    const fast = await problem(capacityBody({ search: { max_rps: 5000 } }), 422);
    expect(fast).toMatchObject({ code: 'LATENCY_CAP_EXCEEDED' });
    expect(fast.detail).toMatch(/search\.max_rps: .*LATENCY_MAX_RATE/);
    const long = await problem(capacityBody({ search: { max_steps: 100, window_seconds: 10 } }), 422);
    expect(long.detail).toMatch(/search\.max_steps: .*LATENCY_MAX_DURATION_SECONDS/);
  });

  it('stores the defaults it will search with', async () => {
    const id = await createExperiment(app, capacityBody());
    const r = await result(app, id);
    expect(r.settings).toMatchObject({
      model: 'capacity',
      load_profiles: [],
      segments: 1,
      slo: { p50_ms: 50, error_rate: 1 },
      search: { start_rps: 10, max_rps: 1000, window_seconds: 10, warmup_seconds: 2, attempts: 2 },
    });
    expect(r).toMatchObject({ state: 'created', capacity: null, current_profile_index: 0 });
  });
});

describe('capacity experiments: runs', () => {
  it('the worker searches, stores every step and the capacity; result and stats show them', async () => {
    const served = target.served;
    const id = await startExperiment(
      app,
      capacityBody({
        // Two attempts per rate (the default): one stall of a busy machine does not fail a rate.
        search: { start_rps: 40, window_seconds: 1, warmup_seconds: 0.5, precision: 0.3 },
      }),
    );
    const r = await waitFor(app, id, (x) => x.finished_at !== null, 60_000);
    expect(r.state).toBe('completed');
    const c = r.capacity as CapacityRecord;
    const trace = JSON.stringify(c.steps.map((s) => [s.rate_rps, s.held, s.latency.p50]));
    expect(c.limited_by, trace).toBe('slo');
    expect(c.current).toBeNull();
    // The ramp doubles from 40 while rates hold; the answer is the highest rate that held.
    const ramp = [...new Set(c.steps.filter((s) => s.phase === 'ramp').map((s) => s.rate_rps))];
    expect(ramp, trace).toEqual([40, 80, 160, 320, 640].slice(0, ramp.length));
    expect(c.steps.map((s) => s.index)).toEqual(c.steps.map((_, i) => i));
    // Each step carries when it was judged, in order.
    const times = c.steps.map((s) => Date.parse(s.at!));
    expect(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= times[i - 1]!))).toBe(true);
    const held = c.steps.filter((s) => s.held).map((s) => s.rate_rps);
    // A rate failed once both its attempts failed; failed_rps is the lowest such rate.
    const failed = c.steps.filter((s) => !s.held && s.attempt === 2).map((s) => s.rate_rps);
    expect(c.capacity_rps).toBe(Math.max(...held));
    expect(c.failed_rps).toBe(Math.min(...failed));
    // The true capacity is 200 req/s: above it the queue grows, so nothing much above it holds; below
    // it the median is one service time, however busy the machine (within a factor of 2 here).
    expect(c.capacity_rps!, trace).toBeLessThanOrEqual(220);
    expect(c.capacity_rps!, trace).toBeGreaterThanOrEqual(100);
    for (const s of c.steps.filter((x) => x.held)) {
      expect(Math.abs(s.requests - s.rate_rps)).toBeLessThanOrEqual(1);
      expect(s.checks.map((k) => [k.name, k.passed])).toEqual([
        ['p50_ms', true],
        ['error_rate', true],
      ]);
    }
    expect(target.served - served).toBeGreaterThanOrEqual(40 + 80);
    const stats = (await call(app, 'GET', `/experiment_stats?experiment_id=${id}`)).json();
    expect(stats.capacity).toEqual(c);
  }, 90_000);

  it('stop ends the search at once with what it found; pause and resume keep the stored steps', async () => {
    const id = await startExperiment(
      app,
      capacityBody({
        slo: { p50_ms: 1000 },
        search: { start_rps: 20, max_rps: 1000, window_seconds: 0.5, warmup_seconds: 0, max_steps: 60 },
      }),
    );
    await waitFor(app, id, (x) => ((x.capacity as CapacityRecord | null)?.steps.length ?? 0) >= 1, 20_000);
    await manageOk(app, id, 'pause');
    await waitFor(app, id, inState('paused'));
    await sleep(300);
    const paused = await record(id);
    await sleep(800);
    // Paused: no step is judged meanwhile (the one under way was dropped and will run again).
    expect((await record(id)).steps).toEqual(paused.steps);
    await manageOk(app, id, 'start');
    await waitFor(app, id, (x) => (x.capacity as CapacityRecord).steps.length > paused.steps.length, 20_000);
    const before = await record(id);
    expect(before.steps.slice(0, paused.steps.length)).toEqual(paused.steps);
    // The search went on from the stored steps: the ramp kept doubling.
    expect(before.steps.map((s) => s.rate_rps).slice(0, 3)).toEqual(
      [20, 40, 80].slice(0, before.steps.length),
    );

    await manageOk(app, id, 'stop');
    const r = await waitFor(app, id, (x) => x.finished_at !== null, 10_000);
    expect(r.state).toBe('stopped');
    const c = r.capacity as CapacityRecord;
    expect(c.limited_by).toBe('interrupted');
    expect(c.current).toBeNull();
    expect(c.capacity_rps).toBe(Math.max(...c.steps.filter((s) => s.held).map((s) => s.rate_rps)));
    // Stopped for good: nothing runs any more.
    await sleep(700);
    expect((await record(id)).steps).toHaveLength(c.steps.length);
  }, 60_000);

  it('a search interrupted by a shutdown continues from its stored steps in the next process', async () => {
    const db = await openTestDb();
    try {
      const env = { LATENCY_MAX_RATE: '1000' };
      const first = await latencyApp({ db, env });
      const body = capacityBody({
        slo: { p50_ms: 1000 },
        search: { start_rps: 10, max_rps: 80, window_seconds: 0.5, warmup_seconds: 0 },
      });
      const id = await startExperiment(first, body);
      await waitFor(
        first,
        id,
        (x) => ((x.capacity as CapacityRecord | null)?.steps.length ?? 0) >= 2,
        20_000,
      );
      await first.close();
      const reader = await latencyApp({ db, env, role: 'api' });
      const stored = (await result(reader, id)).capacity as CapacityRecord;
      await reader.close();
      expect(stored.limited_by).toBeNull();
      expect(stored.steps.length).toBeGreaterThanOrEqual(2);

      const second = await latencyApp({ db, env });
      const r = await waitFor(second, id, (x) => x.finished_at !== null, 30_000);
      const full = await result(second, id);
      await second.close();
      const c = r.capacity as CapacityRecord;
      expect(full.segments).toMatchObject([{ run_attempts: 2 }]);
      expect(r.state).toBe('completed');
      // Every rate up to max_rps held (far below the target's 200 req/s, under a generous SLO); the
      // search went on from the stored steps instead of starting again from 10 req/s.
      expect(c.steps.slice(0, stored.steps.length)).toEqual(stored.steps);
      expect([...new Set(c.steps.map((s) => s.rate_rps))]).toEqual([10, 20, 40, 80]);
      expect(c.steps.filter((s) => s.rate_rps === 10)).toHaveLength(stored.steps[0]!.held ? 1 : 2);
      expect(c).toMatchObject({ capacity_rps: 80, failed_rps: null, limited_by: 'max_rps' });
    } finally {
      await db.close();
    }
  }, 60_000);
});
