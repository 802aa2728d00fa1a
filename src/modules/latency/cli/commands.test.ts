import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LatencyTarget, startLatencyTarget } from '../engine/target';
import { collect, latencyCli } from './test-support';

let commands: ReturnType<typeof latencyCli>;
let target: LatencyTarget;

beforeAll(async () => {
  commands = latencyCli();
  target = await startLatencyTarget({ port: 0, delayMs: 5 });
});

afterAll(async () => {
  await target.close();
  commands.remove();
});

const cli = (...args: string[]) => commands.run(...args);
/** One user for one second: the flags the bad-flag cases add to. */
const oneUserOneSecond = () => ['load', '--url', target.latencyUrl, '--users', '1', '--duration', '1'];

describe('telelab load', () => {
  it('exits 99 and reports the failed check when a threshold fails', async () => {
    const url = target.latencyUrl;
    const out = await cli(
      'load',
      '--url',
      url,
      '--users',
      '2',
      '--duration',
      '0.5',
      '--threshold',
      'p50_ms=1',
      '--json',
    );
    expect(out.code).toBe(99);
    const summary = JSON.parse(out.stdout);
    expect(summary.requests).toBeGreaterThan(10);
    expect(summary.thresholds.passed).toBe(false);
    expect(summary.thresholds.checks[0]).toMatchObject({ name: 'p50_ms', limit: 1, passed: false });
  });

  it('exits 0 and prints the summary table when the thresholds hold', async () => {
    const out = await cli(
      'load',
      ...['--url', target.latencyUrl, '--rate', '50', '--duration', '0.5'],
      ...['--threshold', 'p99_ms=2000', '--threshold', 'success_rate=100', '--header', 'X-Test: 1'],
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^requests\s+25 in /m);
    expect(out.stdout).toMatch(/latency ms \(from schedule\)\s+min /);
    expect(out.stdout).toMatch(/threshold\s+success_rate >= 100: 100\s+PASS/);
  });

  it('exits 2 on a bad flag value', async () => {
    const out = await cli('load', '--url', target.latencyUrl, '--users', 'many', '--duration', '1');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--users.*must be an integer > 0/);
  });

  it('exits 2 on an unknown threshold name', async () => {
    const out = await cli(...oneUserOneSecond(), '--threshold', 'p42=1');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/NAME one of p50_ms/);
  });

  it('--abort-on-fail stops at the first second a threshold fails, and exits 99', async () => {
    const started = Date.now();
    const out = await cli(
      ...['load', '--url', target.latencyUrl, '--users', '2', '--duration', '30'],
      ...['--threshold', 'p50_ms=1', '--abort-on-fail', '--json'],
    );
    expect(out.code).toBe(99);
    // A 30 s run stopped after its first second (plus the process start).
    expect(Date.now() - started).toBeLessThan(15_000);
    const summary = JSON.parse(out.stdout);
    expect(summary.state).toBe('stopped');
    expect(summary.activeMs).toBeLessThan(5000);
    expect(summary.thresholds.checks[0]).toMatchObject({ name: 'p50_ms', limit: 1, passed: false });
  });

  it('--abort-on-fail without a threshold exits 2', async () => {
    const out = await cli(...oneUserOneSecond(), '--abort-on-fail');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--abort-on-fail needs at least one --threshold/);
  });

  it('exits 2 without --users or --rate', async () => {
    const out = await cli('load', '--url', target.latencyUrl, '--duration', '1');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--users or --rate is required/);
  });
});

describe('telelab latency-target', () => {
  it('serves pong until SIGTERM, then exits 0', async () => {
    const child = commands.start('latency-target', '--port', '0', '--delay-ms', '1');
    const outcome = collect(child);
    const url = await new Promise<string>((ok) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = /listening on (\S+)/.exec(String(d));
        if (m) ok(m[1]!);
      });
    });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: 'pong' });
    expect((await fetch(url.replace('/api/latency', '/other'))).status).toBe(404);
    child.kill('SIGTERM');
    expect((await outcome).code).toBe(0);
  });
});
