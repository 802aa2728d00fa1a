/**
 * One segment this process runs: the engine that drives it (the load engine, or a capacity search) and
 * what the runner keeps about it while it runs.
 */
import type { LoadProgress, LoadState } from '../engine';
import type { ExperimentSettings, RawResult } from '../model';
import type { Position, SegmentRef } from '../runs.store';
import type { Totals } from '../summary';

/** Why this process stopped the engine, when it was not the profiles running out. */
export type StopReason = 'stopped' | 'released' | 'lost' | 'abandoned';

/** What a run drives: the load engine, or a capacity experiment's search (capacity.run.ts). */
export interface RunEngine {
  readonly state: LoadState;
  start(): Promise<unknown>;
  pause(): void;
  resume(): void;
  stop(): Promise<unknown>;
  progress(): LoadProgress;
}

export interface ActiveRun extends SegmentRef {
  key: string;
  settings: ExperimentSettings;
  engine: RunEngine;
  /** This segment's own cumulative numbers (the experiment's merge lives in the database). */
  totals: Totals;
  /** Raw records this run may still keep (the cap minus what was stored when it was claimed). */
  rawRoom: number;
  raw: RawResult[];
  reason: StopReason | null;
  /** Requests that ended after the lease was lost (or in a second whose write found it lost). */
  unrecorded: number;
  /** When the last successful claim or renewal was sent (performance.now()). */
  renewedAt: number;
  startTimer: NodeJS.Timeout | null;
  writes: Promise<void>;
  /** Resolves `done`, once the run's last write has ended. */
  finished: () => void;
  done: Promise<void>;
}

export const keyOf = (r: SegmentRef) => `${r.id}:${r.segment}`;

export const positionOf = (p: Pick<LoadProgress, 'stageIndex' | 'elapsedInStageMs'>): Position => ({
  profileIndex: p.stageIndex,
  progressMs: p.elapsedInStageMs,
});
