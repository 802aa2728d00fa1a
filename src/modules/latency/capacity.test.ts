import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isServiceError } from '../../platform/errors';
import { findCapacity, parseSlo, SLO_METRICS, validateSlo } from './capacity';
import { type CapacityTarget, startCapacityTarget } from './capacity-target';

/** The ServiceError a call throws (fails the test when it does not throw one). */
function thrown(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (isServiceError(e)) return e;
    throw e;
  }
  throw new Error('expected a ServiceError');
}

describe('SLO parsing', () => {
  it('accepts exactly the thresholds metrics', () => {
    expect(SLO_METRICS).toEqual(['p50_ms', 'p90_ms', 'p99_ms', 'mean_ms', 'success_rate', 'error_rate']);
    expect(parseSlo(['p99_ms=100', 'error_rate=1'])).toEqual({ p99_ms: 100, error_rate: 1 });
  });

  it('names an unknown metric and lists the known ones', () => {
    const e = thrown(() => parseSlo(['p95_ms=100']));
    expect(e.status).toBe(400);
    expect(e.message).toContain('slo.p95_ms: unknown SLO metric');
    expect(e.message).toContain('p99_ms');
  });

  it('refuses bad limits, a missing =, and an empty SLO', () => {
    expect(thrown(() => parseSlo(['p99_ms=abc'])).message).toContain('slo.p99_ms: must be a number');
    expect(thrown(() => parseSlo(['p99_ms='])).message).toContain('slo.p99_ms');
    expect(thrown(() => parseSlo(['error_rate=101'])).message).toContain('<= 100');
    expect(thrown(() => parseSlo(['p99_ms'])).message).toContain('NAME=VALUE');
    expect(thrown(() => parseSlo([])).message).toContain('at least one');
    expect(thrown(() => validateSlo(null)).message).toContain('slo: expected an object');
  });

  it('refuses bad search options naming the option', async () => {
    await expect(
      findCapacity({ target: { url: 'http://127.0.0.1:1/' }, slo: { p99_ms: 1 }, precision: 2 }),
    ).rejects.toThrow('precision');
  });
});

describe('capacity search against a target of known capacity', () => {
  let target: CapacityTarget;
  beforeAll(async () => {
    // 4 requests at a time × 10 ms = 400 req/s; the rest queue.
    target = await startCapacityTarget({ concurrency: 4, serviceMs: 10 });
  });
  afterAll(() => target.close());
  /** Every answer takes 10 ms, so p50 ≤ 1 ms never holds: a search from 8 req/s down to 1, 0.5 s a step. */
  const neverHolds = () => ({
    target: { url: target.url },
    slo: { p50_ms: 1 },
    startRps: 8,
    warmupSeconds: 0,
    windowSeconds: 0.5,
  });

  it('finds 400 req/s within 10 %', async () => {
    // The SLO is on the median, 10× the service time: below capacity the median is ~10 ms however busy
    // the machine is (a stall would have to hit half the window to move it), while above capacity the
    // queue grows, so at r = C·(1 + ε) the median request waits ε·(1 s warm-up + 1 s): 8 % over → 160 ms.
    // A rate r > C passes only while ε < 100 ms / 2 s, i.e. r < 1.05·C (see capacity.ts).
    const seen: number[] = [];
    const r = await findCapacity({
      target: { url: target.url },
      slo: { p50_ms: 100, error_rate: 1 },
      startRps: 300,
      growth: 1.5,
      warmupSeconds: 1,
      windowSeconds: 2,
      precision: 0.08,
      onStepStart: (_i, _phase, rate) => seen.push(rate),
    });
    const steps = JSON.stringify(r.steps.map((s) => [s.rateRps, s.held, s.latency.p50, s.dropped]));
    expect(r.limitedBy, steps).toBe('slo');
    expect(r.capacityRps, steps).not.toBeNull();
    expect(Math.abs(r.capacityRps! - 400) / 400, steps).toBeLessThanOrEqual(0.1);
    expect(r.failedRps! - r.capacityRps!).toBeLessThanOrEqual(Math.max(1, 0.08 * r.capacityRps!));
    // The ramp multiplies by 1.5 from 300 while steps hold; the steps are the ones announced, in order.
    expect(r.steps.map((s) => s.rateRps)).toEqual(seen);
    expect([...new Set(seen)].slice(0, 2)).toEqual([300, 450]);
    const held = r.steps.filter((s) => s.held).map((s) => s.rateRps);
    expect(Math.max(...held)).toBe(r.capacityRps);
    // A rate failed only when it failed twice in a row; the lowest such rate is failedRps.
    const failedTwice = r.steps.filter((s) => !s.held && s.attempt === 2).map((s) => s.rateRps);
    expect(Math.min(...failedTwice)).toBe(r.failedRps);
    for (const s of r.steps.filter((x) => !x.held)) {
      expect(s.checks[0]).toMatchObject({ name: 'p50_ms', limit: 100, passed: false });
      expect(s.latency.p50).toBeGreaterThan(100);
    }
    // Held steps: every request scheduled in the 2 s window was sent and answered.
    for (const s of r.steps.filter((x) => x.held)) {
      expect(Math.abs(s.requests - s.rateRps * 2)).toBeLessThanOrEqual(1);
      expect(s.dropped).toBe(0);
      expect(s.errorRate).toBe(0);
    }
  }, 90_000);

  it('stops at maxRps when every rate holds', async () => {
    const r = await findCapacity({
      target: { url: target.url },
      slo: { p50_ms: 100, error_rate: 1 },
      startRps: 25,
      maxRps: 60,
      warmupSeconds: 0,
      windowSeconds: 1,
    });
    // Each rate held (a second attempt only if the machine stalled the first).
    expect([...new Set(r.steps.map((s) => s.rateRps))]).toEqual([25, 50, 60]);
    expect(r.steps.filter((s) => s.held).map((s) => s.rateRps)).toEqual([25, 50, 60]);
    expect(r).toMatchObject({ capacityRps: 60, failedRps: null, limitedBy: 'max_rps' });
  }, 30_000);

  it('reports null when not even the lowest rate holds, trying each rate twice', async () => {
    // Every answer takes 10 ms, so p50 ≤ 1 ms never holds; the bisection goes down to 1 req/s.
    const r = await findCapacity(neverHolds());
    expect(r.steps.map((s) => s.rateRps)).toEqual([8, 8, 4, 4, 2, 2, 1, 1]);
    expect(r.steps.map((s) => s.attempt)).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
    expect(r.steps.every((s) => !s.held)).toBe(true);
    expect(r).toMatchObject({ capacityRps: null, failedRps: 1, limitedBy: 'slo' });
  }, 30_000);

  it('a step whose SLO is already broken stops early and fails', async () => {
    // p99 ≤ 1 ms of 200 requests fails once 4 of them took longer: every answer takes 10 ms.
    const r = await findCapacity({
      target: { url: target.url },
      slo: { p99_ms: 1 },
      startRps: 100,
      warmupSeconds: 0,
      windowSeconds: 2,
      maxSteps: 1,
      attempts: 1,
    });
    expect(r.limitedBy).toBe('max_steps');
    expect(r.steps).toHaveLength(1);
    expect(r.steps[0]).toMatchObject({ rateRps: 100, held: false, stoppedEarly: true });
    expect(r.steps[0]!.requests).toBeGreaterThanOrEqual(4);
    expect(r.steps[0]!.requests).toBeLessThan(100);
  }, 30_000);

  it('a resumed search replays the stored steps and continues where they leave off', async () => {
    const first = await findCapacity({ ...neverHolds(), maxSteps: 2 });
    expect(first.steps.map((s) => [s.rateRps, s.attempt, s.held])).toEqual([
      [8, 1, false],
      [8, 2, false],
    ]);
    const announced: number[] = [];
    const resumed = await findCapacity({
      ...neverHolds(),
      maxSteps: 3,
      resume: first.steps,
      onStepStart: (index, _phase, rate) => announced.push(index, rate),
    });
    // 8 failed twice, so the bisection's next rate is 4, as the step number 2 (the third).
    expect(announced).toEqual([2, 4]);
    expect(resumed.steps.slice(0, 2)).toEqual(first.steps);
    expect(resumed.steps[2]).toMatchObject({ index: 2, phase: 'bisect', rateRps: 4, attempt: 1 });
    expect(resumed).toMatchObject({ failedRps: 8, limitedBy: 'max_steps' });
    // A finished search resumed runs nothing more and gives the same answer.
    const t = first.steps[0]!;
    const all = [8, 8, 4, 4, 2, 2, 1, 1].map((rateRps, i) => ({
      ...t,
      index: i,
      rateRps,
      attempt: 1 + (i % 2),
    }));
    const done = await findCapacity({
      ...neverHolds(),
      resume: all,
      onStepStart: () => {
        throw new Error('no step should run');
      },
    });
    expect(done).toMatchObject({ capacityRps: null, failedRps: 1, limitedBy: 'slo' });
    expect(done.steps).toEqual(all);
  }, 30_000);

  it('an abort ends the search with what it found so far', async () => {
    const ac = new AbortController();
    const r = await findCapacity({
      target: { url: target.url },
      slo: { p50_ms: 100 },
      startRps: 20,
      warmupSeconds: 0,
      windowSeconds: 0.5,
      signal: ac.signal,
      onStep: (s) => {
        if (s.index === 1) ac.abort();
      },
    });
    expect(r.limitedBy).toBe('interrupted');
    expect(r.steps).toHaveLength(2);
    expect(r.steps[0]!.rateRps).toBe(20);
  }, 30_000);
});
