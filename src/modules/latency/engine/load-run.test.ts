import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadRun, measureOnce, type RequestResult, run, type SecondBucket } from './index';
import { type LatencyTarget, startLatencyTarget } from './target';

// Every test talks to a real node:http target on a loopback port chosen by the OS.
let target: LatencyTarget;
beforeAll(async () => {
  target = await startLatencyTarget({ port: 0, delayMs: 10 });
});
afterAll(() => target.close());

/** A port on loopback that nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** The fastest of a few single requests: the target's delay plus the round trip, without warm-up noise. */
async function measuredDelayMs(url: string): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) best = Math.min(best, (await measureOnce({ url })).latency_ms ?? best);
  return best;
}

describe('closed model', () => {
  it('a 2 s stage with 5 users and a 0.1 s interval issues the expected number of requests', async () => {
    const d = await measuredDelayMs(target.latencyUrl);
    const seconds: SecondBucket[] = [];
    const r = new LoadRun({
      target: { url: target.latencyUrl },
      stages: [{ users: 5, durationSeconds: 2, intervalSeconds: 0.1 }],
    });
    r.on('second', (b) => seconds.push(b));
    const t0 = performance.now();
    const { summary } = await r.start();
    const wall = performance.now() - t0;

    // Each user loops: request (d ms) then 100 ms of sleep, and starts a request while t < 2000 ms.
    // No cycle is shorter than the sleep (which libuv's millisecond clock may end up to 1 ms early)
    // plus the run's fastest request: d, the best of five single requests before the run (another
    // client), was slower than some of the run's requests in a full test run (91 requests, not 90).
    // Timers fire late by up to a few ms on a busy machine, so allow a cycle of up to 100 + d + 6 ms,
    // and one request per user lost at the stage boundary.
    const most = 5 * Math.ceil(2000 / (99 + summary.latency.min));
    const least = 5 * Math.ceil(2000 / (100 + d + 6)) - 5;
    expect(summary.requests).toBeLessThanOrEqual(most);
    expect(summary.requests).toBeGreaterThanOrEqual(least);
    expect(summary.successes).toBe(summary.requests);
    expect(summary.successRate).toBe(100);
    expect(summary.statusCodes).toEqual({ '200': summary.requests });
    expect(summary.latency.count).toBe(summary.requests);
    expect(summary.latency.p50).toBeGreaterThanOrEqual(10);
    // The stage ends on time; in-flight requests (≤ one target delay) are then awaited.
    expect(summary.activeMs).toBeGreaterThanOrEqual(1995);
    expect(summary.activeMs).toBeLessThan(2150);
    expect(wall).toBeLessThan(2000 + d + 400);
    // Per-second series adds up to the total.
    expect(seconds.reduce((n, b) => n + b.requests, 0)).toBe(summary.requests);
    expect(seconds.every((b) => b.stageIndex === 0 || b.stageIndex === 1)).toBe(true);
  });

  it('pause stops new requests within one interval and resume honours the remaining stage time', async () => {
    const r = new LoadRun({
      target: { url: target.latencyUrl },
      stages: [{ users: 4, durationSeconds: 1, intervalSeconds: 0.05 }],
    });
    const t0 = performance.now();
    const done = r.start();
    await sleep(400);
    r.pause();
    const atPause = r.progress();
    expect(atPause.state).toBe('paused');
    expect(atPause.elapsedInStageMs).toBeGreaterThanOrEqual(395);
    expect(atPause.elapsedInStageMs).toBeLessThan(560);
    // A user in flight finishes (10 ms) and a sleeping one wakes (≤ 50 ms); then nothing is sent.
    await sleep(50 + 10 + 40);
    const servedAfterSettle = target.served;
    await sleep(500);
    expect(target.served).toBe(servedAfterSettle);
    expect(r.progress().elapsedInStageMs).toBe(atPause.elapsedInStageMs);
    r.resume();
    const { summary } = await done;
    const wall = performance.now() - t0;
    // 1 s of stage time + 600 ms paused.
    expect(wall).toBeGreaterThanOrEqual(1590);
    expect(wall).toBeLessThan(2000);
    expect(summary.activeMs).toBeGreaterThanOrEqual(995);
    expect(summary.activeMs).toBeLessThan(1150);
    expect(summary.state).toBe('completed');
    expect(summary.requests).toBeGreaterThan(40);
  });

  it('stop ends the run promptly and keeps the progress for a later resume', async () => {
    const r = new LoadRun({
      target: { url: target.latencyUrl },
      stages: [{ users: 3, durationSeconds: 30, intervalSeconds: 0 }],
    });
    const done = r.start();
    await sleep(300);
    const t0 = performance.now();
    const { summary } = await r.stop();
    expect(performance.now() - t0).toBeLessThan(400);
    expect(summary.state).toBe('stopped');
    expect(summary.progress.stageIndex).toBe(0);
    expect(summary.progress.elapsedInStageMs).toBeGreaterThanOrEqual(295);
    expect(summary.progress.elapsedInStageMs).toBeLessThan(500);
    expect(summary.requests).toBeGreaterThan(10);
    expect(summary.progress.inFlight).toBe(0);
    await done;
  });

  it('startAt continues a run where it was left (after a restart)', async () => {
    const stages: number[] = [];
    const r = new LoadRun({
      target: { url: target.latencyUrl },
      stages: [
        { users: 2, durationSeconds: 1, intervalSeconds: 0.05 },
        { users: 1, durationSeconds: 0.3, intervalSeconds: 0.05 },
      ],
      startAt: { stageIndex: 0, elapsedMs: 700 },
    });
    r.on('stage', (i) => stages.push(i));
    const t0 = performance.now();
    const { summary } = await r.start();
    const wall = performance.now() - t0;
    expect(stages).toEqual([0, 1]);
    expect(wall).toBeGreaterThanOrEqual(590);
    expect(wall).toBeLessThan(900);
    expect(summary.progress.stageIndex).toBe(2);
  });

  it('pipelined requests (writes batched per tick) are all answered and counted once', async () => {
    const before = target.served;
    const { summary } = await run({
      target: { url: target.latencyUrl },
      stages: [{ users: 16, durationSeconds: 0.3, intervalSeconds: 0 }],
      connections: 2,
      pipelining: 8,
    });
    expect(summary.requests).toBeGreaterThan(100);
    expect(summary.successes).toBe(summary.requests);
    expect(target.served - before).toBe(summary.requests);
  });

  it('a transport error is recorded as status_code 0, latency_ms null and an error text', async () => {
    const port = await closedPort();
    const results: RequestResult[] = [];
    const { summary } = await run({
      target: { host: '127.0.0.1', port, path: '/api/latency' },
      stages: [{ users: 1, durationSeconds: 0.3, intervalSeconds: 0.05 }],
      onResult: (x) => results.push(x),
      thresholds: { error_rate: 1 },
    });
    expect(results.length).toBeGreaterThan(0);
    expect(results.length).toBe(summary.requests);
    for (const x of results) {
      expect(x.status_code).toBe(0);
      expect(x.latency_ms).toBeNull();
      expect(x.error).toMatch(/ECONNREFUSED/);
      expect(x.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    expect(summary.failuresByKind).toEqual({ connection_refused: summary.requests });
    expect(summary.latency.count).toBe(0);
    expect(summary.errorRate).toBe(100);
    expect(summary.thresholds?.passed).toBe(false);
  });

  it('non-success statuses count as failures but keep their latency', async () => {
    const { summary } = await run({
      target: { url: `${target.url}/nope` },
      stages: [{ users: 1, durationSeconds: 0.2, intervalSeconds: 0.05 }],
      thresholds: { success_rate: 99, p99_ms: 1000 },
    });
    expect(summary.requests).toBeGreaterThan(0);
    expect(summary.failuresByKind).toEqual({ status: summary.requests });
    expect(summary.statusCodes).toEqual({ '404': summary.requests });
    expect(summary.latency.count).toBe(summary.requests);
    expect(summary.successRate).toBe(0);
    expect(summary.errorRate).toBe(0);
    expect(summary.thresholds).toEqual({
      passed: false,
      checks: [
        { name: 'p99_ms', limit: 1000, actual: summary.latency.p99, passed: true },
        { name: 'success_rate', limit: 99, actual: 0, passed: false },
      ],
    });
  });
});

describe('open model (arrival rate)', () => {
  it('sends users / interval requests per second on schedule', async () => {
    const { summary } = await run({
      target: { url: target.latencyUrl },
      model: 'arrival-rate',
      stages: [{ users: 20, durationSeconds: 1.5, intervalSeconds: 0.1 }],
    });
    // 200/s for 1.5 s: requests are due at 0, 5, 10, ... 1495 ms.
    expect(summary.requests + summary.dropped).toBe(300);
    expect(summary.dropped).toBe(0);
    expect(summary.successes).toBe(300);
    expect(summary.rps).toBeGreaterThan(180);
    expect(summary.rps).toBeLessThan(220);
    expect(summary.rawLatency?.count).toBe(300);
  });

  it('pause stops sending within 100 ms', async () => {
    const r = new LoadRun({
      target: { url: target.latencyUrl },
      model: 'arrival-rate',
      stages: [{ users: 100, durationSeconds: 0.6, intervalSeconds: 0.5 }],
    });
    const done = r.start();
    await sleep(200);
    r.pause();
    await sleep(100);
    const served = target.served;
    await sleep(300);
    expect(target.served).toBe(served);
    r.resume();
    const { summary } = await done;
    // 200/s for 0.6 s of stage time.
    expect(summary.requests + summary.dropped).toBe(120);
  });

  it('a stalled target shows in the corrected p99 but not in the raw one (coordinated omission)', async () => {
    // One request stalls for 1 s, 500 ms into the run; with one request in flight at a time, the
    // ~200 requests scheduled meanwhile wait and are sent late.
    const stalling = await startLatencyTarget({ port: 0, stallEveryMs: 500, stallMs: 1000 });
    try {
      const { summary } = await run({
        target: { url: stalling.latencyUrl },
        model: 'arrival-rate',
        maxInFlight: 1,
        stages: [{ users: 200, durationSeconds: 2, intervalSeconds: 1 }],
      });
      expect(summary.requests + summary.dropped).toBe(400);
      expect(summary.latency.p99).toBeGreaterThanOrEqual(900);
      expect(summary.latency.max).toBeGreaterThanOrEqual(990);
      expect(summary.rawLatency!.p99).toBeLessThan(100);
      expect(summary.rawLatency!.max).toBeGreaterThanOrEqual(990);
      expect(summary.late).toBeGreaterThan(100);
    } finally {
      await stalling.close();
    }
  });
});

describe('measureOnce', () => {
  it('returns the seed result shape', async () => {
    const r = await measureOnce({ host: '127.0.0.1', port: target.port, path: '/api/latency' }, 2000);
    expect(r.status_code).toBe(200);
    expect(r.latency_ms).toBeGreaterThanOrEqual(10);
    expect(r.error).toBeNull();
    expect(r.timestamp.endsWith('Z')).toBe(true);
  });

  it('reports a timeout as an error', async () => {
    const r = await measureOnce({ url: `${target.latencyUrl}?stall=500` }, 100);
    expect(r).toMatchObject({ status_code: 0, latency_ms: null, error: 'timeout after 100 ms' });
  });
});
