import normal from '@stdlib/random-base-normal';
import { describe, expect, it } from 'vitest';
import { cusumThreshold } from '../../stats/cusum';
import { decide } from './decider';
import { type DetectorDecision, type DetectorMemory, detect } from './detectors';
import type { DetectorConfig, WindowStats } from './model';

const at = new Date(0);
const win = (n: number, mean: number, std: number): WindowStats => ({ n, mean, std, start: at, end: at });

/** A window of `n` readings N(mu, sigma^2): its n, mean and sample std. */
function sampleWindow(rand: () => number, n: number, mu: number, sigma: number): WindowStats {
  const xs = Array.from({ length: n }, () => mu + sigma * rand());
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const ss = xs.reduce((s, x) => s + (x - mean) ** 2, 0);
  return win(n, mean, Math.sqrt(ss / (n - 1)));
}

const next = (mem: DetectorMemory, d: DetectorDecision): DetectorMemory => ({
  status: d.status,
  sinceChange: d.changed ? 0 : mem.sinceChange === undefined ? undefined : mem.sinceChange + 1,
  cusum: d.cusum,
});

/** Alarms of the CUSUM on a stationary stream of `decisions` windows. */
function stationaryAlarms(cfg: DetectorConfig, n: number, decisions: number, seed: number): number {
  const rand = normal.factory(0, 1, { seed });
  let mem: DetectorMemory = { status: 'down' };
  let prev = sampleWindow(rand, n, 100, 10);
  let alarms = 0;
  for (let i = 0; i < decisions; i++) {
    const curr = sampleWindow(rand, n, 100, 10);
    const d = detect(cfg, prev, curr, mem);
    if (d.cusum?.alarm) alarms++;
    mem = next(mem, d);
    prev = curr;
  }
  return alarms;
}

/**
 * Decisions after a +1 sigma step (sigma = the readings' std) until the status is up, over `trials` runs
 * with 20-40 stationary windows before the step; Infinity when not within 10.
 */
function detectionDelays(cfg: DetectorConfig, n: number, trials: number, seed: number): number[] {
  const rand = normal.factory(0, 1, { seed });
  const delays: number[] = [];
  for (let t = 0; t < trials; t++) {
    const before = 20 + (t % 21);
    let mem: DetectorMemory = { status: 'down' };
    let prev = sampleWindow(rand, n, 100, 10);
    let delay = Number.POSITIVE_INFINITY;
    for (let i = 0; i < before + 10; i++) {
      const curr = sampleWindow(rand, n, i < before ? 100 : 110, 10);
      const d = detect(cfg, prev, curr, mem);
      if (i >= before && d.status === 'up') {
        delay = i - before + 1;
        break;
      }
      // A false alarm upwards before the step would count as a detection: keep the status down there.
      mem = { ...next(mem, d), status: i < before ? 'down' : d.status };
      prev = curr;
    }
    delays.push(delay);
  }
  return delays;
}

describe('ttest detector', () => {
  it('is the t-test rule, labelled', () => {
    const prev = win(30, 100, 5);
    const curr = win(30, 104, 5);
    const d = detect({ type: 'ttest', alpha: 0.05, minDwell: 0 }, prev, curr, { status: 'down' });
    expect(d).toEqual({ ...decide(prev, curr, 'down', { alpha: 0.05 }), detector: 'ttest', cusum: null });
    expect(d.status).toBe('up');
  });
});

describe('cusum detector', () => {
  const cfg: DetectorConfig = { type: 'cusum', arl: 500, k: 0.5 };

  it('starts its baseline from the previous window, then accumulates standardised residuals', () => {
    const h = cusumThreshold(500, 0.5);
    // Baseline: n 4, mean 10, sd 2 (ss 12). Window: n 4, mean 12, sd 2. sp = 2, se = 2 sqrt(1/4 + 1/4).
    const d1 = detect(cfg, win(4, 10, 2), win(4, 12, 2), { status: 'down' });
    const z1 = 2 / (2 * Math.sqrt(0.5));
    expect(d1).toMatchObject({ detector: 'cusum', reason: 'cusum_below_threshold', status: 'down' });
    expect(d1.cusum!.z).toBeCloseTo(z1, 12);
    expect(d1.cusum!.up).toBeCloseTo(z1 - 0.5, 12);
    expect(d1.cusum!.down).toBe(0);
    expect(d1.cusum!.threshold).toBeCloseTo(h, 12);
    expect(d1.cusum!.baseline).toMatchObject({ n: 8, mean: 11, groups: 2 });
    expect(d1.cusum!.baseline.ss).toBeCloseTo(24, 12);
    // Next window n 4, mean 14, sd 2 against baseline mean 11 (N 8): se = 2 sqrt(1/4 + 1/8).
    const d2 = detect(cfg, win(4, 12, 2), win(4, 14, 2), next({ status: 'down' }, d1));
    const z2 = 3 / (2 * Math.sqrt(0.375));
    expect(d2.cusum!.z).toBeCloseTo(z2, 12);
    expect(d2.cusum!.up).toBeCloseTo(z1 - 0.5 + z2 - 0.5, 12);
    // 1.414 - 0.5 + 2.449 - 0.5 = 2.86: below h = 5.06, the status stays.
    expect(d2).toMatchObject({ reason: 'cusum_below_threshold', status: 'down', changed: false });
    expect(d2.cusum!.baseline).toMatchObject({ n: 12, mean: 12, groups: 3 });
  });

  it('switches when a sum crosses the threshold, and the next window starts a new baseline', () => {
    const mem: DetectorMemory = {
      status: 'down',
      cusum: {
        z: 1,
        se: 1,
        up: 4.9,
        down: 0,
        threshold: 5.06,
        k: 0.5,
        arl: 500,
        alarm: null,
        reference: 100,
        baseline: { n: 100, mean: 100, ss: 90 * 100, groups: 10 }, // pooled sd 10
      },
    };
    // se = 10 sqrt(1/10 + 1/100) = 3.317; z = 3 / 3.317 = 0.9045; S+ = 4.9 + 0.4045 = 5.30 > 5.06.
    const d = detect(cfg, win(10, 100, 10), win(10, 103, 10), mem);
    expect(d).toMatchObject({ status: 'up', changed: true, reason: 'cusum_increase' });
    expect(d.cusum!.up).toBeCloseTo(4.9 + 3 / (10 * Math.sqrt(0.11)) - 0.5, 10);
    expect(d.cusum!.alarm).toBe('up');
    expect(d.cusum!.baseline.n).toBe(0);
    expect(d.detail).toMatch(/S\+ over h=5\.063 \(ARL 500, k 0\.5\).*down -> up/);
    const after = detect(cfg, win(10, 103, 10), win(10, 104, 10), next(mem, d));
    expect(after).toMatchObject({ status: 'up', changed: false, reason: 'cusum_baseline' });
    expect(after.cusum).toMatchObject({ up: 0, down: 0, baseline: { n: 10, mean: 104, groups: 1 } });
  });

  it('keeps its sums through a window without data', () => {
    const d1 = detect(cfg, win(4, 10, 2), win(4, 12, 2), { status: 'down' });
    const d2 = detect(cfg, win(4, 12, 2), win(0, Number.NaN, Number.NaN), next({ status: 'down' }, d1));
    expect(d2).toMatchObject({ reason: 'insufficient_data', status: 'down' });
    expect(d2.cusum).toMatchObject({ up: d1.cusum!.up, down: 0, baseline: d1.cusum!.baseline });
  });

  it('realises its target false-alarm rate within 25 % over 10,000 stationary decisions (ARL 100)', () => {
    const alarms = stationaryAlarms({ type: 'cusum', arl: 100, k: 0.5 }, 100, 10_000, 11);
    expect(alarms / 10_000 / (1 / 100)).toBeGreaterThan(0.75);
    expect(alarms / 10_000 / (1 / 100)).toBeLessThan(1.25);
  });

  it('realises ARL 500 within 25 % (five runs of 10,000 decisions, 20 readings per window)', () => {
    let alarms = 0;
    for (const seed of [1, 2, 3, 4, 5]) alarms += stationaryAlarms(cfg, 20, 10_000, seed);
    const ratio = alarms / 50_000 / (1 / 500);
    expect(ratio).toBeGreaterThan(0.75);
    expect(ratio).toBeLessThan(1.25);
  });

  it('detects a 1 sigma step within 3 decisions in >= 95 % of trials at ARL 500', () => {
    // 100 readings per window: the step is 10 standard errors of a window mean (default k 0.5).
    const wide = detectionDelays(cfg, 100, 500, 21);
    expect(wide.filter((d) => d <= 3).length / wide.length).toBeGreaterThanOrEqual(0.95);
    // 10 readings per window: 3.2 standard errors; k 1 (half of about 2 se) suits that shift.
    const narrow = detectionDelays({ type: 'cusum', arl: 500, k: 1 }, 10, 1000, 22);
    expect(narrow.filter((d) => d <= 3).length / narrow.length).toBeGreaterThanOrEqual(0.95);
  });
});
