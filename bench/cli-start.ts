/**
 * `npm run bench -- cli-start [--runs N] [--baseline REF]`: how long `telelab <command> --help` takes,
 * next to `node -e 0`, for the ways the CLI can run: compiled (bin/telelab.js, what users run) and from
 * source through tsx (`node --import tsx src/cli.ts`, as the tests do). With --baseline, a checkout of
 * that git ref (e.g. the commit before the CLI was compiled) is measured the same way, side by side.
 * Interleaved rounds, median of N; the rows are comparable within one run (the machine may be busy).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, loadAverage, log, markdownTable, ROOT, tempDir } from './_support';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const runs = Number(flag('--runs') ?? 7);
const baselineRef = flag('--baseline');
const COMMANDS = ['--help', 'sensor --help', 'load --help', 'log-sync --help', 'serve --help'];

interface Way {
  label: string;
  argv: (command: string) => string[];
  cwd: string;
}

function timeMs(argv: string[], cwd: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { cwd, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${argv.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ways: Way[] = [
  { label: 'compiled (bin/telelab.js)', argv: (c) => ['bin/telelab.js', ...c.split(' ')], cwd: ROOT },
  {
    label: 'source via tsx',
    argv: (c) => ['--import', 'tsx', 'src/cli.ts', ...c.split(' ')],
    cwd: ROOT,
  },
];
let cleanup = async () => {};
if (baselineRef) {
  const { dir, remove } = await tempDir('cli-baseline');
  const tree = join(dir, 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', tree, baselineRef], { cwd: ROOT, stdio: 'ignore' });
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  const bin = join(tree, 'bin', 'telelab.js');
  ways.push({
    label: `baseline ${baselineRef} (bin/telelab.js)`,
    argv: (c) => [bin, ...c.split(' ')],
    cwd: tree,
  });
  cleanup = async () => {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: ROOT, stdio: 'ignore' });
    await remove();
  };
}

try {
  // Warm up: builds dist/ if stale, fills tsx's transform cache, pages the files in.
  for (const w of ways) timeMs(w.argv('--help'), w.cwd);
  if (!existsSync(join(ROOT, 'dist', 'current.json'))) throw new Error('dist/ was not built');
  const samples = new Map<string, number[]>();
  const add = (key: string, ms: number) => samples.set(key, [...(samples.get(key) ?? []), ms]);
  for (let r = 0; r < runs; r++) {
    log(`round ${r + 1}/${runs}`);
    add('node -e 0', timeMs(['-e', '0'], ROOT));
    for (const c of COMMANDS) for (const w of ways) add(`${w.label}|${c}`, timeMs(w.argv(c), w.cwd));
  }
  const base = median(samples.get('node -e 0')!);
  const rows = COMMANDS.map((c) => [
    `telelab ${c}`,
    ...ways.map((w) => {
      const m = median(samples.get(`${w.label}|${c}`)!);
      return `${fmt(m)} ms (+${fmt(m - base)})`;
    }),
  ]);
  console.log(`\nCLI start, median of ${runs}; node -e 0: ${fmt(base)} ms; load average ${loadAverage()}\n`);
  console.log(
    markdownTable(
      ['command', ...ways.map((w) => w.label)],
      rows,
      ways.map((_, i) => i + 1),
    ),
  );
} finally {
  await cleanup();
}
