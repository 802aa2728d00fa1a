/**
 * latency module (seed 000): latency/load experiments against HTTP targets, groups, live control
 * (start/pause/stop), HDR statistics. Runs execute in background processes (runner.ts).
 */
import type { App } from '../../platform/http';
import { counter, gauge } from '../../platform/metrics';
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import { createTargetGuard, parseAllowlist, type Resolver } from './allowlist';
import { createCompareService } from './compare';
import { compareRoutes } from './compare.routes';
import { experimentsRoutes } from './experiments.routes';
import { createExperimentsService } from './experiments.service';
import { createExperimentsStore } from './experiments.store';
import { groupsRoutes } from './groups.routes';
import { createGroupsService } from './groups.service';
import { createGroupsStore } from './groups.store';
import { createRunner, DEFAULT_RUNNER_OPTIONS, type RunnerOptions } from './runner';
import { createRunsStore } from './runs.store';

export interface LatencyModuleOptions {
  /** Resolves target host names (tests give names fixed addresses). Default: dns.lookup. */
  resolver?: Resolver;
  /** Lease, poll and sweep periods of the runner (tests shorten the lease). */
  runner?: Partial<Omit<RunnerOptions, 'rawCap'>>;
}

/** The seed's routes at the root, and under /api where the original mounted them. */
const PREFIXES = ['', '/api'];

export function createLatencyModule(
  deps: Pick<ModuleDeps, 'config' | 'db' | 'jobs' | 'logger' | 'metrics' | 'clock'>,
  options: LatencyModuleOptions = {},
): TelelabModule {
  const { config, db } = deps;
  // A list the module cannot read must stop the start, not silently allow or refuse everything.
  const guard = createTargetGuard(parseAllowlist(config.LATENCY_ALLOWED_TARGETS), options.resolver);
  const requests = counter(
    deps.metrics,
    'telelab_latency_requests_total',
    'Requests sent by experiment runs',
    ['outcome'],
  );
  const runner = createRunner({
    runs: createRunsStore(db),
    jobs: deps.jobs,
    guard,
    logger: deps.logger,
    options: { ...DEFAULT_RUNNER_OPTIONS, ...options.runner, rawCap: config.LATENCY_RAW_RESULTS_CAP },
    onSecond: (b) => {
      requests.inc({ outcome: 'success' }, b.successes);
      requests.inc({ outcome: 'failure' }, b.failures);
    },
  });
  gauge(
    deps.metrics,
    'telelab_latency_runs_active',
    'Experiment runs executing in this process',
    [],
    function () {
      this.set(runner.activeCount());
    },
  );

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
    async routes(app) {
      for (const prefix of PREFIXES) {
        await app.register(
          async (scope) => {
            experimentsRoutes(scope as App, experiments, { prefix });
            groupsRoutes(scope as App, groups, { prefix });
            compareRoutes(scope as App, compare, { prefix });
          },
          { prefix },
        );
      }
    },
    async start({ background }) {
      if (background) await runner.start();
    },
    stop: () => runner.stop(),
  };
}
