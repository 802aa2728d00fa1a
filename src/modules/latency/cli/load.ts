/** `telelab load`: parses the flags, builds the engine's options and runs it (or a capacity search). */
import { Command } from 'commander';
import {
  EXIT,
  nonNegativeNumber,
  positiveNumber,
  timeOption,
  usageErrorsExit2,
} from '../../../platform/cli-kit';
import type { ComparedRun } from '../compare';
import type { LoadOptions, LoadRun } from '../engine';
import { DEFAULT_TIMEOUT_MS } from '../engine/types';
import {
  checkUsersCap,
  header,
  type LoadFlags,
  positiveInt,
  rateStage,
  statusList,
  THRESHOLD_NAMES,
  targetOf,
  threshold,
} from './load-flags';
import { execute } from './load-report';

/** The run waits a second past the timeout for its last requests: that wait must fit in a timer too. */
const timeoutMs = timeOption('ms', { integer: true, headroomMs: 1000 });

export function loadCommand(): Command {
  return usageErrorsExit2(new Command('load'))
    .description(
      'Load an HTTP endpoint (closed model: N users; --rate: fixed arrival rate) and report latency',
    )
    .requiredOption('--url <url>', 'target URL')
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--header <header>', "request header 'Name: value' (repeatable)", header)
    .option('--body <body>', 'request body, or @file to read it from a file')
    .option('--users <n>', 'virtual users (closed model); with --rate: most requests in flight', positiveInt)
    .option('--duration <seconds>', 'how long to run (required unless --find-capacity)', timeOption('s'))
    .option(
      '--interval <seconds>',
      'pause of each user between a response and its next request',
      timeOption('s', { zero: true }),
      0,
    )
    .option(
      '--rate <rps>',
      'arrival-rate model: requests per second, independent of responses',
      positiveNumber,
    )
    .option(
      '--connections <n>',
      'sockets to the target (default: users, or min(in-flight cap, 100))',
      positiveInt,
    )
    .option('--pipelining <n>', 'HTTP/1.1 pipelining depth per socket', positiveInt)
    .option(
      '--threshold <name=value>',
      `fail (exit 99) unless it holds: ${THRESHOLD_NAMES.join(', ')}`,
      threshold,
    )
    .option('--success-status <codes>', 'statuses counted as success (default: 2xx)', statusList)
    .option('--timeout <ms>', 'connect / response / body timeout, each', timeoutMs, DEFAULT_TIMEOUT_MS)
    .option('--json', 'print one JSON summary instead of the table')
    .option('--abort-on-fail', 'with --threshold: stop as soon as one fails (checked every second; exit 99)')
    .option('--find-capacity', 'find the highest arrival rate at which every --slo holds (exit 99: none)')
    .option(
      '--slo <name=value>',
      `with --find-capacity (repeatable): ${THRESHOLD_NAMES.join(', ')}`,
      threshold,
    )
    .option('--start-rate <rps>', 'with --find-capacity: first rate of the ramp', positiveInt, 10)
    .option('--max-rate <rps>', 'with --find-capacity: highest rate tried', positiveInt, 50_000)
    .option('--window <seconds>', 'with --find-capacity: judged part of each step', timeOption('s'), 10)
    .option(
      '--warmup <seconds>',
      'with --find-capacity: unjudged start of each step',
      timeOption('s', { zero: true }),
      2,
    )
    .option('--baseline <file>', 'compare with a `load --json` summary (exit 99: significantly worse)')
    .option('--tolerance <pct>', 'with --baseline: change of p50/p90/p99 that counts', nonNegativeNumber, 10)
    .action(async (flags: LoadFlags, cmd: Command) => {
      await checkUsersCap(flags.users, cmd);
      if (flags.findCapacity) return findCapacityAction(flags, cmd);
      if (flags.duration === undefined)
        cmd.error("error: required option '--duration <seconds>' not specified");
      if (flags.rate === undefined && flags.users === undefined)
        cmd.error('error: --users or --rate is required');
      if (flags.abortOnFail && !flags.threshold)
        cmd.error(
          'error: --abort-on-fail needs at least one --threshold NAME=VALUE, e.g. --threshold p99_ms=200',
        );
      const opts: LoadOptions = {
        target: targetOf(flags, cmd),
        model: flags.rate === undefined ? 'closed' : 'arrival-rate',
        stages: [
          flags.rate === undefined
            ? { users: flags.users!, durationSeconds: flags.duration, intervalSeconds: flags.interval }
            : rateStage(flags.rate, flags.duration),
        ],
        timeoutMs: flags.timeout,
        connections: flags.connections,
        pipelining: flags.pipelining,
        maxInFlight: flags.rate === undefined ? undefined : flags.users,
        successStatuses: flags.successStatus,
        thresholds: flags.threshold,
      };
      const { LoadRun, LoadOptionsError } = await import('../engine');
      let baseline: ComparedRun | undefined;
      if (flags.baseline) {
        const { readBaseline } = await import('./baseline');
        baseline = await readBaseline(flags.baseline).catch((e: Error) => cmd.error(`error: ${e.message}`));
      }
      let loadRun: LoadRun;
      try {
        loadRun = new LoadRun(opts);
      } catch (e) {
        if (e instanceof LoadOptionsError) cmd.error(`error: ${e.message}`);
        throw e;
      }
      await execute(loadRun, flags, opts, baseline);
    });
}

/** `--find-capacity` (find-capacity.ts, loaded only then). */
async function findCapacityAction(flags: LoadFlags, cmd: Command): Promise<void> {
  if (!flags.slo)
    cmd.error('error: --find-capacity needs at least one --slo NAME=VALUE, e.g. --slo p99_ms=100');
  const [{ runCapacityCli }, { isServiceError }, { LoadOptionsError }] = await Promise.all([
    import('./find-capacity'),
    import('../../../platform/errors'),
    import('../engine'),
  ]);
  const target = targetOf(flags, cmd);
  try {
    process.exitCode = await runCapacityCli({
      target,
      slo: flags.slo,
      startRps: flags.startRate,
      maxRps: flags.maxRate,
      windowSeconds: flags.window,
      warmupSeconds: flags.warmup,
      timeoutMs: flags.timeout,
      successStatuses: flags.successStatus,
      connections: flags.connections,
      maxInFlight: flags.users,
      json: flags.json,
    });
  } catch (e) {
    if ((isServiceError(e) && e.kind === 'invalid_input') || e instanceof LoadOptionsError)
      cmd.error(`error: ${e.message}`);
    process.stderr.write(`telelab load: ${(e as Error).message}\n`);
    process.exitCode = EXIT.FAILURE;
  }
}
