/**
 * A capacity experiment's run in the worker that claimed it: the capacity search (capacity.ts) behind
 * the surface the runner drives a load engine through (start, pause, resume, stop, state). Every step
 * is stored as soon as it is judged (and the step under way when it starts), through `save`, which
 * writes only while this process holds the lease. Pause and stop abort the step under way (it is not
 * judged, and runs again from its start on resume); a search claimed again after a restart or a
 * takeover replays the stored steps and continues where they leave off.
 */
import { type CapacityResult, findCapacity } from './capacity';
import { emptyRecord, finalRecord } from './capacity.record';
import type { LoadOptions, LoadProgress, LoadState } from './engine';
import type { CapacityRecord, ExperimentSettings } from './model';
import { loadTargetOf } from './settings';

export interface CapacityRunOptions {
  settings: ExperimentSettings;
  /** What was stored before this claim (null: a fresh search). */
  record: CapacityRecord | null;
  lookup?: LoadOptions['lookup'];
  /** Stores the record; false when this process no longer holds the lease. */
  save: (record: CapacityRecord) => Promise<boolean>;
  /** A save found the lease lost. */
  onLost: () => void;
  /**
   * The search ended (`ended`) or was stopped; `final` is its record with the answer (`limitedBy`
   * `interrupted` when stopped); `error` when it could not run at all (the engine refused the target).
   */
  onEnd: (ended: boolean, final: CapacityRecord, error?: unknown) => void;
}

export class CapacityRun {
  private current: LoadState = 'idle';
  private controller: AbortController | null = null;
  private wake: (() => void) | null = null;
  private record: CapacityRecord;
  private writes: Promise<unknown> = Promise.resolve();
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly o: CapacityRunOptions) {
    this.record = o.record ?? emptyRecord();
  }

  get state(): LoadState {
    return this.current;
  }

  start(): Promise<void> {
    if (this.current !== 'idle') return this.done;
    this.current = 'running';
    this.done = this.loop();
    return this.done;
  }

  pause(): void {
    if (this.current !== 'running') return;
    this.current = 'paused';
    this.controller?.abort();
  }

  resume(): void {
    if (this.current !== 'paused') return;
    this.current = 'running';
    this.wake?.();
  }

  stop(): Promise<void> {
    if (this.current === 'idle') this.current = 'stopped';
    if (this.current === 'running' || this.current === 'paused') this.current = 'stopping';
    this.controller?.abort();
    this.wake?.();
    return this.done;
  }

  /** No profiles: a capacity run stays at position 0 (its progress is its stored steps). */
  progress(): LoadProgress {
    return {
      state: this.current,
      stageIndex: 0,
      stageCount: 1,
      elapsedInStageMs: 0,
      stageDurationMs: 0,
      inFlight: 0,
    };
  }

  private write(record: CapacityRecord): void {
    this.record = record;
    this.writes = this.writes
      .then(() => this.o.save(record))
      .then((held) => {
        if (!held) this.o.onLost();
      });
  }

  private async loop(): Promise<void> {
    const { settings } = this.o;
    const search = settings.search!;
    let result: CapacityResult | null = null;
    let error: unknown;
    try {
      while (this.current !== 'stopping') {
        if (this.current === 'paused') {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          this.wake = null;
          continue;
        }
        this.controller = new AbortController();
        result = await findCapacity({
          target: loadTargetOf(settings),
          slo: settings.slo!,
          startRps: search.start_rps,
          maxRps: search.max_rps,
          windowSeconds: search.window_seconds,
          warmupSeconds: search.warmup_seconds,
          precision: search.precision,
          attempts: search.attempts,
          maxSteps: search.max_steps,
          timeoutMs: settings.timeout_ms,
          successStatuses: settings.success_statuses ?? undefined,
          lookup: this.o.lookup,
          resume: this.record.steps.map(({ at: _, ...step }) => step),
          signal: this.controller.signal,
          onStepStart: (index, phase, rate) =>
            this.write({ ...this.record, current: { index, phase, rateRps: rate } }),
          onStep: (step) =>
            this.write({
              ...this.record,
              current: null,
              steps: [...this.record.steps, { ...step, at: new Date() }],
              capacityRps: step.held ? step.rateRps : this.record.capacityRps,
              // A rate fails once its last attempt fails (capacity.ts); both answers only move inwards.
              failedRps: !step.held && step.attempt >= search.attempts ? step.rateRps : this.record.failedRps,
            }),
        });
        if (result.limitedBy !== 'interrupted') break;
        // Paused (or stopping): the step under way was dropped; no step runs until resumed.
        if (this.record.current) this.write({ ...this.record, current: null });
      }
    } catch (err) {
      error = err;
    } finally {
      await this.writes.catch(() => undefined);
      const ended = result !== null && result.limitedBy !== 'interrupted';
      this.current = ended ? 'completed' : 'stopped';
      const final: CapacityRecord = result
        ? finalRecord(result, this.record.steps)
        : { ...this.record, current: null, limitedBy: 'interrupted' };
      this.o.onEnd(ended, final, error);
    }
  }
}
