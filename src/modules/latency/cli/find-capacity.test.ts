/** `telelab load --find-capacity` and `telelab load --baseline` as real processes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CapacityTarget, startCapacityTarget } from '../capacity-target';
import { type LatencyTarget, startLatencyTarget } from '../engine/target';
import { collect, latencyCli } from './test-support';

let cli: ReturnType<typeof latencyCli>;
let capacity: CapacityTarget;
let fast: LatencyTarget;
let slow: LatencyTarget;
beforeAll(async () => {
  cli = latencyCli();
  capacity = await startCapacityTarget({ concurrency: 4, serviceMs: 10 });
  fast = await startLatencyTarget({ port: 0, delayMs: 5 });
  slow = await startLatencyTarget({ port: 0, delayMs: 100 });
});
afterAll(async () => {
  cli.remove();
  await capacity.close();
  await fast.close();
  await slow.close();
});

describe('telelab load --find-capacity', () => {
  it('an SLO on an unknown metric: exit 2 naming it and the known ones', async () => {
    const out = await cli.load('--url', capacity.url, '--find-capacity', '--slo', 'p95_ms=100');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('p95_ms=100');
    expect(out.stderr).toContain('p50_ms, p90_ms, p99_ms, mean_ms, success_rate, error_rate');
  });

  it('without --slo (or, not capacity, without --duration): exit 2 saying so', async () => {
    const out = await cli.load('--url', capacity.url, '--find-capacity');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--slo');
    // --duration is optional only with --find-capacity.
    const plain = await cli.load('--url', capacity.url, '--rate', '10');
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain("required option '--duration <seconds>' not specified");
  }, 30_000);

  it('--json prints one object with capacity_rps and the steps', async () => {
    const out = await cli.load(
      ...['--url', capacity.url, '--find-capacity', '--slo', 'p50_ms=100', '--slo', 'error_rate=1'],
      ...['--start-rate', '20', '--max-rate', '30', '--window', '0.5', '--warmup', '0', '--json'],
    );
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]!);
    expect(r).toMatchObject({
      target: capacity.url,
      capacity_rps: 30,
      failed_rps: null,
      limited_by: 'max_rps',
      slo: { p50_ms: 100, error_rate: 1 },
      window_seconds: 0.5,
      warmup_seconds: 0,
    });
    expect([...new Set(r.steps.map((s: { rate_rps: number }) => s.rate_rps))]).toEqual([20, 30]);
    expect(r.steps.at(-1)).toMatchObject({ rate_rps: 30, held: true, phase: 'ramp' });
    expect(r.steps[0].latency.p50).toBeGreaterThan(9);
  }, 30_000);

  it('no rate holds: a table saying so, exit 99', async () => {
    const out = await cli.load(
      ...['--url', capacity.url, '--find-capacity', '--slo', 'p50_ms=1'],
      ...['--start-rate', '2', '--window', '0.3', '--warmup', '0'],
    );
    expect(out.code, out.stderr).toBe(99);
    expect(out.stdout).toContain('SLO p50_ms <= 1');
    expect(out.stdout).toContain('capacity: none');
  }, 30_000);

  it('Ctrl-C: the steps so far, limited_by interrupted, exit 130', async () => {
    const child = cli.start(
      ...['load', '--url', capacity.url, '--find-capacity', '--slo', 'p50_ms=100'],
      ...['--start-rate', '20', '--window', '20', '--warmup', '0', '--json'],
    );
    const outcome = collect(child);
    const servedBefore = capacity.served;
    while (capacity.served === servedBefore) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const out = await outcome;
    expect(out.code, out.stderr).toBe(130);
    expect(JSON.parse(out.stdout)).toMatchObject({ limited_by: 'interrupted', capacity_rps: null });
  }, 30_000);
});

describe('telelab load --baseline', () => {
  const rate = ['--rate', '50', '--duration', '1'];

  it('a slower candidate exits 99 with the verdict; a faster one exits 0', async () => {
    // The two baselines are measured side by side, then the two candidates (the targets answer in 5 and
    // 100 ms: 20 times apart, far more than two loads at once on one machine could move them).
    const [base, slowRun] = await Promise.all([
      cli.load('--url', fast.latencyUrl, ...rate, '--json'),
      cli.load('--url', slow.latencyUrl, ...rate, '--json'),
    ]);
    expect(base.code, base.stderr).toBe(0);
    const summary = JSON.parse(base.stdout);
    expect(typeof summary.histogram).toBe('string');
    const fastFile = cli.file('fast.json', base.stdout);
    const slowFile = cli.file('slow.json', slowRun.stdout);

    const [worse, better] = await Promise.all([
      cli.load('--url', slow.latencyUrl, ...rate, '--baseline', fastFile),
      cli.load('--url', fast.latencyUrl, ...rate, '--baseline', slowFile, '--json'),
    ]);
    expect(worse.code, worse.stderr).toBe(99);
    expect(worse.stdout).toContain('verdict: WORSE');
    expect(worse.stdout).toMatch(/p50 .* → .* ms \(\+\d/);

    expect(better.code, better.stderr).toBe(0);
    const r = JSON.parse(better.stdout);
    expect(r.comparison.verdict).toBe('better');
    expect(r.comparison.tolerance.tolerance_pct).toBe(10);
  }, 60_000);

  it('a baseline without a histogram, or not JSON: exit 2 before any load', async () => {
    const old = cli.file('old.json', JSON.stringify({ requests: 10, successes: 10 }));
    const out = await cli.load('--url', fast.latencyUrl, ...rate, '--baseline', old);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('has no "histogram"');
    const junk = cli.file('junk.json', 'not json');
    const out2 = await cli.load('--url', fast.latencyUrl, ...rate, '--baseline', junk);
    expect(out2.code).toBe(2);
    expect(out2.stderr).toContain('is not JSON');
    const missing = await cli.load('--url', fast.latencyUrl, ...rate, '--baseline', `${cli.dir}/nope.json`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  }, 60_000);
});
