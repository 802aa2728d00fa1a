/** Mapping between POST /control/replay's wire shapes (replay.schemas.ts) and the replay service. */
import type { Static } from 'typebox';
import { badRequest, invalidInput } from '../../../platform/errors';
import type { DetectorConfig } from '../model';
import type { ReplayRequest, ReplayResult, ReplaySummary } from '../replay.service';
import { parseSensorDatetime } from '../windows';
import type { ReplayBodyT, ReplayResponse, SummaryJson } from './replay.schemas';
import { decisionJson, detectorSettingsJson, periodJson } from './views';

function bodyInstant(field: string, text: string): Date {
  const d = parseSensorDatetime(text);
  if (!d) {
    throw badRequest(
      'VALIDATION_FAILED',
      `body.${field}: must be an ISO 8601 date-time, e.g. 2030-01-01T12:00:00Z, got ${JSON.stringify(text.slice(0, 64))}`,
    );
  }
  return d;
}

const CUSUM_ONLY = ['arl', 'k'] as const;
const TTEST_ONLY = ['alpha', 'min_dwell'] as const;

/**
 * The request in domain terms; detector parameters default to the live settings of the same detector.
 * A malformed time is 400 (as a schema error); a parameter of the other detector or a period that ends
 * before it starts is an input error the route answers 422.
 */
export function replayRequest(
  body: ReplayBodyT,
  live: { alpha: number; minDwell: number; arl: number; k: number },
): ReplayRequest {
  const type = body.detector ?? 'ttest';
  const foreign = type === 'ttest' ? CUSUM_ONLY : TTEST_ONLY;
  for (const f of foreign) {
    if (body[f] !== undefined) {
      const other = type === 'ttest' ? 'cusum' : 'ttest';
      throw invalidInput(
        f,
        `applies to detector ${other} only; remove it or set detector to ${other}`,
        'CONTROL_REPLAY_INVALID_DETECTOR',
      );
    }
  }
  const detector: DetectorConfig =
    type === 'ttest'
      ? { type, alpha: body.alpha ?? live.alpha, minDwell: body.min_dwell ?? live.minDwell }
      : { type, arl: body.arl ?? live.arl, k: body.k ?? live.k };
  const from = bodyInstant('from', body.from);
  const to = bodyInstant('to', body.to);
  const stationary = body.stationary && {
    from: bodyInstant('stationary.from', body.stationary.from),
    to: bodyInstant('stationary.to', body.stationary.to),
  };
  if (from.getTime() >= to.getTime()) {
    throw invalidInput(
      'to',
      `must be later than body.from (${from.toISOString()})`,
      'CONTROL_REPLAY_INVALID_PERIOD',
    );
  }
  return {
    from,
    to,
    detector,
    stationary,
  };
}

function summaryJson(s: ReplaySummary): Static<typeof SummaryJson> {
  return {
    decisions: s.decisions,
    switches: s.switches,
    up_seconds: s.upSeconds,
    down_seconds: s.downSeconds,
    unknown_seconds: s.unknownSeconds,
    timeline: s.timeline.map(periodJson),
    stationary: s.stationary && {
      from: s.stationary.from.toISOString(),
      to: s.stationary.to.toISOString(),
      decisions: s.stationary.decisions,
      switches: s.stationary.switches,
      false_switch_rate: s.stationary.falseSwitchRate,
    },
  };
}

export function replayJson(r: ReplayResult): Static<typeof ReplayResponse> {
  return {
    from: r.from.toISOString(),
    to: r.to.toISOString(),
    interval_seconds: r.intervalMs / 1000,
    detector: detectorSettingsJson(r.detector),
    start_status: r.startStatus,
    decisions: r.decisions.map(decisionJson),
    summary: summaryJson(r.replay),
    live: summaryJson(r.live),
  };
}
