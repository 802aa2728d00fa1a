/** Runs a `telelab load` and prints it: progress on a TTY, then a table or one JSON summary. */
import { EXIT, onShutdown } from '../../../platform/cli-kit';
import type { LatencySummary } from '../../../stats/histogram';
import type { ComparedRun } from '../compare';
import type { LoadOptions, LoadRun, LoadSummary, SecondBucket } from '../engine';
import type { LoadFlags } from './load-flags';

/** `telelab load` exits with this when a threshold fails (k6 uses 99 too). */
const EXIT_THRESHOLD_FAILED = EXIT.THRESHOLD;
const EXIT_FATAL = EXIT.FAILURE;

export async function execute(
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
  // First Ctrl-C: stop and still print the summary, saying so, then exit 130; a second one leaves at once.
  let interruptedBy: string | null = null;
  const removeHandlers = onShutdown((reason) => {
    interruptedBy = reason;
    void loadRun.stop();
  });
  try {
    const result = await loadRun.start();
    const { summary } = result;
    loadRun.off('second', onSecond);
    if (live) process.stderr.write('\r\x1b[2K');
    // The HDR histogram goes into --json so that the output can be a later run's --baseline.
    const [{ encodeHistogram }, cmp] = await Promise.all([
      import('../../../stats/histogram'),
      baseline ? import('./baseline') : null,
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
          ...(interruptedBy ? { interruptedBy } : {}),
        })}\n`,
      );
    else {
      process.stdout.write(formatSummary(summary, flags, opts, interruptedBy));
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
    // Stopped early, the numbers describe a shorter run than asked for: no verdict on it may pass.
    if (interruptedBy) process.exitCode = EXIT.INTERRUPTED;
  } catch (e) {
    process.stderr.write(`telelab load: ${(e as Error).message}\n`);
    process.exitCode = EXIT_FATAL;
  } finally {
    removeHandlers();
  }
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
/** A latency figure, or a dash when no request got an answer (the summary's zeros measure nothing). */
const figure = (x: LatencySummary, v: number) => (x.count === 0 ? '—' : ms(v));
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
    `  ${rps} req/s  p50 ${figure(b.latency, b.latency.p50)} ms  p99 ${figure(b.latency, b.latency.p99)} ms` +
    `  failures ${b.failures}` +
    (b.late || b.dropped ? `  late ${b.late}  dropped ${b.dropped}` : '')
  );
}

function formatSummary(
  s: LoadSummary,
  flags: LoadFlags,
  opts: LoadOptions,
  interruptedBy: string | null,
): string {
  const l = s.latency;
  const latencyRow = (x: LatencySummary) => {
    const f = (v: number) => figure(x, v);
    return `min ${f(x.min)}  mean ${f(x.mean)}  p50 ${f(x.p50)}  p90 ${f(x.p90)}  p99 ${f(x.p99)}  p99.9 ${f(x.p999)}  max ${f(x.max)}`;
  };
  const stage = opts.stages[0]!;
  const interrupted: [string, string][] = interruptedBy
    ? [
        [
          'interrupted',
          `${interruptedBy.startsWith('SIG') ? `by ${interruptedBy}` : interruptedBy} after ` +
            `${(s.activeMs / 1000).toFixed(1)}s of the planned ${stage.durationSeconds}s`,
        ],
      ]
    : [];
  const shape =
    s.model === 'closed'
      ? `closed, ${stage.users} users, interval ${stage.intervalSeconds}s`
      : `arrival rate ${flags.rate}/s`;
  const rows: [string, string][] = [
    ['target', `${flags.method.toUpperCase()} ${flags.url}`],
    ['model', `${shape}, ${stage.durationSeconds}s`],
    ['requests', `${s.requests} in ${(s.activeMs / 1000).toFixed(1)}s (${s.rps} req/s)`],
    ...interrupted,
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
