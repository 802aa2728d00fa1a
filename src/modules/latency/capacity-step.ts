/**
 * One step of the capacity search (capacity.ts): one engine run at one rate, a warm-up that is not
 * judged and a window that is, with an early stop once the window's SLO cannot hold any more.
 */
import { createLatencyHistogram, recordMs, summarizeHistogram } from '../../stats/histogram';
import type { CapacityOptions, CapacityStep } from './capacity';
import { evaluateThresholds, LoadRun, type RequestResult, type Thresholds } from './engine';

const QUANTILE: Partial<Record<keyof Thresholds, number>> = { p50_ms: 0.5, p90_ms: 0.9, p99_ms: 0.99 };

/**
 * Counters and the latency histogram of the requests scheduled in a step's window. `failed` turns true
 * as soon as the SLO cannot hold whatever the rest of the window brings — e.g. p99 ≤ L once more than 1 %
 * of the window's `expected` requests took longer than L — so a step past capacity can stop early
 * instead of queueing (and then draining) a whole window's backlog. The early answer is the final one:
 * the requests measured so far already fail the same checks.
 */
class Window {
  requests = 0;
  successes = 0;
  noAnswer = 0;
  latencySum = 0;
  failed = false;
  readonly histogram = createLatencyHistogram();
  private readonly over: { limit: number; allowed: number; count: number }[] = [];
  constructor(
    private readonly success: (status: number) => boolean,
    private readonly slo: Thresholds,
    private readonly expected: number,
  ) {
    for (const [name, q] of Object.entries(QUANTILE)) {
      const limit = (slo as Record<string, number | undefined>)[name];
      if (limit !== undefined) this.over.push({ limit, allowed: (1 - q) * expected + 1, count: 0 });
    }
  }
  add(r: RequestResult): void {
    this.requests++;
    if (r.status_code === 0) this.noAnswer++;
    else if (this.success(r.status_code)) this.successes++;
    if (r.latency_ms !== null) {
      recordMs(this.histogram, r.latency_ms);
      this.latencySum += r.latency_ms;
      for (const o of this.over) if (r.latency_ms > o.limit && ++o.count > o.allowed) this.failed = true;
    }
    const { slo, expected } = this;
    if (slo.error_rate !== undefined && this.noAnswer > (slo.error_rate / 100) * expected + 1)
      this.failed = true;
    if (
      slo.success_rate !== undefined &&
      this.requests - this.successes > (1 - slo.success_rate / 100) * expected + 1
    )
      this.failed = true;
    if (slo.mean_ms !== undefined && this.latencySum > slo.mean_ms * expected) this.failed = true;
  }
  /** What engine/thresholds.ts evaluates, in the engine summary's units (percent). */
  summary() {
    const pct = (n: number) => (this.requests > 0 ? (n / this.requests) * 100 : 0);
    return {
      requests: this.requests,
      latency: summarizeHistogram(this.histogram),
      successRate: pct(this.successes),
      errorRate: pct(this.noAnswer),
    };
  }
}

function successTest(statuses: Iterable<number> | undefined): (status: number) => boolean {
  if (!statuses) return (s) => s >= 200 && s < 300;
  const set = new Set(statuses);
  return (s) => set.has(s);
}

export async function runStep(
  opts: CapacityOptions,
  slo: Thresholds,
  at: Pick<CapacityStep, 'index' | 'phase' | 'rateRps' | 'attempt'>,
  { windowSeconds, warmupSeconds }: { windowSeconds: number; warmupSeconds: number },
): Promise<CapacityStep | null> {
  const { rateRps } = at;
  const window = new Window(successTest(opts.successStatuses), slo, Math.ceil(rateRps * windowSeconds));
  let stoppedEarly = false;
  const stage = (durationSeconds: number) => ({ users: rateRps, durationSeconds, intervalSeconds: 1 });
  const run = new LoadRun({
    target: opts.target,
    model: 'arrival-rate',
    stages: warmupSeconds > 0 ? [stage(warmupSeconds), stage(windowSeconds)] : [stage(windowSeconds)],
    timeoutMs: opts.timeoutMs,
    successStatuses: opts.successStatuses,
    connections: opts.connections,
    maxInFlight: opts.maxInFlight,
    lookup: opts.lookup,
    // The window is the last stage: each result says which stage scheduled it (exact, unlike comparing
    // its millisecond timestamp with the time the stage began).
    onResult: (r, scheduledIn) => {
      if (scheduledIn < (warmupSeconds > 0 ? 1 : 0)) return;
      window.add(r);
      if (window.failed && !stoppedEarly) {
        stoppedEarly = true;
        setImmediate(() => void run.stop());
      }
    },
  });
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    void run.stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { summary } = await run.start();
    if (aborted) return null;
    const measured = window.summary();
    const { checks } = evaluateThresholds(slo, measured);
    return {
      ...at,
      held: !stoppedEarly && summary.dropped === 0 && checks.every((c) => c.passed),
      stoppedEarly,
      requests: measured.requests,
      dropped: summary.dropped,
      late: summary.late,
      successRate: Math.round(measured.successRate * 1000) / 1000,
      errorRate: Math.round(measured.errorRate * 1000) / 1000,
      latency: measured.latency,
      checks,
    };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
