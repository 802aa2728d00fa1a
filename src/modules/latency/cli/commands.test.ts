import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LatencyTarget, startLatencyTarget } from '../engine/target';

// The commands run as real processes (exit codes, signals), through a tiny wrapper that stands in for
// the root CLI: `wrapper.mts load ...` / `wrapper.mts latency-target ...`.
const TSX = resolve('node_modules/.bin/tsx');
const COMMANDS = resolve('src/modules/latency/cli/commands.ts');
let dir: string;
let wrapper: string;
let target: LatencyTarget;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'telelab-load-'));
  wrapper = join(dir, 'wrapper.mts');
  writeFileSync(
    wrapper,
    `import { latencyTargetCommand, loadCommand } from ${JSON.stringify(COMMANDS)};\n` +
      `const [name, ...rest] = process.argv.slice(2);\n` +
      `const cmd = name === 'load' ? loadCommand() : latencyTargetCommand();\n` +
      `await cmd.parseAsync(rest, { from: 'user' });\n`,
  );
  target = await startLatencyTarget({ port: 0, delayMs: 5 });
});

afterAll(async () => {
  await target.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolveOutcome) =>
    child.on('close', (code) => resolveOutcome({ code, stdout, stderr })),
  );
}

const cli = (...args: string[]) =>
  collect(spawn(TSX, [wrapper, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));

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
    const out = await cli(
      'load',
      '--url',
      target.latencyUrl,
      '--users',
      '1',
      '--duration',
      '1',
      '--threshold',
      'p42=1',
    );
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
    const out = await cli(
      'load',
      '--url',
      target.latencyUrl,
      '--users',
      '1',
      '--duration',
      '1',
      '--abort-on-fail',
    );
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
    const child = spawn(TSX, [wrapper, 'latency-target', '--port', '0', '--delay-ms', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
