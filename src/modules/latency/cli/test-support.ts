/**
 * Runs the module's commands as real processes (exit codes, signals, stdout) through a tiny wrapper that
 * stands in for the root CLI: `wrapper.mts load …` / `wrapper.mts latency-target …`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const TSX = resolve('node_modules/.bin/tsx');
const COMMANDS = resolve('src/modules/latency/cli/commands.ts');

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A command still running this long after it started is killed (its outcome: code null), so that a
 * failing test (a run that never ends) reports what it printed and leaves no process behind. */
const KILL_AFTER_MS = 25_000;

export function collect(child: ChildProcess): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  // The whole group: tsx runs the command in a child process of its own.
  const killer = setTimeout(() => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, KILL_AFTER_MS);
  return new Promise((done) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      done({ code, stdout, stderr });
    }),
  );
}

/**
 * A scratch directory with the wrapper in it: `start(name, ...args)` spawns a command, `run` waits for
 * its outcome, `load(...args)` runs `load`; `startWith(env, ...)` / `runWith(env, ...)` change the
 * environment (an undefined value removes a variable); `file` writes a file there; `remove()` cleans up.
 */
export function latencyCli() {
  const dir = mkdtempSync(join(tmpdir(), 'telelab-load-cli-'));
  const wrapper = join(dir, 'wrapper.mts');
  writeFileSync(
    wrapper,
    `import { latencyTargetCommand, loadCommand } from ${JSON.stringify(COMMANDS)};\n` +
      `const [name, ...rest] = process.argv.slice(2);\n` +
      `const cmd = name === 'load' ? loadCommand() : latencyTargetCommand();\n` +
      `await cmd.parseAsync(rest, { from: 'user' });\n`,
  );
  const startWith = (env: Record<string, string | undefined>, ...args: string[]) =>
    spawn(TSX, [wrapper, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      detached: true, // a group of its own, which collect() can kill whole
    });
  const start = (...args: string[]) => startWith({}, ...args);
  return {
    dir,
    start,
    startWith,
    run: (...args: string[]) => collect(start(...args)),
    runWith: (env: Record<string, string | undefined>, ...args: string[]) => collect(startWith(env, ...args)),
    load: (...args: string[]) => collect(start('load', ...args)),
    file: (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
