/**
 * `telelab <command>`: parses arguments and calls into the app or a module's runner; nothing else.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 99 a failed threshold.
 */
import { Command, CommanderError } from 'commander';
import { createApp, VERSION } from './app';
import { manipulatorCommand, sensorCommand } from './modules/control/commands';
import { latencyTargetCommand, loadCommand } from './modules/latency/commands';
import { logClientCommand, logSyncCommand } from './modules/logs/commands';
import { ConfigError, configMarkdown, configSpec, loadConfig } from './platform/config';
import { openDb } from './platform/db';
import { DirLockedError } from './platform/dir-lock';
import { createLogger } from './platform/logger';
import { migrate, migrationSetsOnDisk } from './platform/migrate';
import { DEFAULT_DIST_DIR, ensureDashboardBuilt } from './platform/web';
import { runUp } from './up';

function config() {
  try {
    return loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** Runs until SIGINT/SIGTERM, then closes gracefully; a second signal exits at once. */
function untilSignal(close: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`\n${signal}: shutting down...\n`);
    close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

async function serve(role: 'serve' | 'api' | 'worker') {
  const cfg = config();
  const logger = createLogger(cfg.LOG_LEVEL);
  if (role !== 'worker') {
    await ensureDashboardBuilt(DEFAULT_DIST_DIR, { log: (m) => logger.info(m) }).catch((err) =>
      logger.warn({ err }, 'dashboard build failed; serving the API without it'),
    );
  }
  const app = await createApp({
    config: cfg,
    role,
    logger,
    ...(role !== 'worker' ? { dashboard: { distDir: DEFAULT_DIST_DIR } } : {}),
  });
  untilSignal(() => app.close());
  if (role === 'worker') {
    logger.info({ database: app.db.kind }, 'worker started: background work only');
    return;
  }
  const address = await app.listen();
  const base = address.replace('[::1]', 'localhost');
  process.stdout.write(
    [
      `telelab ${VERSION} (${role}) on ${app.db.kind === 'pglite' ? `embedded database in ${cfg.DATA_DIR}` : 'PostgreSQL'}`,
      `  API and dashboard  ${base}/`,
      `  OpenAPI docs       ${base}/docs`,
      `  health / ready     ${base}/healthz  ${base}/readyz`,
      `  metrics            ${base}/metrics`,
      '',
    ].join('\n'),
  );
}

const program = new Command('telelab')
  .description('Experiments and telemetry platform')
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run with --help for usage)');

program
  .command('serve')
  .description('API + background work (jobs, control loop, experiment runs)')
  .option('--api-only', 'serve HTTP only; leave background work to `telelab worker` processes')
  .action((opts: { apiOnly?: boolean }) => serve(opts.apiOnly ? 'api' : 'serve'));

program
  .command('up')
  .description(
    'The whole system: API + dashboard, manipulator, 8 sensors, log client, 2 log syncers, latency target',
  )
  .option('--no-manipulator', 'do not start the manipulator')
  .option('--no-sensors', 'do not start the 8 sensors')
  .option('--no-log-client', 'do not start the log client')
  .option('--no-log-sync', 'do not start the two log syncers')
  .option('--no-latency-target', 'do not start the latency target (nor the demo group)')
  .option('--no-demo', 'do not create the demo experiment group')
  .option('--verbose', "echo every child's output (always written to DATA_DIR/logs/<name>.log)")
  .action(async (opts: Record<string, boolean>) => {
    await ensureDashboardBuilt(DEFAULT_DIST_DIR, { log: (m) => process.stdout.write(`${m}\n`) }).catch(
      (err) => process.stderr.write(`dashboard build failed (${String(err)}); the API runs without it\n`),
    );
    const up = await runUp({
      config: config(),
      api: true,
      manipulator: opts.manipulator !== false,
      sensors: opts.sensors !== false,
      logClient: opts.logClient !== false,
      logSync: opts.logSync !== false,
      latencyTarget: opts.latencyTarget !== false,
      demo: opts.demo !== false,
      verbose: Boolean(opts.verbose),
    });
    untilSignal(() => up.stop());
  });

program
  .command('worker')
  .description('Background work only (jobs, control loop, experiment runs), for more machines')
  .action(() => serve('worker'));

program
  .command('migrate')
  .description('Apply database migrations and exit')
  .action(async () => {
    const cfg = config();
    const db = await openDb({ databaseUrl: cfg.DATABASE_URL, dataDir: cfg.DATA_DIR });
    try {
      const sets = migrationSetsOnDisk();
      await migrate(db, sets);
      process.stdout.write(`migrations applied (${sets.map((s) => s.module).join(', ') || 'none'})\n`);
    } finally {
      await db.close();
    }
  });

program
  .command('config')
  .description('Print every environment variable with its form and default')
  .option('--markdown', 'as a Markdown table (the README uses this)')
  .action((opts: { markdown?: boolean }) => {
    if (opts.markdown) process.stdout.write(`${configMarkdown()}\n`);
    else {
      // Secrets (the API token, a DATABASE_URL with its password) are never echoed, as in ConfigError.
      const secret = (k: string) => (configSpec as Record<string, { secret?: boolean }>)[k]?.secret === true;
      const shown = (k: string, v: unknown) => (v === undefined ? null : secret(k) ? '<hidden>' : v);
      process.stdout.write(`${JSON.stringify(config(), shown, 2)}\n`);
    }
  });

// The modules' own programs: the seeds' docker-compose services become commands.
program.addCommand(sensorCommand());
program.addCommand(manipulatorCommand());
program.addCommand(logClientCommand());
program.addCommand(logSyncCommand());
program.addCommand(loadCommand());
program.addCommand(latencyTargetCommand());

/** Unknown commands, unknown flags and bad values exit 2 with commander's message. */
function exitTwoOnUsageErrors(cmd: Command): void {
  cmd.exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
    // Bare `telelab` (no command) is a usage error; `telelab help` is not.
    if (err.code === 'commander.help') process.exit(process.argv.length > 2 ? 0 : 2);
    process.exit(2);
  });
  for (const sub of cmd.commands) exitTwoOnUsageErrors(sub);
}
exitTwoOnUsageErrors(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(2);
  if (e instanceof DirLockedError || e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(e instanceof ConfigError ? 2 : 1);
  }
  process.stderr.write(`telelab: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
}
