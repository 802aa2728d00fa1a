/** Runs `telelab load …` as a real process (exit codes, stdout) through a wrapper around commands.ts. */
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

function collect(child: ChildProcess): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

/** A scratch directory with the wrapper in it; `load(...args)` runs the command; `remove()` cleans up. */
export function loadCli() {
  const dir = mkdtempSync(join(tmpdir(), 'telelab-load-cli-'));
  const wrapper = join(dir, 'wrapper.mts');
  writeFileSync(
    wrapper,
    `import { loadCommand } from ${JSON.stringify(COMMANDS)};\n` +
      `await loadCommand().parseAsync(process.argv.slice(2), { from: 'user' });\n`,
  );
  return {
    dir,
    load: (...args: string[]) =>
      collect(spawn(TSX, [wrapper, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })),
    file: (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
