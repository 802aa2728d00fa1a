/**
 * The latency module's domain: experiments, their states and transitions, segments, series, groups,
 * capacity records — camelCase, `Date` for times. Three shapes stay in the wire's snake_case names, as
 * documents: what a client sends (`ExperimentSpec`: errors name its fields), and an experiment's settings
 * and summary, stored as JSON documents and shown as stored (`experiment_stream` sends them in their
 * stored key order).
 */

import type { LatencySummary } from '../../stats/histogram';
import type { CapacityResult, CapacityStep } from './capacity';
import type { LoadCounters, LoadModel, RequestResult, ThresholdReport, Thresholds } from './engine';

/** `failed`: an aborting threshold failed on the merged numbers and stopped every segment. */
export type ExperimentState = 'created' | 'running' | 'paused' | 'completed' | 'stopped' | 'failed';
export type Action = 'start' | 'pause' | 'stop';

/** created -> running -> paused -> running -> completed; stop from any unfinished state. */
export const TRANSITIONS: Record<Action, Partial<Record<ExperimentState, ExperimentState>>> = {
  start: { created: 'running', paused: 'running' },
  pause: { running: 'paused' },
  stop: { created: 'stopped', running: 'stopped', paused: 'stopped' },
};

export const isFinal = (s: ExperimentState) => s === 'completed' || s === 'stopped' || s === 'failed';

/** An experiment's thresholds: the limits, and whether a failure aborts the run. */
export interface ExperimentThresholds extends Thresholds {
  /** Evaluate every second on the merged numbers; on a failure stop every segment and end `failed`. */
  abort?: boolean;
  /** With `abort`: only once the failure has held this long (default 0). */
  abort_after_seconds?: number;
}

/** The original API's LoadProfile. Open model: users / interval_seconds requests per second. */
export interface LoadProfile {
  users: number;
  duration_seconds: number;
  interval_seconds: number;
}

/** `capacity`: a capacity search (capacity.ts) instead of load profiles. */
export type ExperimentModel = LoadModel | 'capacity';

/** How a capacity experiment searches (the defaults of `telelab load --find-capacity`). */
export interface CapacitySearch {
  start_rps: number;
  max_rps: number;
  window_seconds: number;
  warmup_seconds: number;
  /** The bisection stops when (failed − held) ≤ precision × held (or 1 req/s). */
  precision: number;
  /** A rate fails only after this many failed steps in a row. */
  attempts: number;
  max_steps: number;
}

/** The settings an experiment runs with: a document, stored and shown as it is (snake_case). */
export interface ExperimentSettings {
  host: string;
  port: number;
  scheme: 'http' | 'https';
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  model: ExperimentModel;
  /** Empty for a capacity experiment (the search chooses its rates). */
  load_profiles: LoadProfile[];
  thresholds: ExperimentThresholds | null;
  timeout_ms: number;
  /** Statuses counted as success; null = every 2xx. */
  success_statuses: number[] | null;
  /** Parts run by different worker processes (1-64); absent in experiments made before segments. */
  segments?: number;
  /** Capacity experiments only: the SLO a rate must hold, and how the search runs. */
  slo?: Thresholds;
  search?: CapacitySearch;
}

/** What a client sends to create one experiment (omitted fields take the defaults), in its names. */
export interface ExperimentSpec {
  name: string;
  host: string;
  port: number;
  /** Required unless `model` is `capacity`. */
  load_profiles?: LoadProfile[];
  scheme?: 'http' | 'https';
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | null;
  model?: ExperimentModel;
  thresholds?: ExperimentThresholds | null;
  timeout_ms?: number;
  success_statuses?: number[] | null;
  segments?: number;
  slo?: Record<string, unknown> | null;
  search?: Partial<CapacitySearch> | null;
}

/** An experiment's (or a segment's) numbers: a document, stored and shown as it is (snake_case). */
export interface ExperimentSummary {
  requests: number;
  successes: number;
  failures: number;
  /** Percent 0-100 of requests answered with a success status. */
  success_rate: number | null;
  /** Percent 0-100 of requests that got no answer at all. */
  error_rate: number | null;
  failures_by_kind: Record<string, number>;
  status_codes: Record<string, number>;
  late: number;
  dropped: number;
  /** Running time (pauses excluded) covered so far. */
  active_ms: number;
  rps: number;
  /** Every answered request (any status); requests with no answer have no latency. */
  latency: LatencySummary;
  raw_latency: LatencySummary | null;
  thresholds: ThresholdReport | null;
  /** Requests answered after their runner lost its lease, which it could not record (normally 0). */
  interrupted: number;
}

export interface Experiment {
  id: string;
  name: string;
  settings: ExperimentSettings;
  state: ExperimentState;
  currentProfileIndex: number;
  progressMs: number;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  summary: ExperimentSummary;
  histogram: string | null;
  rawHistogram: string | null;
  secondsRecorded: number;
  rawResultsCount: number;
  /** Segments some process holds now (0 once every runner let go). */
  leasedSegments: number;
  /** When the segments' first runs start (a shared time, so their profiles line up). */
  runStartAt: Date | null;
  /** Why it ended `failed` (the threshold and the value measured); null otherwise. */
  verdict: string | null;
  /** A capacity experiment's steps and answer so far (null for the other models, or before it ran). */
  capacity: CapacityRecord | null;
}

/** Where a capacity experiment's search stands: every step judged, the step under way, and the answer. */
export interface CapacityRecord {
  /** The highest rate that held so far (final once `limitedBy` is set). */
  capacityRps: number | null;
  /** The lowest rate that failed so far. */
  failedRps: number | null;
  /** Why the search ended (see capacity.ts); null while it runs. */
  limitedBy: CapacityResult['limitedBy'] | null;
  /** The step being run now (null between steps and once finished). */
  current: { index: number; phase: CapacityStep['phase']; rateRps: number } | null;
  /** Each step with `at`, when it was judged. */
  steps: (CapacityStep & { at?: Date })[];
}

/** One segment of an experiment, as result_experiment and experiment_stats list them. */
export interface Segment {
  index: number;
  /** The process running it now, or the last one that did (null before any). */
  worker: string | null;
  /** running (a process holds it), pending (waiting for one) or done (its profiles ran out). */
  state: 'pending' | 'running' | 'done';
  currentProfileIndex: number;
  progressMs: number;
  summary: ExperimentSummary | null;
  runAttempts: number;
}

/** One second of an experiment (of one profile): the engine's counters and their latencies. */
export interface SeriesPoint extends LoadCounters {
  second: number;
  ts: Date;
  durationMs: number;
  profileIndex: number;
  elapsedInProfileMs: number;
  latency: LatencySummary;
  rawLatency: LatencySummary | null;
}

export type RawResult = RequestResult;

export interface Group {
  id: string;
  name: string;
  state: ExperimentState;
  createdAt: Date;
  updatedAt: Date;
  experimentIds: string[];
}

export interface Page<T> {
  items: T[];
  total: number;
}
