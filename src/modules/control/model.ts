/**
 * The control module's domain: readings, windows, decisions, status periods and settings, in camelCase
 * with Dates. Stores convert rows to these, http/views.ts converts them to the wire.
 */
import type { PooledBaseline } from '../../stats/cusum';

export type ControlStatus = 'up' | 'down';

/** A half-open time range [start, end). */
export interface TimeWindow {
  start: Date;
  end: Date;
}

/** Summary of the readings in one window [start, end). `std` is the sample standard deviation (n - 1). */
export interface WindowStats extends TimeWindow {
  n: number;
  mean: number;
  std: number;
}

/** One sensor reading as stored. */
export interface NewReading {
  datetime: Date;
  payload: number;
}

/** Stable, machine-friendly outcome codes (stored with each decision; `detail` is the human text). */
export type DecisionReason =
  /** p < alpha and the mean rose. */
  | 'significant_increase'
  /** p < alpha and the mean fell. */
  | 'significant_decrease'
  /** p >= alpha: the status stays. */
  | 'not_significant'
  /** Fewer than 2 readings in either window: no variance estimate, the status stays. */
  | 'insufficient_data'
  /** Both windows constant with the same value: the status stays. */
  | 'zero_variance_equal_means'
  /** Both windows constant, the value rose (a certain change, p = 0). */
  | 'zero_variance_increase'
  /** Both windows constant, the value fell. */
  | 'zero_variance_decrease'
  /** The test asked for a change but the status has not been held for `minDwellDecisions` yet. */
  | 'min_dwell'
  /** Non-finite statistics or options: the status stays. */
  | 'invalid_input'
  /** CUSUM: S+ crossed the threshold (the mean rose against the baseline). */
  | 'cusum_increase'
  /** CUSUM: S- crossed the threshold. */
  | 'cusum_decrease'
  /** CUSUM: both sums below the threshold: the status stays. */
  | 'cusum_below_threshold'
  /** CUSUM: no baseline yet; this window starts it, the status stays. */
  | 'cusum_baseline';

export type DetectorName = 'ttest' | 'cusum';

export type DetectorConfig =
  | { type: 'ttest'; alpha: number; minDwell: number }
  | {
      type: 'cusum';
      /** Target in-control average run length, in decisions: one false switch per `arl` decisions. */
      arl: number;
      /** Reference value in standard errors of a window mean: half the shift to detect fastest. */
      k: number;
    };

/** What a CUSUM decision computed and the state it leaves (stored as JSON with the decision). */
export interface CusumRecord {
  /** Standardised residual of the current window against the baseline; null when not computed. */
  z: number | null;
  /** Standard error of (window mean - baseline mean); null when not computed. */
  se: number | null;
  /** S+ and S- after this window (before a reset). */
  up: number;
  down: number;
  threshold: number;
  k: number;
  arl: number;
  alarm: 'up' | 'down' | null;
  /** Baseline mean the window was compared with; null when there was none. */
  reference: number | null;
  /** The baseline the next decision compares with (empty after an alarm: the next window starts it). */
  baseline: PooledBaseline;
}

/**
 * How the manipulator link confirms a command (MANIPULATOR_ACK):
 * - `on`: a command is `acknowledged` when the manipulator replies `ok` to its line (replies come in
 *   order, see manipulator-protocol.ts); a close without that reply is a failure.
 * - `off`: fire-and-forget: a command is `sent` once its line is written to the socket.
 * - `auto` (default): wait for the reply, but a peer that has never replied and closes the connection
 *   cleanly (FIN, no reset) after reading a line is a one-command-per-connection manipulator like the
 *   original Python socketserver one: that line is `sent`, and from then on every clean close is expected
 *   (no warning, no backoff; the next command opens a new connection). A peer that keeps the connection
 *   open and never answers cannot be told from a hung one: that stays a timeout failure.
 */
export type AckMode = 'auto' | 'on' | 'off';

/**
 * acknowledged: the manipulator replied `ok`. sent: written to a manipulator that does not reply (and, in
 * auto mode, read by it: it closed the connection cleanly afterwards). failed: neither.
 */
export type DeliveryOutcome = 'acknowledged' | 'sent' | 'failed';

/** How one command's delivery ended. */
export interface SendResult {
  /** True when acknowledged or sent. */
  delivered: boolean;
  outcome: DeliveryOutcome;
  error?: string;
}

/** pending until the command's fate is known; not_sent for decisions that are never sent (replay). */
export type DeliveryState = 'pending' | DeliveryOutcome | 'not_sent';

/** What the manipulator client has learned about its peer: whether it replies to commands. */
export type PeerKind = 'unknown' | 'replies' | 'silent';

/** A decision with its windows, statistics, outcome and delivery, as stored and served. */
export interface StoredDecision {
  decidedAt: Date;
  madeAt: Date;
  prev: WindowStats;
  curr: WindowStats;
  t: number | null;
  df: number | null;
  p: number | null;
  previousStatus: ControlStatus;
  status: ControlStatus;
  changed: boolean;
  reason: DecisionReason;
  detail: string;
  sinceChange: number | null;
  missed: number;
  delivered: boolean | null;
  delivery: DeliveryState;
  deliveryError: string | null;
  leaderId: string;
  detector: DetectorName;
  /** CUSUM statistics and state; null for ttest decisions. */
  cusum: CusumRecord | null;
}

export interface DecisionQuery {
  after?: Date;
  before?: Date;
  limit: number;
  order: 'asc' | 'desc';
}

/** "From `at` on, the status is `status`": what the status history is built from. */
export interface StatusPoint {
  at: Date;
  status: ControlStatus;
}

/** One merged status period [from, to). */
export interface StatusPeriod {
  from: Date;
  to: Date;
  status: ControlStatus;
}

/** The controller's settings, from config, as the status route and replay see them. */
export interface ControlSettings {
  intervalMs: number;
  alpha: number;
  minDwell: number;
  /** The live controller's detector (CONTROL_DETECTOR and its parameters). */
  detector: DetectorConfig;
  retentionMs: number;
  enabled: boolean;
  manipulator: { host: string; port: number; ack: AckMode };
}
