// CLI adapters for the latency module: `telelab load` and `telelab latency-target`. The engine and the
// target are imported when a command runs, so `telelab --help` does not load them.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import {
  EXIT,
  nonNegativeNumber,
  onShutdown,
  port,
  positiveNumber,
  usageErrorsExit2,
} from '../../platform/cli-kit';
import type { ComparedRun } from './compare';
import type { LoadOptions, LoadRun, LoadStage, LoadSummary, SecondBucket, Thresholds } from './engine';
import { DEFAULT_TIMEOUT_MS } from './engine.types';

/** `telelab load` exits with this when a threshold fails (k6 uses 99 too). */
export const EXIT_THRESHOLD_FAILED = EXIT.THRESHOLD;
export const EXIT_USAGE = EXIT.USAGE;
export const EXIT_FATAL = EXIT.FAILURE;

const THRESHOLD_NAMES = ['p50_ms', 'p90_ms', 'p99_ms', 'mean_ms', 'success_rate', 'error_rate'] as const;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be an integer > 0');
  return n;
}

function header(value: string, acc: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf(':');
  if (i <= 0) throw new InvalidArgumentError("expected 'Name: value'");
  return { ...acc, [value.slice(0, i).trim()]: value.slice(i + 1).trim() };
}

function threshold(value: string, acc: Thresholds = {}): Thresholds {
  const [name, raw] = value.split('=', 2);
  if (!THRESHOLD_NAMES.includes(name as (typeof THRESHOLD_NAMES)[number]) || raw === undefined) {
    throw new InvalidArgumentError(`expected NAME=VALUE with NAME one of ${THRESHOLD_NAMES.join(', ')}`);
  }
  const limit = Number(raw);
  if (!Number.isFinite(limit) || limit < 0) throw new InvalidArgumentError('the limit must be a number >= 0');
  return { ...acc, [name as keyof Thresholds]: limit };
}

function statusList(value: string): number[] {
  const list = value.split(',').map(Number);
  if (list.some((s) => !Number.isInteger(s) || s < 100 || s > 999)) {
    throw new InvalidArgumentError('expected HTTP status codes, e.g. 200,204');
  }
  return list;
}

interface LoadFlags {
  url: string;
  method: string;
  header?: Record<string, string>;
  body?: string;
  users?: number;
  /** Absent only with --find-capacity (checked first thing). */
  duration?: number;
  interval: number;
  rate?: number;
  connections?: number;
  pipelining?: number;
  threshold?: Thresholds;
  successStatus?: number[];
  timeout: number;
  json?: boolean;
  abortOnFail?: boolean;
  findCapacity?: boolean;
  slo?: Thresholds;
  startRate: number;
  maxRate: number;
  window: number;
  warmup: number;
  baseline?: string;
  tolerance: number;
}

/** An arrival rate as a stage: `users / intervalSeconds` per second, exact for fractional rates too. */
function rateStage(rate: number, durationSeconds: number): LoadStage {
  return Number.isInteger(rate)
    ? { users: rate, durationSeconds, intervalSeconds: 1 }
    : { users: Math.round(rate * 1000), durationSeconds, intervalSeconds: 1000 };
}

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
    .option('--duration <seconds>', 'how long to run (required unless --find-capacity)', positiveNumber)
    .option(
      '--interval <seconds>',
      'pause of each user between a response and its next request',
      nonNegativeNumber,
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
    .option('--timeout <ms>', 'connect / response / body timeout, each', positiveInt, DEFAULT_TIMEOUT_MS)
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
    .option('--window <seconds>', 'with --find-capacity: judged part of each step', positiveNumber, 10)
    .option('--warmup <seconds>', 'with --find-capacity: unjudged start of each step', nonNegativeNumber, 2)
    .option('--baseline <file>', 'compare with a `load --json` summary (exit 99: significantly worse)')
    .option('--tolerance <pct>', 'with --baseline: change of p50/p90/p99 that counts', nonNegativeNumber, 10)
    .action(async (flags: LoadFlags, cmd: Command) => {
      if (flags.findCapacity) return findCapacityAction(flags, cmd);
      if (flags.duration === undefined)
        cmd.error("error: required option '--duration <seconds>' not specified");
      if (flags.rate === undefined && flags.users === undefined)
        cmd.error('error: --users or --rate is required');
      if (flags.abortOnFail && !flags.threshold)
        cmd.error(
          'error: --abort-on-fail needs at least one --threshold NAME=VALUE, e.g. --threshold p99_ms=200',
        );
      let body: string | Buffer | undefined = flags.body;
      if (body?.startsWith('@')) {
        try {
          body = readFileSync(body.slice(1));
        } catch (e) {
          cmd.error(`error: cannot read the body file: ${(e as Error).message}`);
        }
      }
      const opts: LoadOptions = {
        target: { url: flags.url, method: flags.method, headers: flags.header, body: body ?? null },
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
      const [{ LoadRun }, { isServiceError }] = await Promise.all([
        import('./engine'),
        import('../../platform/errors'),
      ]);
      let baseline: ComparedRun | undefined;
      if (flags.baseline) {
        const { readBaseline } = await import('./compare.cli');
        baseline = await readBaseline(flags.baseline).catch((e: Error) => cmd.error(`error: ${e.message}`));
      }
      let loadRun: LoadRun;
      try {
        loadRun = new LoadRun(opts);
      } catch (e) {
        if (isServiceError(e) && e.status === 400) cmd.error(`error: ${e.message}`);
        throw e;
      }
      await execute(loadRun, flags, opts, baseline);
    });
}

/** `--find-capacity` (capacity.cli.ts, loaded only then). */
async function findCapacityAction(flags: LoadFlags, cmd: Command): Promise<void> {
  if (!flags.slo)
    cmd.error('error: --find-capacity needs at least one --slo NAME=VALUE, e.g. --slo p99_ms=100');
  const [{ runCapacityCli }, { isServiceError }] = await Promise.all([
    import('./capacity.cli'),
    import('../../platform/errors'),
  ]);
  let body: string | Buffer | undefined = flags.body;
  if (body?.startsWith('@')) {
    try {
      body = readFileSync(body.slice(1));
    } catch (e) {
      cmd.error(`error: cannot read the body file: ${(e as Error).message}`);
    }
  }
  try {
    process.exitCode = await runCapacityCli({
      target: { url: flags.url, method: flags.method, headers: flags.header, body: body ?? null },
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
    if (isServiceError(e) && e.status === 400) cmd.error(`error: ${e.message}`);
    process.stderr.write(`telelab load: ${(e as Error).message}\n`);
    process.exitCode = EXIT_FATAL;
  }
}

async function execute(
  loadRun: LoadRun,
  flags: LoadFlags,
  opts: LoadOptions,
  baseline?: ComparedRun,
): Promise<void> {
  const live = !flags.json && process.stderr.isTTY === true;
  const onSecond = (b: SecondBucket) => process.stderr.write(`\r\x1b[2K${progressLine(b, loadRun, opts)}`);
  if (live) loadRun.on('second', onSecond);
  // --abort-on-fail: the thresholds are checked on the totals every second; the first failure stops
  // the run, and the summary (with the failed check) is printed as for a run that ended.
  const abortOnFail = () => {
    if (loadRun.snapshot().thresholds?.passed === false) void loadRun.stop();
  };
  if (flags.abortOnFail) loadRun.on('second', abortOnFail);
  // First Ctrl-C: stop and still print the summary; a second one leaves at once.
  const removeHandlers = onShutdown(() => void loadRun.stop());
  try {
    const result = await loadRun.start();
    const { summary } = result;
    loadRun.off('second', onSecond);
    if (live) process.stderr.write('\r\x1b[2K');
    // The HDR histogram goes into --json so that the output can be a later run's --baseline.
    const [{ encodeHistogram }, cmp] = await Promise.all([
      import('../../stats/histogram'),
      baseline ? import('./compare.cli') : null,
    ]);
    const candidate = {
      histogram: result.histogram,
      requests: summary.requests,
      successes: summary.successes,
    };
    const comparison = baseline && cmp ? cmp.compareWithBaseline(baseline, candidate, flags.tolerance) : null;
    if (flags.json)
      process.stdout.write(
        `${JSON.stringify({
          target: opts.target.url,
          stages: opts.stages,
          ...summary,
          histogram: encodeHistogram(result.histogram),
          ...(baseline ? { comparison } : {}),
        })}\n`,
      );
    else {
      process.stdout.write(formatSummary(summary, flags, opts));
      if (comparison && cmp) process.stdout.write(cmp.formatComparison(comparison));
    }
    if (summary.thresholds && !summary.thresholds.passed) process.exitCode = EXIT_THRESHOLD_FAILED;
    if (comparison?.verdict === 'worse') process.exitCode = EXIT_THRESHOLD_FAILED;
    // Not one HTTP answer (refused, unresolvable, all timed out): the target was not there, whatever
    // the thresholds say. A CI job must not pass against a dead target.
    if (Object.keys(summary.statusCodes).length === 0) {
      process.stderr.write(
        `telelab load: no request got an HTTP answer from ${opts.target.url} (${counts(summary.failuresByKind)})\n`,
      );
      process.exitCode = EXIT_FATAL;
    }
  } catch (e) {
    process.stderr.write(`telelab load: ${(e as Error).message}\n`);
    process.exitCode = EXIT_FATAL;
  } finally {
    removeHandlers();
  }
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const counts = (rec: Record<string, number>) =>
  Object.entries(rec)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ') || '-';

function progressLine(b: SecondBucket, loadRun: LoadRun, opts: LoadOptions): string {
  const p = loadRun.progress();
  const rps = b.durationMs > 0 ? Math.round((b.requests * 1000) / b.durationMs) : 0;
  // The second's own stage (the run may already have moved past its last one when it is reported).
  const stage = Math.min(b.stageIndex, p.stageCount - 1);
  const stageSeconds = (opts.stages[stage]?.durationSeconds ?? 0).toString();
  const elapsed = Math.min(b.elapsedInStageMs / 1000, Number(stageSeconds));
  return (
    `stage ${stage + 1}/${p.stageCount} ${elapsed.toFixed(0)}/${stageSeconds}s` +
    `  ${rps} req/s  p50 ${ms(b.latency.p50)} ms  p99 ${ms(b.latency.p99)} ms  failures ${b.failures}` +
    (b.late || b.dropped ? `  late ${b.late}  dropped ${b.dropped}` : '')
  );
}

function formatSummary(s: LoadSummary, flags: LoadFlags, opts: LoadOptions): string {
  const l = s.latency;
  const latencyRow = (x: typeof l) =>
    `min ${ms(x.min)}  mean ${ms(x.mean)}  p50 ${ms(x.p50)}  p90 ${ms(x.p90)}  p99 ${ms(x.p99)}  p99.9 ${ms(x.p999)}  max ${ms(x.max)}`;
  const stage = opts.stages[0]!;
  const shape =
    s.model === 'closed'
      ? `closed, ${stage.users} users, interval ${stage.intervalSeconds}s`
      : `arrival rate ${flags.rate}/s`;
  const rows: [string, string][] = [
    ['target', `${flags.method.toUpperCase()} ${flags.url}`],
    ['model', `${shape}, ${stage.durationSeconds}s`],
    ['requests', `${s.requests} in ${(s.activeMs / 1000).toFixed(1)}s (${s.rps} req/s)`],
    ['success rate', `${s.successRate} %  (no response: ${s.errorRate} %)`],
    ['status codes', counts(s.statusCodes)],
    ['failures', counts(s.failuresByKind)],
    [s.model === 'closed' ? 'latency ms' : 'latency ms (from schedule)', latencyRow(l)],
  ];
  if (s.rawLatency) rows.push(['latency ms (from send)', latencyRow(s.rawLatency)]);
  if (s.model === 'arrival-rate') rows.push(['late / dropped', `${s.late} / ${s.dropped}`]);
  for (const c of s.thresholds?.checks ?? []) {
    const op = c.name === 'success_rate' ? '>=' : '<=';
    rows.push([
      `threshold`,
      `${c.name} ${op} ${c.limit}: ${c.actual ?? 'n/a'}  ${c.passed ? 'PASS' : 'FAIL'}`,
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

interface TargetFlags {
  port: number;
  host: string;
  delayMs: number;
  jitterMs: number;
  stallEveryMs?: number;
  stallMs?: number;
}

export function latencyTargetCommand(): Command {
  return usageErrorsExit2(new Command('latency-target'))
    .description('Run the original\'s target server: GET /api/latency -> {"message":"pong"} after a delay')
    .option('--port <port>', 'port to listen on (0: any free port)', port, 8080)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--delay-ms <ms>', 'delay before each answer', nonNegativeNumber, 0)
    .option('--jitter-ms <ms>', 'extra uniform random delay, 0..J', nonNegativeNumber, 0)
    .option('--stall-every-ms <ms>', 'after this much normal service, stall one answer', positiveNumber)
    .option('--stall-ms <ms>', 'how long a stalled answer takes', positiveNumber)
    .action(async (flags: TargetFlags) => {
      const { startLatencyTarget } = await import('./target');
      const target = await startLatencyTarget(flags);
      process.stdout.write(`latency target listening on ${target.latencyUrl}\n`);
      await new Promise<void>((resolve) => {
        const remove = onShutdown(() => {
          remove();
          void target.close().then(resolve);
        });
      });
    });
}
