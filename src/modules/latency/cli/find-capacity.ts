/**
 * `telelab load --find-capacity`: runs the capacity search (capacity.ts) from a shell. Progress on a TTY,
 * then a table of the steps (or one JSON object with --json). Loaded by load.ts only when the flag
 * is given, so `telelab --help` stays light.
 */
import { EXIT, onShutdown } from '../../../platform/cli-kit';
import { type CapacityOptions, type CapacityResult, type CapacityStep, findCapacity } from '../capacity';
import { stepJson } from '../capacity.record';
import type { LoadTarget, Thresholds } from '../engine';

export interface CapacityCliOptions {
  target: LoadTarget;
  slo: Thresholds;
  startRps?: number;
  maxRps?: number;
  windowSeconds?: number;
  warmupSeconds?: number;
  timeoutMs?: number;
  successStatuses?: number[];
  connections?: number;
  maxInFlight?: number;
  json?: boolean;
}

/** The JSON `--find-capacity --json` prints: `capacity_rps` and every step tried. */
export function capacityJson(url: string | undefined, r: CapacityResult) {
  return {
    target: url,
    capacity_rps: r.capacityRps,
    failed_rps: r.failedRps,
    limited_by: r.limitedBy,
    slo: r.slo,
    window_seconds: r.windowSeconds,
    warmup_seconds: r.warmupSeconds,
    precision: r.precision,
    steps: r.steps.map(stepJson),
  };
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function stepLine(s: CapacityStep): string {
  const checks = s.checks.map((c) => `${c.name} ${c.actual ?? 'n/a'}${c.passed ? '' : ' FAIL'}`).join(', ');
  return (
    `${String(s.index + 1).padStart(3)}  ${s.phase.padEnd(6)}  ${String(s.rateRps).padStart(7)}  ` +
    `${(s.held ? 'held' : 'failed').padEnd(6)}  p50 ${ms(s.latency.p50).padStart(6)}  ` +
    `p99 ${ms(s.latency.p99).padStart(6)}  ${checks}${s.dropped ? `, dropped ${s.dropped}` : ''}` +
    `${s.attempt > 1 ? ' (again)' : ''}`
  );
}

export function formatCapacity(r: CapacityResult): string {
  const slo = Object.entries(r.slo)
    .map(([k, v]) => `${k} <= ${v}`)
    .join(', ');
  const head = `step  phase   req/s    result  latency ms (from schedule)`;
  const answer =
    r.capacityRps === null
      ? `capacity: none — the SLO held at no rate tried (lowest failed: ${r.failedRps} req/s)`
      : `capacity: ${r.capacityRps} req/s` +
        (r.limitedBy === 'max_rps'
          ? ' (every rate up to --max-rate held)'
          : r.failedRps === null
            ? ` (search ${r.limitedBy.replace('_', ' ')})`
            : ` (${r.failedRps} req/s failed)`);
  return (
    `SLO ${slo}; each step ${r.warmupSeconds} s warm-up + ${r.windowSeconds} s judged\n` +
    `${head}\n${r.steps.map(stepLine).join('\n')}\n${answer}\n`
  );
}

/** Runs the search and prints it; returns the exit code (99 when no rate held, 130 when interrupted). */
export async function runCapacityCli(o: CapacityCliOptions): Promise<number> {
  const live = !o.json && process.stderr.isTTY === true;
  const ac = new AbortController();
  const removeHandlers = onShutdown(() => ac.abort());
  const opts: CapacityOptions = {
    target: o.target,
    slo: o.slo,
    startRps: o.startRps,
    maxRps: o.maxRps,
    windowSeconds: o.windowSeconds,
    warmupSeconds: o.warmupSeconds,
    timeoutMs: o.timeoutMs,
    successStatuses: o.successStatuses,
    connections: o.connections,
    maxInFlight: o.maxInFlight,
    signal: ac.signal,
    onStepStart: live
      ? (i, phase, rate) => process.stderr.write(`\r\x1b[2Kstep ${i + 1} (${phase}): ${rate} req/s ...`)
      : undefined,
    onStep: live ? (s) => process.stderr.write(`\r\x1b[2K${stepLine(s)}\n`) : undefined,
  };
  try {
    const r = await findCapacity(opts);
    if (live) process.stderr.write('\r\x1b[2K');
    if (o.json) process.stdout.write(`${JSON.stringify(capacityJson(o.target.url, r))}\n`);
    else process.stdout.write(formatCapacity(r));
    // An interrupted search prints the steps so far, but its answer is not the capacity: not a success.
    if (r.limitedBy === 'interrupted') return EXIT.INTERRUPTED;
    return r.capacityRps === null && r.limitedBy === 'slo' ? EXIT.THRESHOLD : EXIT.OK;
  } finally {
    removeHandlers();
  }
}
