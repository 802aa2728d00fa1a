// CLI adapters for the control module's programs: `telelab sensor`, `telelab manipulator`, `telelab control-replay`.
// They parse flags, call the libraries and print; the root CLI attaches them with addCommand().
// The libraries are imported when a command runs, so `telelab --help` does not load them.
// Exit codes: 0 done, 1 the run failed (no reading accepted), 2 bad usage.
import { Command, Option } from 'commander';
import {
  EXIT,
  finiteNumber,
  integer,
  listenFailure,
  nonNegativeNumber,
  onShutdown,
  port,
  positiveNumber,
  serveUntilShutdown,
  usageErrorsExit2,
} from '../../../platform/cli-kit';
import type { ControlLogger } from '../manipulator-protocol';
import type { ReplayCliFlags } from './replay';
import type { SensorOptions, SensorProgress, SensorReport } from './sensor';
import type { MeanSchedule } from './sensor-schedule';

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Must not return; injected by tests. */
  exit: (code: number) => never;
}

const defaultIo = (): CommandIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  exit: (code) => process.exit(code),
});

/** Plain log lines for people: `<ISO time> <message>`; warnings marked and followed by their fields as JSON. */
function plainLogger(out: NodeJS.WritableStream, now: () => Date = () => new Date()): ControlLogger {
  const line = (text: string) => out.write(`${now().toISOString()} ${text}\n`);
  return {
    info: (_obj, msg) => line(msg),
    // Warnings carry their context (remote address, error code) so they can be acted on.
    warn: (obj, msg) => line(`WARN ${msg}${Object.keys(obj).length > 0 ? ` ${JSON.stringify(obj)}` : ''}`),
  };
}

/** The sensor's flags as commander parses them: the library's options in CLI units, and the output mode. */
type SensorFlags = Pick<
  SensorOptions,
  'instances' | 'rps' | 'target' | 'mean' | 'std' | 'seed' | 'maxInFlight'
> & {
  schedule?: string;
  duration?: number;
  ms?: boolean;
  json?: boolean;
  connections: number;
  pipelining: number;
};

export function sensorCommand(io: CommandIo = defaultIo()): Command {
  const cmd = new Command('sensor')
    .description(
      'Simulated sensors: each instance POSTs {"datetime","payload"} to <target>/sensor-data at an exact rate',
    )
    .option('--instances <n>', 'number of sensors', integer(1), 8)
    .option('--rps <n>', 'messages per second per sensor, evenly spread', positiveNumber, 300)
    .option('--target <url>', 'controller base URL', 'http://127.0.0.1:8000')
    .option('--mean <x>', 'mean of the normal payload distribution', finiteNumber, 100)
    .option('--std <x>', 'standard deviation of the payload distribution', nonNegativeNumber, 10)
    .option('--seed <n>', 'random seed (1..4294967295; sensor i uses seed + i); default random', integer(1))
    .option('--schedule <spec>', 'mean over time, e.g. "0:100,30:130" or repeating "0:100,30:130@60"')
    .option('--duration <seconds>', 'stop after this long (default: until Ctrl-C)', nonNegativeNumber)
    .option('--ms', 'add milliseconds to the datetime')
    .option('--json', 'print the summary as JSON (no progress line)')
    .option('--connections <n>', 'keep-alive connections per sensor (opened on demand)', integer(1), 64)
    .option('--pipelining <n>', 'requests in flight per connection', integer(1), 1)
    .option(
      '--max-in-flight <n>',
      'outstanding requests per sensor before sends wait (default connections x pipelining)',
      integer(1),
    )
    .action(async (flags: SensorFlags) => {
      const { runSensors } = await import('./sensor');
      const { parseSchedule } = await import('./sensor-schedule');
      let schedule: MeanSchedule | undefined;
      try {
        schedule = flags.schedule === undefined ? undefined : parseSchedule(flags.schedule);
      } catch (e) {
        cmd.error(
          `error: option '--schedule <spec>' argument '${flags.schedule}' is invalid. ${(e as Error).message}`,
          { exitCode: EXIT.USAGE, code: 'commander.invalidArgument' },
        );
      }
      const abort = new AbortController();
      const removeHandlers = onShutdown(() => abort.abort(), {
        onSecondSignal: () => io.exit(EXIT.INTERRUPTED),
      });
      const showProgress = !flags.json && io.stderr.isTTY === true;
      let report: SensorReport;
      try {
        report = await runSensors({
          instances: flags.instances,
          rps: flags.rps,
          target: flags.target,
          mean: flags.mean,
          std: flags.std,
          seed: flags.seed,
          schedule,
          durationMs: flags.duration === undefined ? undefined : Math.round(flags.duration * 1000),
          ms: flags.ms ?? false,
          maxInFlight: flags.maxInFlight,
          connections: flags.connections,
          pipelining: flags.pipelining,
          signal: abort.signal,
          onProgress: showProgress ? (p) => io.stderr.write(`\r\x1b[K${progressLine(p)}`) : undefined,
        });
      } catch (e) {
        if (e instanceof RangeError)
          cmd.error(`error: ${e.message}`, { exitCode: EXIT.USAGE, code: 'telelab.invalidArgument' });
        throw e;
      } finally {
        removeHandlers();
        if (showProgress) io.stderr.write('\n');
      }
      io.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : summary(report, flags.target));
      // Errors alone do not fail a long run (a controller restart is survivable); nothing accepted does.
      if (report.sent > 0 && report.ok === 0) process.exitCode = EXIT.FAILURE;
    });
  return usageErrorsExit2(cmd, io.exit);
}

function progressLine(p: SensorProgress): string {
  return (
    `${(p.elapsedMs / 1000).toFixed(0)}s  sent ${p.sent}  ${p.currentRps.toFixed(0)}/s  ok ${p.ok}` +
    `  http errors ${p.httpErrors}  errors ${p.errors}  late ${p.late}  in flight ${p.inFlight}`
  );
}

function summary(r: SensorReport, target: string): string {
  const statuses = Object.entries(r.statusCounts).map(([k, v]) => `${k}: ${v}`);
  const errors = Object.entries(r.errorCodes).map(([k, v]) => `${k}: ${v}`);
  return [
    `Sensors -> ${target} (seed ${r.seed})`,
    `  sent       ${r.sent} of ${r.scheduled} scheduled in ${(r.elapsedMs / 1000).toFixed(1)} s`,
    `  rate       ${r.achievedRps.toFixed(1)}/s (target ${r.targetRps}/s)`,
    `  late       ${r.late} (max lag ${r.maxLagMs.toFixed(1)} ms), unsent ${r.unsent}, abandoned ${r.abandoned}`,
    `  responses  ${statuses.join(', ') || 'none'}`,
    `  errors     ${errors.join(', ') || 'none'}`,
    '',
  ].join('\n');
}

interface ManipulatorFlags {
  host: string;
  port: number;
  json?: boolean;
}

export function manipulatorCommand(io: CommandIo = defaultIo()): Command {
  const cmd = new Command('manipulator')
    .description('TCP server that receives the controller\'s {"datetime","status"} commands and logs them')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port (0 = any free port)', port, 1234)
    .option('--json', 'log as JSON lines (pino)')
    .action(async (flags: ManipulatorFlags) => {
      const { startManipulator } = await import('./manipulator');
      const logger: ControlLogger = flags.json
        ? (await import('../../../platform/logger')).createLogger('info', 'manipulator')
        : plainLogger(io.stdout);
      let m: Awaited<ReturnType<typeof startManipulator>>;
      try {
        m = await startManipulator({ host: flags.host, port: flags.port, logger });
      } catch (e) {
        const line = listenFailure(e, flags.host, flags.port, 'choose another with --port <port>');
        if (line === null) throw e;
        io.stderr.write(`telelab manipulator: ${line}\n`);
        return io.exit(EXIT.FAILURE);
      }
      logger.info({ host: m.host, port: m.port }, `Manipulator listening on ${m.host}:${m.port}`);
      await serveUntilShutdown(
        () => {
          logger.info({}, 'Shutting down');
          return m.close().catch(() => {});
        },
        { onSecondSignal: () => io.exit(EXIT.INTERRUPTED) },
      );
    });
  return usageErrorsExit2(cmd, io.exit);
}

export function controlReplayCommand(io: CommandIo = defaultIo()): Command {
  const cmd = new Command('control-replay')
    .description(
      "Replay a period's stored sensor readings through a detector (POST /control/replay on a running server) " +
        'and compare its switches with the live controller',
    )
    .option('--api <url>', 'server base URL', 'http://127.0.0.1:8000')
    .option('--from <datetime>', 'period start, ISO 8601 (e.g. 2030-01-01T12:00:00Z)')
    .option('--to <datetime>', 'period end (default now)')
    .option('--last <minutes>', 'the last N minutes instead of --from/--to (default 10)', positiveNumber)
    .addOption(new Option('--detector <name>', 'ttest or cusum').choices(['ttest', 'cusum']).default('ttest'))
    .option('--alpha <p>', 'ttest: significance level (default: the live CONTROL_ALPHA)', positiveNumber)
    .option('--min-dwell <n>', 'ttest: decisions a status must hold', integer(0))
    .option('--arl <decisions>', 'cusum: target average run length (default 500)', positiveNumber)
    .option('--k <se>', 'cusum: reference value in standard errors (default 0.5)', positiveNumber)
    .option('--stationary-from <datetime>', 'start of a segment known to have no real change')
    .option('--stationary-to <datetime>', 'end of that segment (the false-switch rate is counted there)')
    .option('--decisions', 'also print every replayed decision with its reason')
    .option('--json', 'print the server answer as JSON')
    .action(async (flags: ReplayCliFlags) => {
      const { runReplayCli } = await import('./replay');
      process.exitCode = await runReplayCli(flags, io);
    });
  return usageErrorsExit2(cmd, io.exit);
}
