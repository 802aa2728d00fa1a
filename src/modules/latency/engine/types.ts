/** The load engine's public types and defaults (see engine.ts). */
import type { LookupFunction } from 'node:net';
import type { LatencyHistogram, LatencySummary } from '../../../stats/histogram';

export type LoadModel = 'closed' | 'arrival-rate';

export interface LoadTarget {
  /** Full URL (`http://host:port/path?query`); or give scheme/host/port/path. */
  url?: string;
  scheme?: 'http' | 'https';
  host?: string;
  port?: number;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | null;
}

/** The seed's load profile. Open model: `users / intervalSeconds` requests per second. */
export interface LoadStage {
  users: number;
  durationSeconds: number;
  intervalSeconds: number;
}

/** Where to continue a run (e.g. after a restart): `elapsedMs` of stage `stageIndex` already ran. */
export interface StartAt {
  stageIndex: number;
  elapsedMs: number;
}

export interface Thresholds {
  p50_ms?: number;
  p90_ms?: number;
  p99_ms?: number;
  mean_ms?: number;
  /** Minimum percent (0-100) of requests answered with a success status. */
  success_rate?: number;
  /** Maximum percent (0-100) of requests that got no HTTP response at all (transport errors). */
  error_rate?: number;
}

export interface ThresholdCheck {
  name: keyof Thresholds;
  limit: number;
  /** null when there is nothing to measure (no requests / no latencies); such a check fails. */
  actual: number | null;
  passed: boolean;
}

export interface ThresholdReport {
  passed: boolean;
  checks: ThresholdCheck[];
}

/** One request, as the seed's ExperimentResult. Transport error: status_code 0, latency_ms null. */
export interface RequestResult {
  status_code: number;
  latency_ms: number | null;
  timestamp: string;
  error: string | null;
}

export interface LoadOptions {
  target: LoadTarget;
  stages: LoadStage[];
  model?: LoadModel;
  /** Connect, response-headers and between-body-chunks timeout, each; default 10 000 ms. */
  timeoutMs?: number;
  /** Statuses that count as success; default every 2xx. */
  successStatuses?: Iterable<number>;
  /** Sockets to the target; default the largest stage's users (closed) or min(maxInFlight, 100) (open). */
  connections?: number;
  /** HTTP/1.1 pipelining depth per socket; default 1 (none). */
  pipelining?: number;
  /**
   * Open model only: most requests outstanding at once (default 1000). A request due while the cap is
   * reached waits and is sent late (its latency still counts from its scheduled time); one that waited
   * longer than `timeoutMs`, or is still unsent when the stage ends or the run pauses, is dropped.
   */
  maxInFlight?: number;
  thresholds?: Thresholds;
  startAt?: StartAt;
  /** Called for every finished request with the index of the stage that scheduled it (for a raw-record sink); keep it cheap. */
  onResult?: (result: RequestResult, stage: number) => void;
  /** Resolves host names for the engine's sockets (e.g. one that refuses addresses off an allowlist). */
  lookup?: LookupFunction;
}

export type LoadState = 'idle' | 'running' | 'paused' | 'stopping' | 'completed' | 'stopped';

export interface LoadProgress {
  state: LoadState;
  stageIndex: number;
  stageCount: number;
  /** Active (not paused) time spent in the current stage; feed back as `startAt.elapsedMs`. */
  elapsedInStageMs: number;
  stageDurationMs: number;
  /** Requests sent and not yet answered. */
  inFlight: number;
}

export interface LoadCounters {
  /** Finished requests: answered, or failed without an answer. */
  requests: number;
  successes: number;
  failures: number;
  /** `status` (answered with a non-success status) or a transport error kind (`timeout`, ...). */
  failuresByKind: Record<string, number>;
  statusCodes: Record<string, number>;
  /** Open model: sent more than LATE_AFTER_MS after their scheduled time. */
  late: number;
  /** Open model: due but never sent (see `maxInFlight`). */
  dropped: number;
}

/** One second of the run; `histogram` is in µs and can be encoded with `encodeHistogram`. */
export interface SecondBucket extends LoadCounters {
  timestamp: string;
  durationMs: number;
  stageIndex: number;
  elapsedInStageMs: number;
  latency: LatencySummary;
  rawLatency: LatencySummary | null;
  histogram: LatencyHistogram;
  rawHistogram: LatencyHistogram | null;
}

export interface LoadSummary extends LoadCounters {
  model: LoadModel;
  state: LoadState;
  startedAt: string;
  endedAt: string | null;
  /** Time spent running (pauses excluded). */
  activeMs: number;
  rps: number;
  successRate: number;
  errorRate: number;
  /** Closed: from send to last body byte. Open: from the scheduled send time (coordinated-omission corrected). */
  latency: LatencySummary;
  /** Open model only: from the actual write to the socket, as a closed-loop tool would report. */
  rawLatency: LatencySummary | null;
  progress: LoadProgress;
  thresholds: ThresholdReport | null;
}

export interface LoadResult {
  summary: LoadSummary;
  histogram: LatencyHistogram;
  rawHistogram: LatencyHistogram | null;
}

export interface LoadRunEvents {
  stage: [index: number, stage: LoadStage];
  second: [bucket: SecondBucket];
  state: [state: LoadState];
  end: [result: LoadResult];
}

/** Sent later than this after its scheduled time counts as late (timers alone add ~1-2 ms). */
export const LATE_AFTER_MS = 10;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_IN_FLIGHT = 1000;
