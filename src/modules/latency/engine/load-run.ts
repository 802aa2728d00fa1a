/**
 * The load engine: one run against one HTTP target, in stages, with live pause/resume/stop.
 * Library first (autocannon style): `new LoadRun(opts)` + events + `start()`, or `run(opts, signal)` (run.ts).
 * It knows nothing about HTTP routes, stores or jobs; callers persist what the events give them.
 *
 * A stage's clock counts running time only: pause() freezes it, resume() runs what is left. progress()
 * (and every 'second' event) gives { stageIndex, elapsedInStageMs }; a new LoadRun with `startAt` set to
 * them continues an interrupted run, e.g. after a restart.
 *
 * The schedulers send (closed-model.ts, open-model.ts), the recorder counts (recorder.ts); this class
 * keeps the stage clock and the run's state.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Bucket } from './bucket';
import { ClosedModel } from './closed-model';
import { LoadStateError } from './errors';
import type { Exchange, ExchangeOwner } from './exchange';
import type { Http1Pool } from './http1';
import { OpenModel, PUMP_DROP, PUMP_STAGE_END, PUMP_TICK } from './open-model';
import { runSettings } from './options';
import { loadSummary, Recorder } from './recorder';
import { initialRunState, type RunState } from './run-state';
import { errorText, round3, wallIso } from './transport';
import type {
  LoadModel,
  LoadOptions,
  LoadProgress,
  LoadResult,
  LoadRunEvents,
  LoadStage,
  LoadState,
  LoadSummary,
  RequestResult,
  Thresholds,
} from './types';

export class LoadRun extends EventEmitter<LoadRunEvents> implements ExchangeOwner {
  readonly model: LoadModel;
  readonly done: Promise<LoadResult>;
  private readonly stages: LoadStage[];
  private readonly timeoutMs: number;
  private readonly onResult: ((r: RequestResult, stage: number) => void) | undefined;
  private readonly thresholds: Thresholds | undefined;
  private readonly pool: Http1Pool;
  private readonly recorder: Recorder;
  private readonly closedModel: ClosedModel | null;
  private readonly openModel: OpenModel | null;
  private readonly s: RunState = initialRunState();

  private startedAtPerf = 0;
  private endedAtPerf: number | null = null;
  private runActiveBefore = 0;
  private closed = false;
  private stageTimer: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private resolveDone!: (r: LoadResult) => void;

  /** Throws a LoadOptionsError when the options cannot run. */
  constructor(opts: LoadOptions) {
    super();
    const settings = runSettings(opts);
    this.model = settings.model;
    this.stages = settings.stages;
    this.timeoutMs = settings.timeoutMs;
    this.pool = settings.pool;
    this.onResult = opts.onResult;
    this.thresholds = opts.thresholds;
    if (opts.startAt) {
      this.s.stageIndex = opts.startAt.stageIndex;
      this.s.stageActiveBefore = opts.startAt.elapsedMs;
    }
    const open = this.model === 'arrival-rate';
    this.recorder = new Recorder(open, settings.success);
    this.openModel = open
      ? new OpenModel(this.s, this.stages, this.pool, this, this.recorder, settings)
      : null;
    this.closedModel = open ? null : new ClosedModel(this.s, this.stages, this.pool, this);
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get state(): LoadState {
    return this.s.state;
  }

  /** Starts the run; resolves when every stage has run or `stop()` was called. */
  start(): Promise<LoadResult> {
    if (this.s.state !== 'idle') throw new LoadStateError('run already started');
    const now = performance.now();
    this.startedAtPerf = now;
    this.recorder.bucket.startedAt = now;
    this.setState('running');
    this.ticker = setInterval(() => this.flushSecond(false), 1000);
    this.enterStage(now);
    return this.done;
  }

  /** Stops issuing requests now; in-flight ones finish and are recorded. */
  pause(): void {
    if (this.s.state !== 'running') return;
    this.suspend(performance.now());
    // Sleeping virtual users keep their timers: they wake, see the pause and park themselves.
    this.stopTimers();
    this.setState('paused');
  }

  /** Continues the current stage for the time it had left when paused. */
  resume(): void {
    if (this.s.state !== 'paused') return;
    const now = performance.now();
    this.s.segmentStart = now;
    this.setState('running');
    this.armStageTimer();
    this.openModel?.pump(now, PUMP_TICK);
    this.closedModel?.resume();
  }

  /** Ends the run: no new requests; in-flight ones finish or are aborted after the timeout. */
  stop(): Promise<LoadResult> {
    if (this.s.state === 'idle') {
      this.setState('stopped');
      this.closeRun('stopped', performance.now());
    } else if (this.s.state === 'running' || this.s.state === 'paused') {
      const now = performance.now();
      if (this.s.state === 'running') this.suspend(now);
      void this.finish('stopped', now);
    }
    return this.done;
  }

  /** Stops the clocks; the open model drops what is due and cannot be sent now. */
  private suspend(now: number): void {
    this.openModel?.pump(now, PUMP_DROP);
    this.s.stageActiveBefore += now - this.s.segmentStart;
    this.runActiveBefore += now - this.s.segmentStart;
  }

  progress(): LoadProgress {
    const s = this.s;
    const stage = this.stages[Math.min(s.stageIndex, this.stages.length - 1)]!;
    const stageDurationMs = stage.durationSeconds * 1000;
    const elapsed = s.stageActiveBefore + (s.state === 'running' ? performance.now() - s.segmentStart : 0);
    return {
      state: s.state,
      stageIndex: s.stageIndex,
      stageCount: this.stages.length,
      elapsedInStageMs: Math.round(Math.min(elapsed, stageDurationMs)),
      stageDurationMs,
      inFlight: s.inFlight,
    };
  }

  /** Totals so far (including the current, unfinished second). */
  snapshot(): LoadSummary {
    return this.summarize(this.recorder.sofar());
  }

  /** @internal A closed-model virtual user's next request. */
  sendClosed(x: Exchange): void {
    this.closedModel?.send(x);
  }

  /** @internal Called by an Exchange when its request ends (err: no response). */
  complete(x: Exchange, err: Error | null): void {
    if (this.closed) return;
    this.s.inFlight--;
    const now = performance.now();
    const latency = this.recorder.record(x, this.s.stageIndex, err, now);
    if (this.onResult) {
      this.onResult(
        {
          status_code: err === null ? x.status : 0,
          latency_ms: latency === null ? null : round3(latency),
          timestamp: wallIso(x.startedAt),
          error: err === null ? null : errorText(err),
        },
        x.stage,
      );
    }
    if (this.openModel) this.openModel.release(x, now);
    else this.closedModel?.next(x, err !== null);
  }

  // ---- stages -------------------------------------------------------------------------------

  private enterStage(now: number): void {
    const s = this.s;
    while (s.stageIndex < this.stages.length) {
      const stage = this.stages[s.stageIndex]!;
      if (s.stageActiveBefore < stage.durationSeconds * 1000) break;
      s.stageIndex++;
      s.stageActiveBefore = 0;
    }
    if (s.stageIndex >= this.stages.length) {
      void this.finish('completed', now);
      return;
    }
    const stage = this.stages[s.stageIndex]!;
    s.generation++;
    s.segmentStart = now;
    this.emit('stage', s.stageIndex, stage);
    this.armStageTimer();
    this.openModel?.enterStage(now, stage);
    this.closedModel?.enterStage(stage);
  }

  private armStageTimer(): void {
    const stage = this.stages[this.s.stageIndex]!;
    const remaining = stage.durationSeconds * 1000 - this.s.stageActiveBefore;
    this.stageTimer = setTimeout(this.onStageTimer, Math.max(0, remaining));
  }

  private readonly onStageTimer = () => this.endStage();

  private endStage(): void {
    if (this.s.state !== 'running') return;
    const now = performance.now();
    this.openModel?.pump(now, PUMP_STAGE_END);
    this.runActiveBefore += now - this.s.segmentStart;
    this.stopTimers();
    this.closedModel?.stop();
    this.recorder.endStage(this.s.stageIndex);
    this.s.stageIndex++;
    this.s.stageActiveBefore = 0;
    this.enterStage(now);
  }

  /** The stage timer and the open model's next-send timer (virtual users' timers: closedModel.stop()). */
  private stopTimers(): void {
    if (this.stageTimer) clearTimeout(this.stageTimer);
    this.stageTimer = null;
    this.openModel?.stopTimer();
  }

  private flushSecond(final: boolean): void {
    const idle = this.s.state === 'paused' || final;
    this.recorder.flush(performance.now(), this.progress(), this.stages, idle, (point) =>
      this.emit('second', point),
    );
  }

  // ---- end ----------------------------------------------------------------------------------

  private async finish(state: 'completed' | 'stopped', now: number): Promise<void> {
    if (this.s.finishing) return;
    this.s.finishing = true;
    this.stopTimers();
    this.closedModel?.stop();
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
    const total = this.recorder.total;
    const result: LoadResult = {
      summary: this.summarize(total),
      histogram: total.histogram,
      rawHistogram: total.rawHistogram,
    };
    this.emit('end', result);
    this.resolveDone(result);
    if (!this.s.finishing) void this.pool.close();
  }

  private summarize(t: Bucket): LoadSummary {
    const s = this.s;
    return loadSummary(t, {
      model: this.model,
      state: s.state,
      startedAtPerf: this.startedAtPerf,
      endedAtPerf: this.endedAtPerf,
      activeMs: this.runActiveBefore + (s.state === 'running' ? performance.now() - s.segmentStart : 0),
      progress: this.progress(),
      thresholds: this.thresholds,
    });
  }

  private setState(state: LoadState): void {
    this.s.state = state;
    this.emit('state', state);
  }
}
