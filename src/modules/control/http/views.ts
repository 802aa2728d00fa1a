/** Mapping between the control routes' wire shapes (schemas.ts) and the domain (model.ts). */
import type { Static } from 'typebox';
import { badRequest } from '../../../platform/errors';
import { MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS } from '../../../platform/time';
import { cusumThreshold } from '../../../stats/cusum';
import type { ControlStatusView } from '../decisions.service';
import type { LiveEvent } from '../live.service';
import type { DetectorConfig, StatusPeriod, StoredDecision, WindowStats } from '../model';
import { parseSensorDatetime } from '../windows';
import type {
  DecisionJson,
  DetectorSettingsJson,
  HistoryPeriodJson,
  HistoryQueryT,
  StatusJson,
} from './schemas';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const NO_SECONDS = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2})((?:[Zz]|[+-]\d{2}:?\d{2})?)$/;
/** "…12:00:00 02:00": a time, a space, an offset (a '+' decoded as a space). */
const SPACE_OFFSET = /(\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}:?\d{2})$/;

/**
 * A query-string time: what parseSensorDatetime accepts, a date-time without seconds, or a bare date
 * (midnight UTC). An unencoded '+' of an offset arrives as a space ("12:00:00 02:00"); read it as the
 * '+' it was.
 */
export function queryDatetime(field: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const fixed = text
    .replace(SPACE_OFFSET, '$1+$2')
    .replace(NO_SECONDS, '$1:00$2')
    .replace(DATE_ONLY, (d) => `${d}T00:00:00Z`);
  const parsed = parseSensorDatetime(fixed);
  // JavaScript has a year 0 and years past 9999; PostgreSQL has no year 0 and ISO strings stop at 9999.
  if (parsed && (parsed.getTime() < MIN_TIMESTAMP_MS || parsed.getTime() > MAX_TIMESTAMP_MS)) {
    throw badRequest(
      'VALIDATION_FAILED',
      `querystring.${field}: must be between 0001-01-01 and 9999-12-31, got ${JSON.stringify(text.slice(0, 64))}`,
    );
  }
  if (!parsed) {
    throw badRequest(
      'VALIDATION_FAILED',
      `querystring.${field}: must be an ISO 8601 date or date-time, e.g. 2024-05-01T12:00:00Z, got ${JSON.stringify(text.slice(0, 64))}`,
    );
  }
  return parsed;
}

/**
 * The range of GET /history from whichever names the user sent (after/before or their aliases from/to):
 * a range that ends before it starts is a 400 naming those same parameters.
 */
export function historyRange(q: HistoryQueryT): { after?: Date; before?: Date } {
  const startName = q.after !== undefined ? 'after' : 'from';
  const endName = q.before !== undefined ? 'before' : 'to';
  const after = queryDatetime(startName, q.after ?? q.from);
  const before = queryDatetime(endName, q.before ?? q.to);
  if (after && before && after.getTime() > before.getTime()) {
    throw badRequest(
      'CONTROL_INVALID_RANGE',
      `querystring.${startName}: ${after.toISOString()} is later than ${endName} (${before.toISOString()}); ` +
        `pass a ${startName} at or before ${endName}`,
    );
  }
  return { after, before };
}

const finiteOrNull = (x: number | null) => (x !== null && Number.isFinite(x) ? x : null);

function windowJson(w: WindowStats) {
  return {
    from_datetime: w.start.toISOString(),
    to_datetime: w.end.toISOString(),
    n: w.n,
    mean: finiteOrNull(w.mean),
    std: finiteOrNull(w.std),
  };
}

export function decisionJson(d: StoredDecision): Static<typeof DecisionJson> {
  return {
    decided_at: d.decidedAt.toISOString(),
    made_at: d.madeAt.toISOString(),
    lag_ms: d.madeAt.getTime() - d.decidedAt.getTime(),
    previous_window: windowJson(d.prev),
    current_window: windowJson(d.curr),
    t: finiteOrNull(d.t),
    df: finiteOrNull(d.df),
    p: finiteOrNull(d.p),
    previous_status: d.previousStatus,
    status: d.status,
    changed: d.changed,
    reason: d.reason,
    detail: d.detail,
    missed: d.missed,
    delivered: d.delivered,
    delivery: d.delivery,
    delivery_error: d.deliveryError,
    leader_id: d.leaderId,
    detector: d.detector,
    cusum: d.cusum
      ? {
          z: finiteOrNull(d.cusum.z),
          se: finiteOrNull(d.cusum.se),
          s_up: d.cusum.up,
          s_down: d.cusum.down,
          threshold: d.cusum.threshold,
          k: d.cusum.k,
          arl: d.cusum.arl,
          alarm: d.cusum.alarm,
          reference: finiteOrNull(d.cusum.reference),
          baseline_n: d.cusum.baseline.n,
          baseline_windows: d.cusum.baseline.groups,
        }
      : null,
  };
}

export function detectorSettingsJson(c: DetectorConfig): Static<typeof DetectorSettingsJson> {
  return c.type === 'ttest'
    ? { type: 'ttest', alpha: c.alpha, min_dwell: c.minDwell }
    : { type: 'cusum', arl: c.arl, k: c.k, threshold: cusumThreshold(c.arl, c.k) };
}

/** SSE payloads: `decision` and `delivery` carry a decision, `live` the running window statistics. */
export function liveEventJson(e: LiveEvent): { event: string; data: unknown } {
  switch (e.type) {
    case 'decision':
    case 'delivery':
      return { event: e.type, data: decisionJson(e.decision) };
    case 'live':
      return {
        event: 'live',
        data: {
          at: e.at.toISOString(),
          current_window: windowJson(e.current),
          previous_window: windowJson(e.previous),
        },
      };
  }
}

export function periodJson(p: StatusPeriod): Static<typeof HistoryPeriodJson> {
  return { from_datetime: p.from.toISOString(), to_datetime: p.to.toISOString(), status: p.status };
}

export function statusJson(s: ControlStatusView): Static<typeof StatusJson> {
  return {
    status: s.status,
    leader: { this_process: s.isLeader, id: s.leaderId },
    loop: { enabled: s.settings.enabled, running: s.loopRunning },
    manipulator: {
      ...s.settings.manipulator,
      connected: s.manipulatorConnected,
      replies: s.manipulatorPeer === 'replies' ? true : s.manipulatorPeer === 'silent' ? false : null,
    },
    interval_seconds: s.settings.intervalMs / 1000,
    alpha: s.settings.alpha,
    min_dwell: s.settings.minDwell,
    detector: detectorSettingsJson(s.settings.detector),
    retention_seconds: s.settings.retentionMs / 1000,
    next_decision_at: s.nextDecisionAt.toISOString(),
    last_decision: s.lastDecision ? decisionJson(s.lastDecision) : null,
  };
}
