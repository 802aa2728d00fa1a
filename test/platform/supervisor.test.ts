/**
 * The supervisor behind `telelab up`: a crash is restarted, a failure that will repeat (a taken port, a
 * configuration error) is given up on with the reason from the child's own log, and stop() ends a child
 * that ignores SIGTERM.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lastLogLine, START_ATTEMPTS, supervise } from '../../src/platform/supervisor';

const dir = mkdtempSync(path.join(tmpdir(), 'telelab-supervisor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function child(name: string, script: string) {
  const said: string[] = [];
  const gaveUp: string[] = [];
  const logFile = path.join(dir, `${name}.log`);
  const c = supervise(
    { name, args: ['-e', script], logFile },
    (l) => said.push(l),
    (reason) => gaveUp.push(reason),
  );
  return { c, said, gaveUp, logFile };
}

describe.concurrent('supervise', () => {
  it('gives up on a child that fails at start again and again, naming the reason from its log', async () => {
    const { c, said, gaveUp, logFile } = child(
      'squatted',
      "console.error('listen EADDRINUSE: address already in use 127.0.0.1:8001'); process.exit(1)",
    );
    const outcome = await c.settled;
    expect(outcome.gaveUp).toBe(true);
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatch(`failed ${START_ATTEMPTS} times`);
    expect(gaveUp[0]).toContain('EADDRINUSE: address already in use 127.0.0.1:8001');
    expect(said.filter((l) => l.includes('restarting in'))).toHaveLength(START_ATTEMPTS - 1);
    expect(said.at(-1)).toContain('not restarting');
    expect(readFileSync(logFile, 'utf8').match(/EADDRINUSE/g)).toHaveLength(START_ATTEMPTS);
    // Stopping everything afterwards stops it again: a no-op, not a crash of the supervisor.
    await expect(c.stop(100)).resolves.toBeUndefined();
  }, 30_000);

  it('does not restart a child that exits with a usage or configuration error (exit 2)', async () => {
    const { c, said, gaveUp } = child(
      'misconfigured',
      'console.error(\'PORT="x" is invalid\'); process.exit(2)',
    );
    const outcome = await c.settled;
    expect(outcome.gaveUp).toBe(true);
    expect(gaveUp[0]).toContain('PORT="x" is invalid');
    expect(said.some((l) => l.includes('restarting in'))).toBe(false);
  });

  it('restarts a crashed child with backoff', async () => {
    const { c, said } = child('crashy', "setTimeout(() => { throw new Error('crash') }, 50)");
    await expect
      .poll(() => said.filter((l) => l.includes('restarting in 1s')).length, { timeout: 10_000 })
      .toBe(1);
    expect(said[0]).toContain('Error: crash');
    await c.stop(1000);
  });

  it('stop() kills a child that ignores SIGTERM after the grace period', async () => {
    const { c, logFile } = child(
      'stubborn',
      "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)",
    );
    await expect.poll(() => readFileSync(logFile, 'utf8')).toContain('ready');
    const pid = c.pid!;
    const t0 = Date.now();
    await c.stop(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(await c.settled).toEqual({ gaveUp: false });
  });
});

describe('lastLogLine', () => {
  it("reads pino's message and error from a JSON line, skipping stack frames", async () => {
    const { writeFileSync } = await import('node:fs');
    const f = path.join(dir, 'pino.log');
    writeFileSync(
      f,
      'plain first\n{"level":50,"msg":"cannot start","err":{"message":"database locked"}}\n    at foo (x.js:1:1)\n',
    );
    expect(lastLogLine(f)).toBe('cannot start: database locked');
  });
});
