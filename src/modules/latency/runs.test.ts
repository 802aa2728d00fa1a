/**
 * Experiment runs through the job system, against a real target on a loopback port: timing, live
 * control over HTTP, thresholds, raw results, the stream.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { measureOnce } from './engine';
import { startLatencyTarget } from './engine/target';
import {
  appWithTarget,
  call,
  createExperiment,
  experimentBody,
  inState,
  manage,
  manageOk,
  result,
  startExperiment,
  waitFor,
} from './test-support';

const { target, app } = await appWithTarget(startLatencyTarget({ port: 0, delayMs: 10 }), {
  env: { LATENCY_RAW_RESULTS_CAP: '50' },
});

/** The fastest of a few single requests: the target's delay plus the round trip. */
async function measuredDelayMs(): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++)
    best = Math.min(best, (await measureOnce({ url: target.latencyUrl })).latency_ms ?? best);
  return best;
}

describe('an experiment run', () => {
  it('a 2 s profile with 5 users and a 0.1 s interval issues the expected number of requests', async () => {
    const d = await measuredDelayMs();
    const before = target.served;
    const id = await startExperiment(
      app,
      experimentBody(target.port, [{ users: 5, duration_seconds: 2, interval_seconds: 0.1 }]),
    );
    const r = await waitFor(app, id, inState('completed'));

    // Each user loops: request (d ms), then 100 ms of sleep, while t < 2000 ms: at most
    // 5 * ceil(2000 / (100 + d)) requests. Late timers on a loaded machine only lower the count
    // (measured here at load 14 on 2 cores: the bare engine does 75-90 of 95), hence the wide floor.
    const most = 5 * Math.ceil(2000 / (100 + d));
    const least = Math.floor(most * 0.6);
    expect(r.summary.requests).toBeLessThanOrEqual(most);
    expect(r.summary.requests).toBeGreaterThanOrEqual(least);
    expect(r.summary.successes).toBe(r.summary.requests);
    expect(r.summary.success_rate).toBe(100);
    expect(target.served - before).toBe(r.summary.requests);
    expect(r.summary.active_ms).toBe(2000);
    // The series adds up to the summary, second by second.
    expect(r.series.reduce((n, s) => n + s.requests, 0)).toBe(r.summary.requests);
    expect(r.series.map((s) => s.second)).toEqual(r.series.map((_, i) => i));
    expect(r.current_profile_index).toBe(0);
  });

  it('profiles run in order and current_profile_index follows them', async () => {
    const id = await startExperiment(
      app,
      experimentBody(target.port, [
        { users: 2, duration_seconds: 1, interval_seconds: 0.05 },
        { users: 1, duration_seconds: 1, interval_seconds: 0.05 },
      ]),
    );
    const mid = await waitFor(app, id, (r) => r.current_profile_index === 1 && r.state === 'running');
    expect(mid.series.length).toBeGreaterThan(0);
    const r = await waitFor(app, id, inState('completed'));
    expect(r.summary.active_ms).toBe(2000);
    const profiles = new Set(r.series.map((s) => s.profile_index));
    expect(profiles.has(0) && profiles.has(1)).toBe(true);
  });

  it('pause stops requests, resume runs the remaining time, and the codes follow the state machine', async () => {
    const id = await createExperiment(
      app,
      experimentBody(target.port, [{ users: 3, duration_seconds: 2, interval_seconds: 0.05 }]),
    );
    expect((await manage(app, id, 'pause')).statusCode).toBe(409);
    await manageOk(app, id, 'start');
    expect((await manage(app, id, 'start')).statusCode).toBe(409);
    await waitFor(app, id, (r) => r.summary.requests > 0 || r.series.length > 0);
    await sleep(300);
    const paused = await manage(app, id, 'pause');
    expect(paused.json()).toEqual({ experiment_id: id, state: 'paused' });
    expect((await manage(app, id, 'pause')).statusCode).toBe(409);
    // In-flight requests finish and sleeping users wake (≤ 50 ms) after the runner's next poll (100 ms).
    await sleep(400);
    const servedWhilePaused = target.served;
    await sleep(700);
    expect(target.served).toBe(servedWhilePaused);
    const atPause = await result(app, id, '&limit=0');
    expect(atPause.state).toBe('paused');
    expect(atPause.elapsed_in_profile_ms).toBeGreaterThan(300);
    expect(atPause.elapsed_in_profile_ms).toBeLessThan(2000);

    const resumedAt = Date.now();
    await manageOk(app, id, 'start');
    const r = await waitFor(app, id, inState('completed'));
    // The rest of the profile, not all of it again (plus polling and write latency).
    expect(Date.now() - resumedAt).toBeLessThan(2000 - atPause.elapsed_in_profile_ms + 1500);
    expect(r.summary.active_ms).toBe(2000);
    expect((await manage(app, id, 'start')).statusCode).toBe(409);
    expect((await manage(app, id, 'stop')).statusCode).toBe(409);
  });

  it('stop ends a run early with its numbers final', async () => {
    const id = await createExperiment(
      app,
      experimentBody(target.port, [{ users: 2, duration_seconds: 30, interval_seconds: 0.02 }]),
    );
    const before = target.served;
    await manageOk(app, id, 'start');
    await waitFor(app, id, (r) => r.series.length > 0 || r.summary.requests > 0);
    const stopped = await manage(app, id, 'stop');
    expect(stopped.json()).toEqual({ experiment_id: id, state: 'stopped' });
    const r = await waitFor(app, id, (x) => x.finished_at !== null);
    expect(r.state).toBe('stopped');
    expect(r.summary.active_ms).toBeLessThan(5000);
    await sleep(300);
    expect(target.served - before).toBe(r.summary.requests);
    expect((await manage(app, id, 'start')).statusCode).toBe(409);
  });

  it('thresholds decide `passed`', async () => {
    const profile = [{ users: 2, duration_seconds: 1, interval_seconds: 0.05 }];
    const good = await createExperiment(
      app,
      experimentBody(target.port, profile, { thresholds: { p99_ms: 2000, success_rate: 99 } }),
    );
    const bad = await createExperiment(
      app,
      experimentBody(target.port, profile, { thresholds: { p50_ms: 1 } }),
    );
    const none = await createExperiment(app, experimentBody(target.port, profile));
    for (const id of [good, bad, none]) await manageOk(app, id, 'start');
    const [g, b, n] = await Promise.all(
      [good, bad, none].map((id) => waitFor(app, id, inState('completed'))),
    );
    expect(g!.passed).toBe(true);
    expect(g!.summary.thresholds?.checks.map((c) => c.passed)).toEqual([true, true]);
    expect(b!.passed).toBe(false);
    expect(b!.summary.thresholds?.checks).toEqual([
      { name: 'p50_ms', limit: 1, actual: b!.summary.latency.p50, passed: false },
    ]);
    expect(n!.passed).toBeNull();
  });

  it('keeps raw results up to the cap, paged, while the summary counts every request', async () => {
    const id = await startExperiment(
      app,
      // 4 users cycling every >= 30 ms: ~130 requests, well past the cap even on a busy machine.
      experimentBody(target.port, [{ users: 4, duration_seconds: 1, interval_seconds: 0.02 }]),
    );
    const r = await waitFor(app, id, inState('completed'));
    expect(r.summary.requests).toBeGreaterThan(50);
    expect(r.results_total).toBe(50);
    const page1 = await result(app, id, '&limit=30&offset=0');
    const page2 = await result(app, id, '&limit=30&offset=30');
    expect(page1.results).toHaveLength(30);
    expect(page2.results).toHaveLength(20);
    for (const x of [...page1.results, ...page2.results]) {
      expect(x.status_code).toBe(200);
      expect(x.latency_ms).toBeGreaterThanOrEqual(9);
      expect(x.error).toBeNull();
      expect(x.timestamp).toMatch(/Z$/);
    }
    const times = [...page1.results, ...page2.results].map((x) => x.timestamp);
    expect(new Set(times).size).toBeGreaterThan(1);
  });

  it('a transport failure is recorded as status_code 0 with an error and counted in success_rate', async () => {
    const closed = await startLatencyTarget({ port: 0 });
    const port = closed.port;
    await closed.close();
    const id = await startExperiment(
      app,
      experimentBody(port, [{ users: 1, duration_seconds: 1, interval_seconds: 0.1 }]),
    );
    await waitFor(app, id, inState('completed'));
    const r = await result(app, id);
    expect(r.summary.requests).toBeGreaterThan(0);
    expect(r.summary.success_rate).toBe(0);
    expect(r.summary.latency.count).toBe(0);
    expect(r.results[0]).toMatchObject({ status_code: 0, latency_ms: null });
    expect(r.results[0]!.error).toMatch(/ECONNREFUSED/);
  });

  it('live stats and the stream follow the run', async () => {
    const id = await startExperiment(
      app,
      experimentBody(target.port, [{ users: 2, duration_seconds: 2, interval_seconds: 0.05 }]),
    );
    await waitFor(app, id, (r) => r.series.length > 0);
    const live = (await call(app, 'GET', `/experiment_stats?experiment_id=${id}`)).json();
    expect(live).toMatchObject({ experiment_id: id, state: 'running', current_profile_index: 0, users: 2 });
    expect(live.rate).toBeGreaterThan(0);
    expect(live.success_rate).toBe(100);
    expect(live.p50).toBeGreaterThanOrEqual(10);

    const stream = await call(app, 'GET', `/api/experiment_stream?experiment_id=${id}`);
    expect(stream.headers['content-type']).toMatch(/text\/event-stream/);
    const events = stream.body
      .split('\n\n')
      .filter((b) => b.startsWith('event: '))
      .map((b) => ({ event: b.split('\n')[0]!.slice(7), data: JSON.parse(b.split('\n')[1]!.slice(6)) }));
    expect(events[0]!.event).toBe('experiment');
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { state: 'completed' } });
    const seconds = events.filter((e) => e.event === 'second').map((e) => e.data);
    const final = await result(app, id, '&limit=0');
    expect(seconds.map((s) => s.second)).toEqual(final.series.map((s) => s.second));
    expect(seconds.reduce((n, s) => n + s.requests, 0)).toBe(final.summary.requests);
  });
});
