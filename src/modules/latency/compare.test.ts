import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelelabApp } from '../../app';
import { createLatencyHistogram, type LatencyHistogram, recordMs } from '../../stats/histogram';
import { type ComparedRun, compareRuns } from './compare';
import { type LatencyTarget, startLatencyTarget } from './engine/target';
import {
  call,
  createExperiment,
  experimentBody,
  inState,
  latencyApp,
  manageOk,
  waitFor,
} from './test-support';

function run(latenciesMs: number[], failures = 0): ComparedRun {
  const histogram: LatencyHistogram = createLatencyHistogram();
  for (const v of latenciesMs) recordMs(histogram, v);
  return { histogram, requests: latenciesMs.length + failures, successes: latenciesMs.length };
}

/** n values spread evenly over [from, to) ms. */
const spread = (n: number, from: number, to: number) =>
  Array.from({ length: n }, (_, i) => from + ((to - from) * i) / n);

describe('compareRuns', () => {
  it('the hand-computed Mann–Whitney example: U = 17 of 20, p = 0.0993, not significant → same', () => {
    // Baseline 1 2 2 3 ms, candidate 2 3 3 4 5 ms (the worked example in src/stats/latency-compare.test.ts).
    const c = compareRuns(run([1, 2, 2, 3]), run([2, 3, 3, 4, 5]));
    expect(c.mann_whitney).toMatchObject({ u: 17, auc: 0.85, p_value: 0.09934, p_worse: 0.04967 });
    expect(c.mann_whitney.z).toBeCloseTo(1.7748, 4);
    // HDR buckets report their highest equivalent value: 2 ms is 2.001 at 3 significant digits.
    const p50 = c.percentiles.find((p) => p.percentile === 50)!;
    expect(p50.baseline_ms).toBeCloseTo(2, 2);
    expect(p50.candidate_ms).toBeCloseTo(3, 2);
    expect(p50.diff_pct).toBeCloseTo(50, 0);
    expect(c.verdict).toBe('same');
    expect(c.reasons).toEqual([]);
  });

  it('a candidate 50 % slower over 1000 requests is worse, naming the percentiles', () => {
    const c = compareRuns(run(spread(1000, 10, 20)), run(spread(1000, 15, 30)));
    expect(c.verdict).toBe('worse');
    expect(c.mann_whitney.p_worse).toBeLessThan(1e-10);
    const p50 = c.percentiles.find((p) => p.percentile === 50)!;
    expect(p50.baseline_ms).toBeCloseTo(15, 1);
    expect(p50.candidate_ms).toBeCloseTo(22.5, 1);
    expect(p50).toMatchObject({ significant: true, change: 'worse' });
    expect(p50.diff_pct).toBeCloseTo(50, 0);
    expect(c.reasons[0]).toMatch(
      /^p50 1[45]\.\d+ → 22\.\d+ ms \(\+7\.\d+ ms, \+50(\.\d)? %; Mann–Whitney p = /,
    );
    // Swapped, the same data says better.
    const back = compareRuns(run(spread(1000, 15, 30)), run(spread(1000, 10, 20)));
    expect(back.verdict).toBe('better');
    expect(back.percentiles.find((p) => p.percentile === 50)!.change).toBe('better');
  });

  it('a significant shift within the tolerance is the same; a wider tolerance changes nothing else', () => {
    // +4 %: with 20 000 requests each the shift is highly significant but below the 10 % tolerance.
    const c = compareRuns(run(spread(20_000, 100, 200)), run(spread(20_000, 104, 208)));
    expect(c.mann_whitney.p_worse).toBeLessThan(1e-6);
    expect(c.percentiles.find((p) => p.percentile === 50)!.significant).toBe(true);
    expect(c.verdict).toBe('same');
    // The same data with a 2 % tolerance is a regression.
    const strict = compareRuns(run(spread(20_000, 100, 200)), run(spread(20_000, 104, 208)), {
      tolerance_pct: 2,
      tolerance_ms: 1,
      failure_pp: 1,
      alpha: 0.01,
    });
    expect(strict.verdict).toBe('worse');
  });

  it('identical runs are the same with p = 1', () => {
    const c = compareRuns(run(spread(500, 5, 50)), run(spread(500, 5, 50)));
    expect(c.verdict).toBe('same');
    expect(c.mann_whitney).toMatchObject({ auc: 0.5, z: 0, p_value: 1 });
    expect(c.percentiles.every((p) => p.diff_ms === 0 && p.change === 'same')).toBe(true);
  });

  it('a candidate with 10 % failures and the same latency is worse because of failures', () => {
    const c = compareRuns(run(spread(900, 10, 20)), run(spread(900, 10, 20), 100));
    expect(c.candidate.failure_rate).toBe(10);
    expect(c.failures.change).toBe('worse');
    expect(c.failures.diff_pp).toBe(10);
    expect(c.verdict).toBe('worse');
    expect(c.reasons).toEqual([expect.stringMatching(/^failure rate 0 → 10 % \(two-proportion p = /)]);
  });
});

describe('GET /compare_experiments', () => {
  let fast: LatencyTarget;
  let slow: LatencyTarget;
  let app: TelelabApp;
  let fastId: string;
  let slowId: string;
  let idleId: string;
  beforeAll(async () => {
    fast = await startLatencyTarget({ port: 0, delayMs: 5 });
    slow = await startLatencyTarget({ port: 0, delayMs: 100 });
    app = await latencyApp();
    // Closed model (latency from the actual send), one run after the other: an event-loop stall on a
    // loaded machine delays a few answers, but not the ~6 ms vs ~100 ms medians of the two targets.
    const profile = [{ users: 2, duration_seconds: 2, interval_seconds: 0 }];
    fastId = await createExperiment(app, experimentBody(fast.port, profile, { name: 'fast' }));
    slowId = await createExperiment(app, experimentBody(slow.port, profile, { name: 'slow' }));
    idleId = await createExperiment(app, experimentBody(fast.port, profile, { name: 'idle' }));
    // A first run in a fresh app can stall for seconds (the embedded database warming up on a busy
    // machine); it is not what this test compares.
    const warmId = await createExperiment(app, experimentBody(fast.port, profile, { name: 'warm-up' }));
    await manageOk(app, warmId, 'start');
    await waitFor(app, warmId, inState('completed'));
    await manageOk(app, fastId, 'start');
    await waitFor(app, fastId, inState('completed'));
    await manageOk(app, slowId, 'start');
    await waitFor(app, slowId, inState('completed'));
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await fast?.close();
    await slow?.close();
  });

  it('a slower candidate is worse, and the reverse is better', async () => {
    const res = await call(app, 'GET', `/compare_experiments?baseline=${fastId}&candidate=${slowId}`);
    expect(res.statusCode).toBe(200);
    const c = res.json();
    expect(c, JSON.stringify(c)).toMatchObject({
      baseline_id: fastId,
      candidate_id: slowId,
      verdict: 'worse',
    });
    expect(c.baseline_state).toBe('completed');
    expect(c.candidate.latency.p50).toBeGreaterThan(c.baseline.latency.p50 + 50);
    expect(c.percentiles.map((p: { percentile: number }) => p.percentile)).toEqual([50, 90, 95, 99, 99.9]);
    expect(c.mann_whitney.p_worse).toBeLessThan(0.01);
    expect(c.reasons.length).toBeGreaterThan(0);

    const back = await call(app, 'GET', `/api/compare_experiments?baseline=${slowId}&candidate=${fastId}`);
    expect(back.statusCode).toBe(200);
    expect(back.json().verdict).toBe('better');
  });

  it('missing parameters: 400 naming them', async () => {
    const res = await call(app, 'GET', `/compare_experiments?candidate=${slowId}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toContain('baseline');
    const res2 = await call(app, 'GET', `/compare_experiments?baseline=${slowId}`);
    expect(res2.statusCode).toBe(400);
    expect(res2.json().detail).toContain('candidate');
    const bad = await call(app, 'GET', `/compare_experiments?baseline=${slowId}&candidate=${fastId}&alpha=2`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toContain('alpha');
  });

  it('an unknown id: 404 naming the parameter', async () => {
    const ghost = randomUUID();
    const res = await call(app, 'GET', `/compare_experiments?baseline=${fastId}&candidate=${ghost}`);
    expect(res.statusCode).toBe(404);
    expect(res.json().detail).toBe(`candidate: no experiment '${ghost}'`);
    const notUuid = await call(app, 'GET', `/compare_experiments?baseline=nope&candidate=${fastId}`);
    expect(notUuid.statusCode).toBe(404);
    expect(notUuid.json().detail).toContain('baseline');
  });

  it('an experiment that measured nothing: 409 saying so', async () => {
    const res = await call(app, 'GET', `/compare_experiments?baseline=${idleId}&candidate=${fastId}`);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'LATENCY_EXPERIMENT_NO_DATA' });
    expect(res.json().detail).toContain(
      `baseline: experiment '${idleId}' (state created) has no measured latency`,
    );
  });
});
