import { performance } from 'node:perf_hooks';
import { Exchange, type ExchangeOwner } from './exchange';
import type { Http1Pool } from './http1';
import type { Recorder } from './recorder';
import type { RunState } from './run-state';
import { LATE_AFTER_MS, type LoadStage } from './types';

/** Why the open model is pumped: a timer or a completion, or the end of sending (pause, stop, stage end). */
export const PUMP_TICK = 0;
export const PUMP_DROP = 1;
export const PUMP_STAGE_END = 2;
type PumpMode = typeof PUMP_TICK | typeof PUMP_DROP | typeof PUMP_STAGE_END;

/**
 * The open (arrival-rate) model: `users / intervalSeconds` requests per second on a fixed schedule,
 * whatever the target's answers; latency counts from each request's scheduled time.
 */
export class OpenModel {
  /** Index (within the stage) of the next request to send, and the gap between them. */
  private nextIndex = 0;
  private periodMs = 0;
  private free: Exchange[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly s: RunState,
    private readonly stages: readonly LoadStage[],
    private readonly pool: Http1Pool,
    private readonly owner: ExchangeOwner,
    private readonly recorder: Recorder,
    private readonly limits: { timeoutMs: number; maxInFlight: number },
  ) {}

  /** Continues the schedule of the current stage where its active time stands. */
  enterStage(now: number, stage: LoadStage): void {
    this.periodMs = stage.users > 0 ? (stage.intervalSeconds * 1000) / stage.users : Number.POSITIVE_INFINITY;
    this.nextIndex = Math.ceil(this.s.stageActiveBefore / this.periodMs);
    this.pump(now, PUMP_TICK);
  }

  /**
   * Sends every request whose scheduled time has come, up to `maxInFlight`. On a pause, stop or stage
   * end, whatever is due but cannot be sent now is dropped (a stage end counts the stage as fully due,
   * as its timer may fire a fraction of a millisecond early).
   */
  pump(now: number, mode: PumpMode): void {
    const s = this.s;
    if (s.state !== 'running' || s.finishing) return;
    const stage = this.stages[s.stageIndex]!;
    const durationMs = stage.durationSeconds * 1000;
    const activeNow =
      mode === PUMP_STAGE_END
        ? durationMs
        : Math.min(s.stageActiveBefore + (now - s.segmentStart), durationMs);
    const period = this.periodMs;
    if (!Number.isFinite(period)) return;
    // Due requests that waited longer than the timeout would only measure our own backlog: drop them.
    const oldestUseful = Math.ceil((activeNow - this.limits.timeoutMs) / period);
    if (oldestUseful > this.nextIndex) {
      this.recorder.bucket.dropped += oldestUseful - this.nextIndex;
      this.nextIndex = oldestUseful;
    }
    while (s.inFlight < this.limits.maxInFlight) {
      const due = this.nextIndex * period;
      if (due > activeNow || due >= durationMs) break;
      this.nextIndex++;
      const scheduledAt = s.segmentStart + (due - s.stageActiveBefore);
      if (now - scheduledAt > LATE_AFTER_MS) this.recorder.bucket.late++;
      const x = this.free.pop() ?? new Exchange(this.owner);
      x.status = 0;
      x.stage = s.stageIndex;
      x.startedAt = scheduledAt;
      x.sentAt = now;
      s.inFlight++;
      this.pool.dispatch(x);
    }
    if (mode !== PUMP_TICK) {
      const dueCount = Math.min(Math.floor(activeNow / period) + 1, Math.ceil(durationMs / period));
      if (dueCount > this.nextIndex) {
        this.recorder.bucket.dropped += dueCount - this.nextIndex;
        this.nextIndex = dueCount;
      }
      return;
    }
    // Woken by a timer for the next due request; when capped, completions pump instead.
    if (this.timer === null && s.inFlight < this.limits.maxInFlight) {
      const due = this.nextIndex * period;
      if (due < durationMs) {
        const wait = s.segmentStart + (due - s.stageActiveBefore) - now;
        this.timer = setTimeout(this.onTimer, Math.max(0, wait));
      }
    }
  }

  /** A request ended: its exchange is reused, and its slot may let a due request go. */
  release(x: Exchange, now: number): void {
    this.free.push(x);
    if (this.s.state === 'running') this.pump(now, PUMP_TICK);
  }

  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly onTimer = () => {
    this.timer = null;
    this.pump(performance.now(), PUMP_TICK);
  };
}
