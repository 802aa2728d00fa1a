/**
 * The CLI as a user meets it: a real `telelab` process, its exit code and what it prints.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSpec } from '../../src/platform/config';

const ROOT = new URL('../../', import.meta.url);
const VERSION = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')).version as string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `telelab <args>` to completion with only the given telelab variables set. */
function telelab(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return run(['bin/telelab.js', ...args], env);
}

/** Runs `node <args>` in the checkout to completion with only the given telelab variables set. */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in configSpec)));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// Each test is its own process: run them side by side.
describe.concurrent('telelab CLI', () => {
  it('exits 2 naming the variable and its form when PORT is not a number', async () => {
    const r = await telelab(['serve'], { PORT: 'abc' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PORT="abc" is invalid: expected integer 0..65535');
    expect(r.stdout).not.toContain('http://');
  });

  it('lists every configuration problem in one go and hides secrets', async () => {
    const r = await telelab(['migrate'], { PORT: '-1', DATABASE_URL: 'mysql://root:hunter2@db/x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PORT="-1" is invalid');
    expect(r.stderr).toContain('DATABASE_URL=<hidden> is invalid: expected postgres://');
    expect(r.stderr).not.toContain('hunter2');
  });

  it('prints the configuration without echoing secrets', async () => {
    const r = await telelab(['config'], {
      PORT: '8123',
      TELELAB_API_TOKEN: 'tok-very-secret',
      DATABASE_URL: 'postgres://app:pa55word@db:5432/telelab',
    });
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed.PORT).toBe(8123);
    expect(printed.TELELAB_API_TOKEN).toBe('<hidden>');
    expect(printed.DATABASE_URL).toBe('<hidden>');
    expect(r.stdout).not.toContain('tok-very-secret');
    expect(r.stdout).not.toContain('pa55word');
  });

  it('prints the package version for --version', async () => {
    const r = await telelab(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('exits 2 with a clear message for an unknown command', async () => {
    const r = await telelab(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it('exits 2 with a clear message for an unknown flag', async () => {
    const r = await telelab(['serve', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--no-such-flag'");
  });

  it('shows a subcommand help and exits 0', async () => {
    const commands = ['serve', 'worker', 'migrate'];
    const runs = await Promise.all(commands.map((command) => telelab([command, '--help'])));
    runs.forEach((r, i) => {
      expect(r.code, commands[i]).toBe(0);
      expect(r.stdout, commands[i]).toContain(`Usage: telelab ${commands[i]}`);
    });
  });

  it('telelab load against a closed port exits 1 and says no request got an answer', async () => {
    const server = createServer();
    const port = await new Promise<number>((r) =>
      server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)),
    );
    await new Promise((r) => server.close(r)); // now nothing listens there
    const r = await telelab([
      'load',
      '--url',
      `http://127.0.0.1:${port}/`,
      '--users',
      '2',
      '--duration',
      '1',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no request got an HTTP answer .*refused/i);
  });

  it('the light commands start without the HTTP server or the database drivers', async () => {
    // A resolve hook records every package the compiled CLI (bin/telelab.js, what users run) loads.
    const dir = mkdtempSync(path.join(tmpdir(), 'telelab-loads-'));
    const log = path.join(dir, 'loaded.txt');
    const hooks = path.join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';\n` +
        `export async function resolve(s, c, next) { const r = await next(s, c); ` +
        `appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`,
    );
    const register = path.join(dir, 'register.mjs');
    writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    try {
      for (const command of ['sensor', 'manipulator', 'log-client', 'log-sync', 'load', 'latency-target']) {
        writeFileSync(log, '');
        const r = await run(['--import', register, 'bin/telelab.js', command, '--help']);
        expect(r.code, command).toBe(0);
        expect(r.stdout, command).toContain(`Usage: telelab ${command}`);
        const loaded = readFileSync(log, 'utf8');
        expect(loaded, command).toContain('/node_modules/commander/');
        expect(loaded, command).not.toMatch(
          /node_modules\/(fastify|@electric-sql|pg|pg-boss|drizzle-orm|undici)\//,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
