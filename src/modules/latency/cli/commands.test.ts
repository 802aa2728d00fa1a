import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
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

  it('refuses --users above LATENCY_MAX_USERS (default 1000) with exit 2, naming the limit', async () => {
    const out = await commands.runWith(
      { LATENCY_MAX_USERS: undefined },
      ...['load', '--url', target.latencyUrl, '--users', '5000000', '--duration', '2'],
    );
    expect(out.code).toBe(2);
    const [message] = out.stderr.split('\n');
    expect(message).toMatch(/--users 5000000 .*1000.*LATENCY_MAX_USERS/);
  });

  it('honours a lower LATENCY_MAX_USERS, also for --rate (requests in flight)', async () => {
    const limited = (...args: string[]) => commands.runWith({ LATENCY_MAX_USERS: '3' }, ...args);
    const above = await limited(...['load', '--url', target.latencyUrl, '--users', '4', '--duration', '0.2']);
    expect(above.code).toBe(2);
    expect(above.stderr).toMatch(/--users 4 .*3.*LATENCY_MAX_USERS/);
    const rate = await limited(
      ...['load', '--url', target.latencyUrl, '--rate', '10', '--users', '4', '--duration', '0.2'],
    );
    expect(rate.code).toBe(2);
    const at = await limited(...['load', '--url', target.latencyUrl, '--users', '3', '--duration', '0.2']);
    expect(at.code, at.stderr).toBe(0);
  });

  it.each([
    ['--duration', '1e12'],
    ['--duration', '100000000'],
    ['--interval', '2147484'],
    ['--timeout', '2147483647'],
  ])('refuses %s %s, longer than a timer holds, with exit 2 naming the maximum', async (flag, value) => {
    const out = await cli(
      ...['load', '--url', target.latencyUrl, '--users', '1', '--duration', '1', flag, value],
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`'${flag}`);
    expect(out.stderr).toMatch(/at most \d+/);
    expect(out.stderr).not.toContain('TimeoutOverflowWarning');
  });

  it('refuses --window longer than a timer holds with --find-capacity', async () => {
    const out = await cli(
      ...['load', '--url', target.latencyUrl, '--find-capacity', '--slo', 'p99_ms=100'],
      ...['--window', '3000000'],
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/'--window .*at most \d+/);
  });

  it('prints dashes for latency when no request got an answer, and exits 1', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, 'close');
    const out = await cli('load', '--url', `http://127.0.0.1:${port}/`, '--users', '1', '--duration', '0.3');
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^latency ms\s+min —\s+mean —\s+p50 —.*max —$/m);
    expect(out.stdout).not.toContain('0.00');
  });

  it('Ctrl-C stops the run, prints the summary saying it was interrupted, and exits 130', async () => {
    const slow = await startLatencyTarget({ port: 0, delayMs: 20 });
    try {
      const child = commands.start('load', '--url', slow.latencyUrl, '--users', '2', '--duration', '30');
      const outcome = collect(child);
      await waitUntil(() => slow.served > 0);
      child.kill('SIGINT');
      const out = await outcome;
      expect(out.code).toBe(130);
      expect(out.stdout).toMatch(/^model\s+closed, 2 users, interval 0s, 30s$/m);
      expect(out.stdout).toMatch(/^interrupted\s+by SIGINT after \d+\.\ds of the planned 30s$/m);
    } finally {
      await slow.close();
    }
  });

  it('a second Ctrl-C while the run waits for its requests leaves at once with exit 130', async () => {
    // A target that never answers: after the first Ctrl-C the run waits for its request (--timeout).
    const silent = createHttpServer(() => {});
    let received = 0;
    silent.on('request', () => received++);
    await once(silent.listen(0, '127.0.0.1'), 'listening');
    const { port } = silent.address() as AddressInfo;
    try {
      const child = commands.start(
        ...['load', '--url', `http://127.0.0.1:${port}/`, '--users', '1', '--duration', '30'],
        ...['--timeout', '600000'],
      );
      const outcome = collect(child);
      await waitUntil(() => received > 0);
      child.kill('SIGINT');
      // The same signal within a second counts as one press delivered twice (npm forwards it).
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGINT');
      const out = await outcome;
      expect(out.code).toBe(130);
      expect(out.stdout).toBe('');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('exits 2 without --users or --rate', async () => {
    const out = await cli('load', '--url', target.latencyUrl, '--duration', '1');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--users or --rate is required/);
  });
});

async function waitUntil(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 20));
}

describe('telelab latency-target', () => {
  it('a port in use: one line naming the port and --port, exit 1', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as AddressInfo;
    try {
      const out = await cli('latency-target', '--port', String(port));
      expect(out.code).toBe(1);
      expect(out.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use.*--port`)),
      ]);
    } finally {
      taken.close();
    }
  });

  it('refuses a --delay-ms longer than a timer holds with exit 2', async () => {
    const out = await cli('latency-target', '--port', '0', '--delay-ms', '3000000000');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/'--delay-ms .*at most \d+/);
  });

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
