/**
 * `telelab <command>`: parses arguments and lazily loads the code of the one command that runs, so
 * `--help` and the light programs (sensor, manipulator, load, …) start without the HTTP server,
 * the database drivers or other modules' code.
 * Exit codes (platform/cli-kit.ts): 0 ok, 1 runtime failure, 2 usage or configuration error,
 * 99 a failed threshold, 130 a second Ctrl-C or a `load` stopped by Ctrl-C.
 */
import { Command, CommanderError } from 'commander';
import { controlReplayCommand, manipulatorCommand, sensorCommand } from './modules/control/cli/commands';
import { latencyTargetCommand, loadCommand } from './modules/latency/cli/commands';
import { logClientCommand, logSyncCommand } from './modules/logs/cli/commands';
import { EXIT, exitWithParentUntilWatched, usageErrorsExit2 } from './platform/cli-kit';
import { ConfigError, configMarkdown, configSpec, loadConfig } from './platform/config';
import { DirLockedError } from './platform/dir-lock';
import { VERSION } from './platform/version';

exitWithParentUntilWatched();

function config() {
  try {
    return loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(EXIT.USAGE);
    }
    throw e;
  }
}

const program = new Command('telelab')
  .description('Experiments and telemetry platform')
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run with --help for usage)');

program
  .command('serve')
  .description('API + background work (jobs, control loop, experiment runs)')
  .option('--api-only', 'serve HTTP only; leave background work to `telelab worker` processes')
  .action(async (opts: { apiOnly?: boolean }) => {
    const cfg = config(); // a bad variable is reported before the server's code is even loaded
    await (await import('./serve')).serve(cfg, opts.apiOnly ? 'api' : 'serve');
  });

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
    const cfg = config();
    const { upCommand } = await import('./up');
    // Every child has exited by now; nothing else (keep-alive sockets, timers) may hold the exit.
    process.exit(
      await upCommand({
        config: cfg,
        api: true,
        manipulator: opts.manipulator !== false,
        sensors: opts.sensors !== false,
        logClient: opts.logClient !== false,
        logSync: opts.logSync !== false,
        latencyTarget: opts.latencyTarget !== false,
        demo: opts.demo !== false,
        verbose: Boolean(opts.verbose),
      }),
    );
  });

program
  .command('worker')
  .description('Background work only (jobs, control loop, experiment runs), for more machines')
  .action(async () => {
    const cfg = config();
    await (await import('./serve')).serve(cfg, 'worker');
  });

program
  .command('migrate')
  .description('Apply database migrations and exit')
  .action(async () => {
    const cfg = config();
    const [{ openDb }, { migrate, migrationSetsOnDisk }] = await Promise.all([
      import('./platform/db'),
      import('./platform/migrate'),
    ]);
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
program.addCommand(controlReplayCommand());
program.addCommand(logClientCommand());
program.addCommand(logSyncCommand());
program.addCommand(loadCommand());
program.addCommand(latencyTargetCommand());

usageErrorsExit2(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(EXIT.USAGE);
  if (e instanceof DirLockedError || e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(e instanceof ConfigError ? EXIT.USAGE : EXIT.FAILURE);
  }
  process.stderr.write(`telelab: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(EXIT.FAILURE);
}
