/**
 * Segments: the arithmetic that divides a profile's load (their merged numbers: series-merge.test.ts),
 * and whole experiments of several segments in one process (PGlite has one; several processes are in
 * test/reliability/segments-takeover.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb } from '../../../test/helpers';
import type { TelelabApp } from '../../app';
import { type LatencyTarget, startLatencyTarget } from './engine/target';
import { createExperimentsStore } from './experiments.store';
import { createRunsStore } from './runs.store';
import { segmentProfiles, splitEvenly } from './segments';
import { settingsFromSpec } from './settings';
import { emptySummary } from './summary';
import {
  appWithTarget,
  call,
  experimentBody,
  inState,
  latencyApp,
  manage,
  manageOk,
  result,
  startExperiment,
  waitFor,
} from './test-support';

describe('segment arithmetic', () => {
  it.each([
    [10, 3, [4, 3, 3]],
    [9, 3, [3, 3, 3]],
    [1, 2, [1, 0]],
    [0, 4, [0, 0, 0, 0]],
    [1000, 64, [...Array(40).fill(16), ...Array(24).fill(15)]],
  ])('%i users in %i segments are %j', (users, n, expected) => {
    expect(splitEvenly(users, n)).toEqual(expected);
    expect(splitEvenly(users, n).reduce((a, b) => a + b, 0)).toBe(users);
  });

  it('divides users per profile (closed) and keeps every duration, so stages align', () => {
    const profiles = [
      { users: 10, duration_seconds: 5, interval_seconds: 1 },
      { users: 2, duration_seconds: 3, interval_seconds: 0 },
    ];
    const parts = [0, 1, 2].map((i) => segmentProfiles(profiles, 'closed', 3, i));
    expect(parts.map((p) => p.map((x) => x.users))).toEqual([
      [4, 1],
      [3, 1],
      [3, 0],
    ]);
    for (const p of parts) expect(p.map((x) => x.duration_seconds)).toEqual([5, 3]);
  });

  it('divides an arrival rate exactly: the segments’ rates add up to the profile’s', () => {
    const profiles = [{ users: 7, duration_seconds: 2, interval_seconds: 0.1 }];
    const parts = [0, 1, 2].map((i) => segmentProfiles(profiles, 'arrival-rate', 3, i)[0]!);
    const rate = parts.reduce((sum, p) => sum + p.users / p.interval_seconds, 0);
    expect(rate).toBeCloseTo(70, 9);
    expect(segmentProfiles(profiles, 'arrival-rate', 1, 0)).toBe(profiles);
  });
});

describe('claiming segments', () => {
  it('a process running a segment leaves the next one to a live worker that runs none', async () => {
    const db = await openTestDb();
    try {
      const runs = createRunsStore(db);
      const settings = settingsFromSpec(
        { ...experimentBody(1, [{ users: 2, duration_seconds: 5, interval_seconds: 1 }]), segments: 2 },
        { maxUsers: 100, maxRate: 100, maxDurationSeconds: 100 },
      );
      const id = randomUUID();
      await createExperimentsStore(db).insert({ id, name: 's', settings, summary: emptySummary() });
      await db.query(`UPDATE latency.experiments SET state = 'running' WHERE id = $1`, [id]);
      await runs.heartbeat('A');
      await runs.heartbeat('B');
      expect(await runs.claim(id, 0, 'A', 60_000, 5000)).not.toBeNull();
      expect(await runs.claim(id, 1, 'A', 60_000, 5000)).toBeNull();
      expect(await runs.claim(id, 1, 'B', 60_000, 5000)).not.toBeNull();
      // B is gone (no heartbeat within the window) and its lease lapsed: A may take its segment.
      await db.query(`UPDATE latency.workers SET seen_at = now() - interval '1 minute' WHERE owner = 'B'`);
      await db.query(
        `UPDATE latency.segments SET lease_expires_at = now() - interval '1 second'
          WHERE experiment_id = $1 AND idx = 1`,
        [id],
      );
      await runs.heartbeat('C');
      // ...unless another live worker runs none of the experiment (C).
      expect(await runs.claim(id, 1, 'A', 60_000, 5000)).toBeNull();
      await runs.heartbeat('C', true);
      expect(await runs.claim(id, 1, 'A', 60_000, 5000)).not.toBeNull();
    } finally {
      await db.close();
    }
  });
});

describe('an experiment of several segments in one process', () => {
  let target: LatencyTarget;
  let app: TelelabApp;
  beforeAll(async () => {
    ({ target, app } = await appWithTarget(startLatencyTarget({ port: 0, delayMs: 5 }), {
      env: { LATENCY_MAX_USERS: '10', LATENCY_MAX_RATE: '100' },
      // One process claims every segment as soon as it starts them: no need to wait 3 s for others.
      segmentsStartDelayMs: 500,
    }));
  });

  it('runs every segment, divides users 4/3/3, and records each request once', async () => {
    const before = target.served;
    // Each user sends one request when the profile starts (the interval outlasts the profile).
    const id = await startExperiment(
      app,
      experimentBody(target.port, [{ users: 10, duration_seconds: 1, interval_seconds: 30 }], {
        segments: 3,
      }),
    );
    const r = await waitFor(app, id, inState('completed'), 20_000);
    const full = await result(app, id);
    const segments = full.segments as { index: number; state: string; requests: number; worker: string }[];
    expect(segments.map((s) => [s.index, s.state, s.requests])).toEqual([
      [0, 'done', 4],
      [1, 'done', 3],
      [2, 'done', 3],
    ]);
    // One process: all segments ran in it.
    expect(new Set(segments.map((s) => s.worker)).size).toBe(1);
    expect(r.summary.requests).toBe(10);
    expect(target.served - before).toBe(10);
    expect(full.series.reduce((n, p) => n + p.requests, 0)).toBe(10);
    expect(r.summary.active_ms).toBe(1000);
  });

  it('divides an arrival rate and merges the latencies of all segments', async () => {
    const before = target.served;
    // 100 requests/s for 1 s in 2 segments: 50 each, on a fixed schedule.
    const id = await startExperiment(
      app,
      experimentBody(target.port, [{ users: 1, duration_seconds: 1, interval_seconds: 0.01 }], {
        model: 'arrival-rate',
        segments: 2,
      }),
    );
    const r = await waitFor(app, id, inState('completed'), 20_000);
    const full = await result(app, id);
    const segments = full.segments as { requests: number }[];
    expect(segments.map((s) => s.requests)).toEqual([50, 50]);
    expect(r.summary.requests).toBe(100);
    expect(r.summary.latency.count).toBe(100);
    expect(target.served - before).toBe(100);
    const stats = (await call(app, 'GET', `/experiment_stats?experiment_id=${id}`)).json();
    expect(stats.total_requests).toBe(100);
    expect(stats.segments.map((s: { requests: number }) => s.requests)).toEqual([50, 50]);
  });

  it('a group member accepts segments and runs them all', async () => {
    const before = target.served;
    const member = experimentBody(target.port, [{ users: 3, duration_seconds: 1, interval_seconds: 30 }], {
      segments: 2,
    });
    const created = await call(app, 'POST', '/create_experiment_group', { name: 'g', experiments: [member] });
    expect(created.statusCode).toBe(201);
    const groupId = created.json().group_id;
    expect((await call(app, 'POST', `/manage_group?state=start&group_id=${groupId}`)).statusCode).toBe(200);
    const stats = (await call(app, 'GET', `/group_stats?group_id=${groupId}`)).json();
    const [id] = Object.keys(stats.experiments_stats);
    await waitFor(app, id!, inState('completed'), 20_000);
    const full = await result(app, id!);
    expect((full.segments as { requests: number }[]).map((s) => s.requests)).toEqual([2, 1]);
    expect(full.summary.requests).toBe(3);
    expect(target.served - before).toBe(3);
  });

  it('pause and stop act on every segment', async () => {
    const before = target.served;
    const id = await startExperiment(
      app,
      experimentBody(target.port, [{ users: 4, duration_seconds: 30, interval_seconds: 0.05 }], {
        segments: 2,
      }),
    );
    await waitFor(app, id, (x) => x.summary.requests > 20, 20_000);
    await manageOk(app, id, 'pause');
    await new Promise((resolve) => setTimeout(resolve, 400));
    const served = target.served;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(target.served).toBe(served);
    await manageOk(app, id, 'start');
    await waitFor(app, id, (x) => x.summary.requests > served - before + 10, 20_000);
    await manageOk(app, id, 'stop');
    const r = await waitFor(app, id, (x) => x.finished_at !== null, 20_000);
    expect(r.state).toBe('stopped');
    const full = await result(app, id);
    expect((full.segments as { state: string }[]).map((s) => s.state)).toEqual(['pending', 'pending']);
    expect(target.served - before).toBe(r.summary.requests);
  });

  it('an aborting threshold fails the experiment and stops every segment within 2 s', async () => {
    const slow = await startLatencyTarget({ port: 0, delayMs: 20 });
    try {
      const id = await startExperiment(
        app,
        experimentBody(slow.port, [{ users: 4, duration_seconds: 30, interval_seconds: 0.01 }], {
          segments: 2,
          thresholds: { p99_ms: 5, abort: true },
        }),
      );
      await waitFor(app, id, inState('failed'), 20_000);
      const failedSeenAt = Date.now();
      const r = await waitFor(app, id, (x) => x.finished_at !== null, 5000);
      expect(Date.now() - failedSeenAt).toBeLessThan(2000);
      const served = slow.served;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(slow.served).toBe(served);
      expect(r.state).toBe('failed');
      expect(r.verdict).toMatch(/^threshold p99_ms failed: measured \d+(\.\d+)?, limit 5$/);
      expect(Number((r.verdict as string).match(/measured ([\d.]+)/)![1])).toBeGreaterThan(5);
      expect(r.passed).toBe(false);
      expect(served).toBe(r.summary.requests);
      // Both segments had run and were stopped, not completed.
      const full = await result(app, id);
      expect((full.segments as { state: string; requests: number }[]).map((s) => s.state)).toEqual([
        'pending',
        'pending',
      ]);
      expect(await manage(app, id, 'start').then((x) => x.statusCode)).toBe(409);
    } finally {
      await slow.close();
    }
  });

  it('holds off an abort until the failure has lasted abort_after_seconds', async () => {
    const slow = await startLatencyTarget({ port: 0, delayMs: 20 });
    try {
      const id = await startExperiment(
        app,
        experimentBody(slow.port, [{ users: 2, duration_seconds: 30, interval_seconds: 0.05 }], {
          thresholds: { p99_ms: 5, abort: true, abort_after_seconds: 2.5 },
        }),
      );
      await waitFor(app, id, (x) => x.series.length > 0, 20_000);
      const firstSecondAt = Date.now();
      await waitFor(app, id, inState('failed'), 20_000);
      // Failed since the first recorded second; it must have held 2.5 s (the next second after that).
      expect(Date.now() - firstSecondAt).toBeGreaterThanOrEqual(2000);
    } finally {
      await slow.close();
    }
  });
});

describe('aborting thresholds: bad input', () => {
  let app: TelelabApp;
  beforeAll(async () => {
    app = await latencyApp({ role: 'api' });
  });
  afterAll(() => app.close());

  it.each([
    [{ abort: true }, 'body.thresholds.abort'],
    [{ abort_after_seconds: 3 }, 'body.thresholds.abort_after_seconds'],
  ])('%j without a limit is a 400 naming the field', async (thresholds, field) => {
    const res = await call(app, 'POST', '/create_experiment', {
      ...experimentBody(1, [{ users: 1, duration_seconds: 1, interval_seconds: 1 }]),
      thresholds,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail.startsWith(`${field}: needs at least one limit`)).toBe(true);
  });
});
