/**
 * The latency module: latency/load experiments against HTTP targets, groups, live control
 * (start/pause/stop), HDR statistics. Runs execute in background processes (runner/runner.ts).
 */
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import { createTargetGuard, parseAllowlist, type Resolver } from './allowlist';
import { createCompareService } from './compare';
import { createExperimentsService } from './experiments.service';
import { createExperimentsStore } from './experiments.store';
import { createGroupsService } from './groups.service';
import { createGroupsStore } from './groups.store';
import { registerLatencyRoutes } from './http/routes';
import { createLatencyMetrics } from './metrics';
import { createRunner, DEFAULT_RUNNER_OPTIONS, type RunnerOptions } from './runner/runner';
import { createRunsStore } from './runs.store';

export interface LatencyModuleOptions {
  /** Resolves target host names (tests give names fixed addresses). Default: dns.lookup. */
  resolver?: Resolver;
  /** Lease, poll and sweep periods of the runner (tests shorten the lease). */
  runner?: Partial<Omit<RunnerOptions, 'rawCap'>>;
  /**
   * How far ahead the shared start of an experiment of several segments is set (default
   * SEGMENTS_START_DELAY_MS); tests in one process, where every segment is claimed at once, shorten it.
   */
  segmentsStartDelayMs?: number;
}

export function createLatencyModule(
  deps: Pick<ModuleDeps, 'config' | 'db' | 'jobs' | 'logger' | 'metrics' | 'clock'>,
  options: LatencyModuleOptions = {},
): TelelabModule {
  const { config, db } = deps;
  // A list the module cannot read must stop the start, not silently allow or refuse everything.
  const guard = createTargetGuard(parseAllowlist(config.LATENCY_ALLOWED_TARGETS), options.resolver);
  // The runner reports each second of a run; the gauge reads the runner at scrape time.
  const onSecond = createLatencyMetrics(deps.metrics, () => runner.activeCount());
  const runner = createRunner({
    runs: createRunsStore(db),
    jobs: deps.jobs,
    guard,
    logger: deps.logger,
    options: { ...DEFAULT_RUNNER_OPTIONS, ...options.runner, rawCap: config.LATENCY_RAW_RESULTS_CAP },
    onSecond,
  });
  const experimentsStore = createExperimentsStore(db);
  const experiments = createExperimentsService({
    experiments: experimentsStore,
    guard,
    caps: {
      maxUsers: config.LATENCY_MAX_USERS,
      maxRate: config.LATENCY_MAX_RATE,
      maxDurationSeconds: config.LATENCY_MAX_DURATION_SECONDS,
    },
    runner,
    clock: deps.clock,
    segmentsStartDelayMs: options.segmentsStartDelayMs,
  });
  const compare = createCompareService(experimentsStore);
  const groups = createGroupsService({
    db,
    groups: createGroupsStore(db),
    experiments: experimentsStore,
    service: experiments,
    clock: deps.clock,
  });

  return {
    name: 'latency',
    migrations: migrationSet('latency'),
    routes: (app) => registerLatencyRoutes(app, { experiments, groups, compare }),
    async start({ background }) {
      if (background) await runner.start();
    },
    stop: () => runner.stop(),
  };
}
