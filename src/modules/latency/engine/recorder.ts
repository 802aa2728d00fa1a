import { recordMs, summarizeHistogram } from '../../../stats/histogram';
import { Bucket } from './bucket';
import type { Exchange } from './exchange';
import { evaluateThresholds } from './thresholds';
import { errorKind, wallIso } from './transport';
import type {
  LoadModel,
  LoadProgress,
  LoadStage,
  LoadState,
  LoadSummary,
  SecondBucket,
  Thresholds,
} from './types';

/** Counts finished requests: per second and per stage (the 'second' events), and for the whole run. */
export class Recorder {
  /** The current second of the current stage. */
  bucket: Bucket;
  readonly total: Bucket;
  /**
   * Requests of earlier stages that end after their stage did: counted in their own stage's bucket, so
   * every series point carries the stage its requests were sent in (a second can hold two points).
   */
  private leftovers = new Map<number, Bucket>();

  constructor(
    private readonly withRaw: boolean,
    private readonly success: Uint8Array,
  ) {
    this.total = new Bucket(0, withRaw);
    this.bucket = new Bucket(0, withRaw);
  }

  /** Counts x, which ended now (err: without a response); returns its latency in ms, null without one. */
  record(x: Exchange, currentStage: number, err: Error | null, now: number): number | null {
    const b = x.stage === currentStage ? this.bucket : this.leftoverOf(x.stage);
    b.requests++;
    if (err !== null) {
      b.failures++;
      const kind = errorKind(err);
      b.failuresByKind[kind] = (b.failuresByKind[kind] ?? 0) + 1;
      return null;
    }
    const status = x.status;
    b.statusCodes[status] = (b.statusCodes[status] ?? 0) + 1;
    if (this.success[status] === 1) b.successes++;
    else {
      b.failures++;
      b.failuresByKind.status = (b.failuresByKind.status ?? 0) + 1;
    }
    const latency = now - x.startedAt;
    recordMs(b.histogram, latency);
    if (b.rawHistogram) recordMs(b.rawHistogram, now - x.sentAt);
    return latency;
  }

  /** Stage `stage` ends: what it counted this second stays its own; the next stage starts a fresh bucket. */
  endStage(stage: number): void {
    const into = this.leftovers.get(stage);
    if (into) this.bucket.addTo(into);
    else this.leftovers.set(stage, this.bucket);
    this.bucket = new Bucket(this.bucket.startedAt, this.withRaw);
  }

  /**
   * Closes the second that just ended: one point per stage whose requests ended in it (earlier stages
   * first), each labelled with that stage, so per-stage sums of the series equal each stage's requests.
   * `idle` (paused, or the run is ending): no point for an empty current second.
   */
  flush(
    now: number,
    p: LoadProgress,
    stages: readonly LoadStage[],
    idle: boolean,
    emit: (point: SecondBucket) => void,
  ): void {
    const leftovers = this.leftovers;
    this.leftovers = new Map();
    for (const [stage, b] of [...leftovers].sort((a, z) => a[0] - z[0])) {
      b.addTo(this.total);
      if (b.requests === 0 && b.dropped === 0) continue;
      const duration = (stages[stage]?.durationSeconds ?? 0) * 1000;
      emit(secondOf(b, now, stage, stage < p.stageIndex ? duration : p.elapsedInStageMs));
    }
    const b = this.bucket;
    this.bucket = new Bucket(now, this.withRaw);
    b.addTo(this.total);
    // Past the last stage nothing is sent; an empty point while paused would only say "paused" again.
    if (b.requests === 0 && b.dropped === 0) {
      if (idle || p.stageIndex >= stages.length) return;
    }
    emit(secondOf(b, now, Math.min(p.stageIndex, stages.length - 1), p.elapsedInStageMs));
  }

  /** Totals so far, the current unfinished second included. */
  sofar(): Bucket {
    const view = new Bucket(0, this.withRaw);
    this.total.addTo(view);
    for (const b of this.leftovers.values()) b.addTo(view);
    this.bucket.addTo(view);
    return view;
  }

  private leftoverOf(stage: number): Bucket {
    let b = this.leftovers.get(stage);
    if (!b) {
      b = new Bucket(this.bucket.startedAt, this.withRaw);
      this.leftovers.set(stage, b);
    }
    return b;
  }
}

function secondOf(b: Bucket, now: number, stageIndex: number, elapsedInStageMs: number): SecondBucket {
  return {
    ...b.counters(),
    timestamp: wallIso(b.startedAt),
    durationMs: Math.round(now - b.startedAt),
    stageIndex,
    elapsedInStageMs,
    latency: summarizeHistogram(b.histogram),
    rawLatency: b.rawHistogram ? summarizeHistogram(b.rawHistogram) : null,
    histogram: b.histogram,
    rawHistogram: b.rawHistogram,
  };
}

export interface RunFacts {
  model: LoadModel;
  state: LoadState;
  startedAtPerf: number;
  endedAtPerf: number | null;
  /** Time spent running (pauses excluded), ms. */
  activeMs: number;
  progress: LoadProgress;
  thresholds: Thresholds | undefined;
}

/** The run's summary from its counts `t`; thresholds are evaluated when given. */
export function loadSummary(t: Bucket, run: RunFacts): LoadSummary {
  const { activeMs } = run;
  const transportErrors = t.failures - (t.failuresByKind.status ?? 0);
  const summary: LoadSummary = {
    ...t.counters(),
    model: run.model,
    state: run.state,
    startedAt: wallIso(run.startedAtPerf),
    endedAt: run.endedAtPerf === null ? null : wallIso(run.endedAtPerf),
    activeMs: Math.round(activeMs),
    rps: activeMs > 0 ? Math.round((t.requests / activeMs) * 1e5) / 100 : 0,
    successRate: t.requests > 0 ? Math.round((t.successes / t.requests) * 1e5) / 1000 : 0,
    errorRate: t.requests > 0 ? Math.round((transportErrors / t.requests) * 1e5) / 1000 : 0,
    latency: summarizeHistogram(t.histogram),
    rawLatency: t.rawHistogram ? summarizeHistogram(t.rawHistogram) : null,
    progress: run.progress,
    thresholds: null,
  };
  if (run.thresholds) summary.thresholds = evaluateThresholds(run.thresholds, summary);
  return summary;
}
