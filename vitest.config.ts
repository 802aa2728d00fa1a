import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Files that measure time or rates, wait on real timers or timeouts, or start real processes and
 * servers: they run one at a time, as every file did before (a neighbour's CPU load would distort
 * them), after the rest. Every other file is CPU-bound work with no clock in its assertions, so those
 * run one per core. A new file that asserts on time or spawns processes belongs in this list.
 */
const serial = [
  'test/browser/**',
  'src/modules/ab/cache.test.ts',
  'src/modules/control/cli/manipulator.test.ts',
  'src/modules/control/cli/sensor.test.ts',
  'src/modules/control/controller-state.test.ts',
  'src/modules/control/controller.test.ts',
  'src/modules/control/http/control.routes.test.ts',
  'src/modules/control/ingest.service.test.ts',
  'src/modules/control/leader.test.ts',
  'src/modules/control/manipulator-client.test.ts',
  'src/modules/devices/median.index.test.ts',
  'src/modules/devices/recalc.test.ts',
  'src/modules/latency/allowlist.test.ts',
  'src/modules/latency/capacity.experiments.test.ts',
  'src/modules/latency/capacity.test.ts',
  'src/modules/latency/cli/commands.test.ts',
  'src/modules/latency/cli/find-capacity.test.ts',
  'src/modules/latency/compare.test.ts',
  'src/modules/latency/engine/http1/http1.test.ts',
  'src/modules/latency/engine/load-run.test.ts',
  'src/modules/latency/engine/target.test.ts',
  'src/modules/latency/group-rate.test.ts',
  'src/modules/latency/group-states.test.ts',
  'src/modules/latency/group-stats.test.ts',
  'src/modules/latency/groups.test.ts',
  'src/modules/latency/http/experiments.routes.test.ts',
  'src/modules/latency/runner/recovery.test.ts',
  'src/modules/latency/runner/runner.test.ts',
  'src/modules/latency/runs.test.ts',
  'src/modules/latency/safety.test.ts',
  'src/modules/latency/segments.test.ts',
  'src/modules/latency/series-labels.test.ts',
  'src/modules/logs/cli/client.test.ts',
  'src/modules/logs/cli/commands.test.ts',
  'src/modules/logs/cli/syncer.app.test.ts',
  'src/modules/logs/cli/syncer.test.ts',
  'src/modules/logs/cursor.test.ts',
  'src/modules/logs/http/ingest.routes.test.ts',
  'src/platform/dir-lock.test.ts',
  'test/platform/cli.test.ts',
  'test/platform/data-dir.test.ts',
  'test/platform/jobs.test.ts',
  'test/platform/lifecycle.test.ts',
  'test/platform/recent-rates.test.ts',
  'test/platform/shutdown.test.ts',
  'test/platform/supervisor.test.ts',
];

const shared = {
  globalSetup: ['test/global-setup.ts'],
  setupFiles: ['test/setup.ts'],
  // Each worker loads the app's modules once, not once per file (~2 s a file); nothing in src keeps
  // module-level state, and test/setup.ts closes each file's apps.
  isolate: false,
  testTimeout: 30_000,
  hookTimeout: 60_000,
};
// `vitest run --exclude <glob>` (CI's PostgreSQL pass) reaches the root config only, not projects: pass it on.
const cliExclude = process.argv.flatMap((arg, i, all) =>
  arg === '--exclude' ? [all[i + 1]!] : arg.startsWith('--exclude=') ? [arg.slice('--exclude='.length)] : [],
);

/**
 * The test files that cannot reach a database: none of them builds the app, opens a test database,
 * uses a module's test support or starts a process (which would inherit DATABASE_URL). On PostgreSQL
 * they would test exactly what the PGlite run tested, so with DATABASE_URL set they are left out.
 */
function databaseFreeFiles(): string[] {
  const reaches = /helpers['"]|openDb|createApp|test-support|DATABASE_URL|child_process|bin\/telelab/;
  const root = fileURLToPath(new URL('.', import.meta.url));
  return ['src', 'test']
    .flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)),
    )
    .filter((f) => f.endsWith('.test.ts') && !reaches.test(readFileSync(join(root, f), 'utf8')));
}

const exclude = [
  'test/reliability/**',
  'node_modules/**',
  ...cliExclude,
  ...(process.env.DATABASE_URL ? databaseFreeFiles() : []),
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'parallel',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...exclude, ...serial],
          // CPU-bound files without timing assertions: one per core.
          maxWorkers: availableParallelism(),
        },
      },
      {
        test: {
          ...shared,
          name: 'serial',
          include: serial,
          exclude,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
