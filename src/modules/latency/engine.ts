/**
 * The load engine: one run against one HTTP target, in stages, with live pause/resume/stop.
 * Library first (autocannon style): `new LoadRun(opts)` + events + `start()`, or `run(opts, signal)`.
 * It knows nothing about HTTP routes, stores or jobs; callers persist what the events give them.
 *
 * A stage's clock counts running time only: pause() freezes it, resume() runs what is left. progress()
 * (and every 'second' event) gives { stageIndex, elapsedInStageMs }; a new LoadRun with `startAt` set to
 * them continues an interrupted run, e.g. after a restart.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { ServiceError } from '../../platform/errors';
import { recordMs, summarizeHistogram } from '../../stats/histogram';
import { Bucket } from './bucket';
import {
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_TIMEOUT_MS,
  LATE_AFTER_MS,
  type LoadModel,
  type LoadOptions,
  type LoadProgress,
  type LoadResult,
  type LoadRunEvents,
  type LoadStage,
  type LoadState,
  type LoadSummary,
  type RequestResult,
  type Thresholds,
} from './engine.types';
import { type Http1Handler, Http1Pool } from './http1';
import { evaluateThresholds } from './thresholds';
import { errorKind, errorText, invalid, resolveTarget, round3, wallIso } from './transport';

export * from './engine.types';
export { measureOnce } from './measure';
export { evaluateThresholds } from './thresholds';
export { errorKind, resolveTarget } from './transport';

const PUMP_TICK = 0;
const PUMP_DROP = 1;
const PUMP_STAGE_END = 2;
type PumpMode = typeof PUMP_TICK | typeof PUMP_DROP | typeof PUMP_STAGE_END;

function validate(opts: LoadOptions): void {
  if (!Array.isArray(opts.stages) || opts.stages.length === 0)
    throw invalid('at least one stage is required');
  const open = opts.model === 'arrival-rate';
  opts.stages.forEach((s, i) => {
    if (!Number.isInteger(s.users) || s.users < 0)
      throw invalid(`stages[${i}].users must be an integer >= 0`);
    if (!(s.durationSeconds > 0)) throw invalid(`stages[${i}].durationSeconds must be > 0`);
    if (!(s.intervalSeconds >= 0)) throw invalid(`stages[${i}].intervalSeconds must be >= 0`);
    if (open && !(s.intervalSeconds > 0))
      throw invalid(`stages[${i}].intervalSeconds must be > 0 for arrival-rate`);
  });
  const sa = opts.startAt;
  if (sa && !(Number.isInteger(sa.stageIndex) && sa.stageIndex >= 0 && sa.elapsedMs >= 0)) {
    throw invalid('startAt needs stageIndex >= 0 and elapsedMs >= 0');
  }
}

/**
 * One in-flight request. Objects are reused: one per virtual user (closed model) or from a free list
 * (open model).
 */
class Exchange implements Http1Handler {
  /** Latency origin: dispatch time (closed) or scheduled time (open). */
  startedAt = 0;
  sentAt = 0;
  status = 0;
  generation = 0;
  /** The stage this request was sent in: its result is counted there, even if it ends in the next. */
  stage = 0;
  timer: NodeJS.Timeout | null = null;
  readonly fire = () => this.run.sendClosed(this);
  constructor(readonly run: LoadRun) {}
  onSent(): void {
    this.sentAt = performance.now();
  }
  onResponse(status: number): void {
    this.status = status;
    this.run.complete(this, null);
  }
  onError(err: Error): void {
    this.run.complete(this, err);
  }
}

export class LoadRun extends EventEmitter<LoadRunEvents> {
  readonly model: LoadModel;
  private readonly stages: LoadStage[];
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly success = new Uint8Array(1000);
  private readonly onResult: ((r: RequestResult) => void) | undefined;
  private readonly thresholds: Thresholds | undefined;
  private readonly pool: Http1Pool;

  private _state: LoadState = 'idle';
  private startedAtPerf = 0;
  private endedAtPerf: number | null = null;
  private stageIndex = 0;
  /** Active ms of the current stage before the current running segment began. */
  private stageActiveBefore = 0;
  private segmentStart = 0;
  private runActiveBefore = 0;
  private generation = 0;
  private inFlight = 0;
  private finishing = false;
  private closed = false;

  private stageTimer: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private pumpTimer: NodeJS.Timeout | null = null;
  private users: Exchange[] = [];
  private parked: Exchange[] = [];
  private free: Exchange[] = [];
  /** Open model: index (within the stage) of the next request to send, and the gap between them. */
  private nextIndex = 0;
  private periodMs = 0;

  private bucket: Bucket;
  /**
   * Requests of earlier stages that end after their stage did: counted in their own stage's bucket, so
   * every series point carries the stage its requests were sent in (a second can hold two points).
   */
  private leftovers = new Map<number, Bucket>();
  private readonly total: Bucket;
  private resolveDone!: (r: LoadResult) => void;
  readonly done: Promise<LoadResult>;

  constructor(opts: LoadOptions) {
    super();
    validate(opts);
    this.model = opts.model ?? 'closed';
    this.stages = opts.stages.map((s) => ({ ...s }));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
    this.onResult = opts.onResult;
    this.thresholds = opts.thresholds;
    if (opts.successStatuses) for (const s of opts.successStatuses) this.success[s] = 1;
    else this.success.fill(1, 200, 300);

    const target = resolveTarget(opts.target);
    const pipelining = Math.max(1, opts.pipelining ?? 1);
    const open = this.model === 'arrival-rate';
    const maxUsers = Math.max(1, ...this.stages.map((s) => s.users));
    const connections =
      opts.connections ?? (open ? Math.min(this.maxInFlight, 100) : Math.ceil(maxUsers / pipelining));
    try {
      this.pool = new Http1Pool({
        origin: target.origin,
        request: target.request,
        connections,
        pipelining,
        timeoutMs: this.timeoutMs,
        lookup: opts.lookup,
      });
    } catch (e) {
      throw invalid((e as Error).message);
    }
    if (opts.startAt) {
      this.stageIndex = opts.startAt.stageIndex;
      this.stageActiveBefore = opts.startAt.elapsedMs;
    }
    this.total = new Bucket(0, open);
    this.bucket = new Bucket(0, open);
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get state(): LoadState {
    return this._state;
  }

  /** Starts the run; resolves when every stage has run or `stop()` was called. */
  start(): Promise<LoadResult> {
    if (this._state !== 'idle') throw new ServiceError('LATENCY_RUN_STARTED', 409, 'run already started');
    const now = performance.now();
    this.startedAtPerf = now;
    this.bucket.startedAt = now;
    this.setState('running');
    this.ticker = setInterval(() => this.flushSecond(false), 1000);
    this.enterStage(now);
    return this.done;
  }

  /** Stops issuing requests now; in-flight ones finish and are recorded. */
  pause(): void {
    if (this._state !== 'running') return;
    const now = performance.now();
    if (this.model === 'arrival-rate') this.pump(now, PUMP_DROP);
    this.stageActiveBefore += now - this.segmentStart;
    this.runActiveBefore += now - this.segmentStart;
    // Sleeping virtual users keep their timers: they wake, see the pause and park themselves.
    this.clearTimers(false);
    this.setState('paused');
  }

  /** Continues the current stage for the time it had left when paused. */
  resume(): void {
    if (this._state !== 'paused') return;
    const now = performance.now();
    this.segmentStart = now;
    this.setState('running');
    this.armStageTimer();
    if (this.model === 'arrival-rate') this.pump(now, PUMP_TICK);
    else {
      const parked = this.parked;
      this.parked = [];
      for (const u of parked) this.sendClosed(u);
    }
  }

  /** Ends the run: no new requests; in-flight ones finish or are aborted after the timeout. */
  stop(): Promise<LoadResult> {
    if (this._state === 'idle') {
      this.setState('stopped');
      this.closeRun('stopped', performance.now());
    } else if (this._state === 'running' || this._state === 'paused') {
      const now = performance.now();
      if (this._state === 'running') {
        if (this.model === 'arrival-rate') this.pump(now, PUMP_DROP);
        this.stageActiveBefore += now - this.segmentStart;
        this.runActiveBefore += now - this.segmentStart;
      }
      void this.finish('stopped', now);
    }
    return this.done;
  }

  progress(): LoadProgress {
    const running = this._state === 'running';
    const stage = this.stages[Math.min(this.stageIndex, this.stages.length - 1)]!;
    const stageDurationMs = stage.durationSeconds * 1000;
    const elapsed = this.stageActiveBefore + (running ? performance.now() - this.segmentStart : 0);
    return {
      state: this._state,
      stageIndex: this.stageIndex,
      stageCount: this.stages.length,
      elapsedInStageMs: Math.round(Math.min(elapsed, stageDurationMs)),
      stageDurationMs,
      inFlight: this.inFlight,
    };
  }

  /** Totals so far (including the current, unfinished second). */
  snapshot(): LoadSummary {
    const view = new Bucket(0, this.model === 'arrival-rate');
    this.total.addTo(view);
    for (const b of this.leftovers.values()) b.addTo(view);
    this.bucket.addTo(view);
    return this.summarize(view);
  }

  // ---- stages -------------------------------------------------------------------------------

  private enterStage(now: number): void {
    while (this.stageIndex < this.stages.length) {
      const stage = this.stages[this.stageIndex]!;
      if (this.stageActiveBefore < stage.durationSeconds * 1000) break;
      this.stageIndex++;
      this.stageActiveBefore = 0;
    }
    if (this.stageIndex >= this.stages.length) {
      void this.finish('completed', now);
      return;
    }
    const stage = this.stages[this.stageIndex]!;
    this.generation++;
    this.segmentStart = now;
    this.emit('stage', this.stageIndex, stage);
    this.armStageTimer();
    if (this.model === 'arrival-rate') {
      this.periodMs =
        stage.users > 0 ? (stage.intervalSeconds * 1000) / stage.users : Number.POSITIVE_INFINITY;
      this.nextIndex = Math.ceil(this.stageActiveBefore / this.periodMs);
      this.pump(now, PUMP_TICK);
    } else {
      this.users = [];
      for (let i = 0; i < stage.users; i++) {
        const u = new Exchange(this);
        u.generation = this.generation;
        this.users.push(u);
        this.sendClosed(u);
      }
    }
  }

  private armStageTimer(): void {
    const stage = this.stages[this.stageIndex]!;
    const remaining = stage.durationSeconds * 1000 - this.stageActiveBefore;
    this.stageTimer = setTimeout(this.onStageTimer, Math.max(0, remaining));
  }

  private readonly onStageTimer = () => this.endStage();

  private endStage(): void {
    if (this._state !== 'running') return;
    const now = performance.now();
    if (this.model === 'arrival-rate') this.pump(now, PUMP_STAGE_END);
    this.runActiveBefore += now - this.segmentStart;
    this.clearTimers(true);
    this.parked = [];
    // What the ending stage counted this second stays its own; the next stage starts a fresh bucket.
    this.mergeLeftover(this.stageIndex, this.bucket);
    this.bucket = new Bucket(this.bucket.startedAt, this.model === 'arrival-rate');
    this.stageIndex++;
    this.stageActiveBefore = 0;
    this.enterStage(now);
  }

  private clearTimers(users: boolean): void {
    if (this.stageTimer) clearTimeout(this.stageTimer);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.stageTimer = null;
    this.pumpTimer = null;
    if (users) for (const u of this.users) if (u.timer) clearTimeout(u.timer);
  }

  // ---- closed model -------------------------------------------------------------------------

  /** @internal A virtual user's next request, unless its stage is over or the run is paused. */
  sendClosed(u: Exchange): void {
    if (u.generation !== this.generation || this.finishing) return;
    if (this._state === 'paused') {
      this.parked.push(u);
      return;
    }
    u.status = 0;
    u.stage = this.stageIndex;
    u.startedAt = performance.now();
    u.sentAt = u.startedAt;
    this.inFlight++;
    this.pool.dispatch(u);
  }

  private nextClosed(u: Exchange, failed: boolean): void {
    if (u.generation !== this.generation || this.finishing) return;
    const intervalMs = this.stages[this.stageIndex]!.intervalSeconds * 1000;
    if (intervalMs > 0) {
      // One timer per user, re-armed with refresh(): no allocation per request.
      if (u.timer) u.timer.refresh();
      else u.timer = setTimeout(u.fire, intervalMs);
    } else if (failed) {
      // An error can be reported synchronously from dispatch(); never recurse into it.
      setImmediate(u.fire);
    } else {
      this.sendClosed(u);
    }
  }

  // ---- open model ---------------------------------------------------------------------------

  /**
   * Sends every request whose scheduled time has come, up to `maxInFlight`. On a pause, stop or stage
   * end, whatever is due but cannot be sent now is dropped (a stage end counts the stage as fully due,
   * as its timer may fire a fraction of a millisecond early).
   */
  private pump(now: number, mode: PumpMode): void {
    if (this._state !== 'running' || this.finishing) return;
    const stage = this.stages[this.stageIndex]!;
    const durationMs = stage.durationSeconds * 1000;
    const activeNow =
      mode === PUMP_STAGE_END
        ? durationMs
        : Math.min(this.stageActiveBefore + (now - this.segmentStart), durationMs);
    const period = this.periodMs;
    if (!Number.isFinite(period)) return;
    // Due requests that waited longer than the timeout would only measure our own backlog: drop them.
    const oldestUseful = Math.ceil((activeNow - this.timeoutMs) / period);
    if (oldestUseful > this.nextIndex) {
      this.bucket.dropped += oldestUseful - this.nextIndex;
      this.nextIndex = oldestUseful;
    }
    while (this.inFlight < this.maxInFlight) {
      const due = this.nextIndex * period;
      if (due > activeNow || due >= durationMs) break;
      this.nextIndex++;
      const scheduledAt = this.segmentStart + (due - this.stageActiveBefore);
      if (now - scheduledAt > LATE_AFTER_MS) this.bucket.late++;
      const x = this.free.pop() ?? new Exchange(this);
      x.status = 0;
      x.stage = this.stageIndex;
      x.startedAt = scheduledAt;
      x.sentAt = now;
      this.inFlight++;
      this.pool.dispatch(x);
    }
    if (mode !== PUMP_TICK) {
      const dueCount = Math.min(Math.floor(activeNow / period) + 1, Math.ceil(durationMs / period));
      if (dueCount > this.nextIndex) {
        this.bucket.dropped += dueCount - this.nextIndex;
        this.nextIndex = dueCount;
      }
      return;
    }
    // Woken by a timer for the next due request; when capped, completions pump instead.
    if (this.pumpTimer === null && this.inFlight < this.maxInFlight) {
      const due = this.nextIndex * period;
      if (due < durationMs) {
        const wait = this.segmentStart + (due - this.stageActiveBefore) - now;
        this.pumpTimer = setTimeout(this.onPumpTimer, Math.max(0, wait));
      }
    }
  }

  private readonly onPumpTimer = () => {
    this.pumpTimer = null;
    this.pump(performance.now(), PUMP_TICK);
  };

  // ---- recording ----------------------------------------------------------------------------

  /** @internal Called by an Exchange when its request ends (err: no response). */
  complete(x: Exchange, err: Error | null): void {
    if (this.closed) return;
    this.inFlight--;
    const now = performance.now();
    const b = x.stage === this.stageIndex ? this.bucket : this.leftoverOf(x.stage);
    b.requests++;
    let ok = false;
    let latency: number | null = null;
    if (err === null) {
      const status = x.status;
      b.statusCodes[status] = (b.statusCodes[status] ?? 0) + 1;
      ok = this.success[status] === 1;
      if (ok) b.successes++;
      else {
        b.failures++;
        b.failuresByKind.status = (b.failuresByKind.status ?? 0) + 1;
      }
      latency = now - x.startedAt;
      recordMs(b.histogram, latency);
      if (b.rawHistogram) recordMs(b.rawHistogram, now - x.sentAt);
    } else {
      b.failures++;
      const kind = errorKind(err);
      b.failuresByKind[kind] = (b.failuresByKind[kind] ?? 0) + 1;
    }
    if (this.onResult) {
      this.onResult({
        status_code: err === null ? x.status : 0,
        latency_ms: latency === null ? null : round3(latency),
        timestamp: wallIso(x.startedAt),
        error: err === null ? null : errorText(err),
      });
    }
    if (this.model === 'arrival-rate') {
      this.free.push(x);
      if (this._state === 'running') this.pump(now, PUMP_TICK);
    } else {
      this.nextClosed(x, err !== null);
    }
  }

  private leftoverOf(stage: number): Bucket {
    let b = this.leftovers.get(stage);
    if (!b) {
      b = new Bucket(this.bucket.startedAt, this.model === 'arrival-rate');
      this.leftovers.set(stage, b);
    }
    return b;
  }

  private mergeLeftover(stage: number, b: Bucket): void {
    const into = this.leftovers.get(stage);
    if (into) b.addTo(into);
    else this.leftovers.set(stage, b);
  }

  /**
   * Emits the second that just ended: one point per stage whose requests ended in it (earlier stages
   * first), each labelled with that stage, so per-stage sums of the series equal each stage's requests.
   */
  private flushSecond(final: boolean): void {
    const now = performance.now();
    const p = this.progress();
    const leftovers = this.leftovers;
    this.leftovers = new Map();
    for (const [stage, b] of [...leftovers].sort((a, z) => a[0] - z[0])) {
      b.addTo(this.total);
      if (b.requests === 0 && b.dropped === 0) continue;
      const duration = (this.stages[stage]?.durationSeconds ?? 0) * 1000;
      this.emitSecond(b, now, stage, stage < p.stageIndex ? duration : p.elapsedInStageMs);
    }
    const b = this.bucket;
    this.bucket = new Bucket(now, this.model === 'arrival-rate');
    b.addTo(this.total);
    // Past the last stage nothing is sent; an empty point while paused would only say "paused" again.
    if (b.requests === 0 && b.dropped === 0) {
      if (this._state === 'paused' || final || p.stageIndex >= this.stages.length) return;
    }
    this.emitSecond(b, now, Math.min(p.stageIndex, this.stages.length - 1), p.elapsedInStageMs);
  }

  private emitSecond(b: Bucket, now: number, stageIndex: number, elapsedInStageMs: number): void {
    this.emit('second', {
      ...b.counters(),
      timestamp: wallIso(b.startedAt),
      durationMs: Math.round(now - b.startedAt),
      stageIndex,
      elapsedInStageMs,
      latency: summarizeHistogram(b.histogram),
      rawLatency: b.rawHistogram ? summarizeHistogram(b.rawHistogram) : null,
      histogram: b.histogram,
      rawHistogram: b.rawHistogram,
    });
  }

  // ---- end ----------------------------------------------------------------------------------

  private async finish(state: 'completed' | 'stopped', now: number): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.clearTimers(true);
    this.parked = [];
    if (state === 'stopped') this.setState('stopping');
    this.endedAtPerf = now;
    // Let in-flight requests finish; each is bounded by the timeouts, so this is too.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs + 1000, 'timeout');
    });
    const drained = await Promise.race([this.pool.close().then(() => 'closed' as const), grace]);
    clearTimeout(timer);
    if (drained === 'timeout') await this.pool.destroy().catch(() => undefined);
    this.closeRun(state, now);
  }

  private closeRun(state: 'completed' | 'stopped', endedAt: number): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.flushSecond(true);
    this.closed = true;
    this.endedAtPerf = endedAt;
    this.setState(state);
    const result: LoadResult = {
      summary: this.summarize(this.total),
      histogram: this.total.histogram,
      rawHistogram: this.total.rawHistogram,
    };
    this.emit('end', result);
    this.resolveDone(result);
    if (!this.finishing) void this.pool.close();
  }

  private summarize(t: Bucket): LoadSummary {
    const running = this._state === 'running';
    const activeMs = this.runActiveBefore + (running ? performance.now() - this.segmentStart : 0);
    const transportErrors = t.failures - (t.failuresByKind.status ?? 0);
    const summary: LoadSummary = {
      ...t.counters(),
      model: this.model,
      state: this._state,
      startedAt: wallIso(this.startedAtPerf),
      endedAt: this.endedAtPerf === null ? null : wallIso(this.endedAtPerf),
      activeMs: Math.round(activeMs),
      rps: activeMs > 0 ? Math.round((t.requests / activeMs) * 1e5) / 100 : 0,
      successRate: t.requests > 0 ? Math.round((t.successes / t.requests) * 1e5) / 1000 : 0,
      errorRate: t.requests > 0 ? Math.round((transportErrors / t.requests) * 1e5) / 1000 : 0,
      latency: summarizeHistogram(t.histogram),
      rawLatency: t.rawHistogram ? summarizeHistogram(t.rawHistogram) : null,
      progress: this.progress(),
      thresholds: null,
    };
    if (this.thresholds) summary.thresholds = evaluateThresholds(this.thresholds, summary);
    return summary;
  }

  private setState(state: LoadState): void {
    this._state = state;
    this.emit('state', state);
  }
}

/** Runs to the end (or until `signal` aborts, which stops the run) and returns the result. */
export function run(opts: LoadOptions, signal?: AbortSignal): Promise<LoadResult> {
  const r = new LoadRun(opts);
  if (signal) {
    if (signal.aborted) return r.stop();
    signal.addEventListener('abort', () => void r.stop(), { once: true });
  }
  return r.start();
}
