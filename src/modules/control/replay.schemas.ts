/** TypeBox shapes of POST /control/replay and the mapping between them and the replay service. */
import { type Static, Type } from 'typebox';
import { badRequest, unprocessable } from '../../platform/errors';
import {
  DecisionJson,
  DetectorSettingsJson,
  decisionJson,
  detectorSettingsJson,
  HistoryPeriodJson,
} from './api.schemas';
import { DETECTOR_LIMITS, type DetectorConfig } from './detectors';
import type { ReplayRequest, ReplayResult, ReplaySummary } from './replay.service';
import { parseSensorDatetime } from './windows';

const BodyInstant = (description: string) =>
  Type.String({
    maxLength: 64,
    description: `${description}. ISO 8601 date-time; offset optional (no offset = UTC)`,
    examples: ['2030-01-01T12:00:00Z'],
  });

export const ReplayBody = Type.Object(
  {
    from: BodyInstant('Period start: the first decision time replayed is the first one at or after it'),
    to: BodyInstant('Period end (inclusive; a time after the last decision is read as the last decision)'),
    detector: Type.Union([Type.Literal('ttest'), Type.Literal('cusum')], {
      default: 'ttest',
      description: 'ttest (alpha, min_dwell) or cusum (arl, k); omitted parameters take the live settings',
    }),
    alpha: Type.Optional(
      Type.Number({
        exclusiveMinimum: DETECTOR_LIMITS.alpha.exclusiveMin,
        exclusiveMaximum: DETECTOR_LIMITS.alpha.exclusiveMax,
        description: 'ttest: significance level, e.g. 0.05',
      }),
    ),
    min_dwell: Type.Optional(
      Type.Integer({
        minimum: DETECTOR_LIMITS.minDwell.min,
        maximum: DETECTOR_LIMITS.minDwell.max,
        description: 'ttest: decisions a status must hold before it may change again',
      }),
    ),
    arl: Type.Optional(
      Type.Number({
        minimum: DETECTOR_LIMITS.arl.min,
        maximum: DETECTOR_LIMITS.arl.max,
        description: 'cusum: target average run length in decisions between false switches, e.g. 500',
      }),
    ),
    k: Type.Optional(
      Type.Number({
        minimum: DETECTOR_LIMITS.k.min,
        maximum: DETECTOR_LIMITS.k.max,
        description: 'cusum: reference value in standard errors of a window mean, e.g. 0.5',
      }),
    ),
    stationary: Type.Optional(
      Type.Object(
        {
          from: BodyInstant('Start of a segment known to have no real change'),
          to: BodyInstant('End of that segment'),
        },
        {
          additionalProperties: false,
          description:
            'A sub-period with no real change: switches by decisions whose two windows lie inside it are ' +
            'false switches, and the summary reports their rate',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

const StationaryJson = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  decisions: Type.Integer({ description: 'Decisions whose two windows lie inside the segment' }),
  switches: Type.Integer(),
  false_switch_rate: Type.Number({ description: 'switches / decisions' }),
});

const SummaryJson = Type.Object({
  decisions: Type.Integer(),
  switches: Type.Integer({ description: 'Decisions that changed the status' }),
  up_seconds: Type.Number(),
  down_seconds: Type.Number(),
  unknown_seconds: Type.Number({ description: 'Time before the first decision ever (live only)' }),
  timeline: Type.Array(HistoryPeriodJson, { description: 'Merged status periods over the period' }),
  stationary: Type.Union([StationaryJson, Type.Null()]),
});

export const ReplayResponse = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time', description: 'Capped at the last decision time' }),
  interval_seconds: Type.Number(),
  detector: DetectorSettingsJson,
  start_status: Type.Union([Type.Literal('up'), Type.Literal('down')], {
    description: 'The live status in force at `from`, where the replay starts',
  }),
  decisions: Type.Array(DecisionJson, {
    description: 'As GET /decisions (oldest first); delivery is not_sent and leader_id is "replay"',
  }),
  /** The replayed decisions' counts; `live` has the same counts for the live controller's decisions. */
  summary: SummaryJson,
  live: SummaryJson,
});

export type ReplayBodyT = Static<typeof ReplayBody>;

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

/** The request in domain terms; detector parameters default to the live settings of the same detector. */
export function replayRequest(
  body: ReplayBodyT,
  live: { alpha: number; minDwell: number; arl: number; k: number },
): ReplayRequest {
  const type = body.detector ?? 'ttest';
  const foreign = type === 'ttest' ? CUSUM_ONLY : TTEST_ONLY;
  for (const f of foreign) {
    if (body[f] !== undefined) {
      throw unprocessable(
        'CONTROL_REPLAY_INVALID_DETECTOR',
        `body.${f}: applies to detector ${type === 'ttest' ? 'cusum' : 'ttest'} only; remove it or set detector to ${type === 'ttest' ? 'cusum' : 'ttest'}`,
      );
    }
  }
  const detector: DetectorConfig =
    type === 'ttest'
      ? { type, alpha: body.alpha ?? live.alpha, minDwell: body.min_dwell ?? live.minDwell }
      : { type, arl: body.arl ?? live.arl, k: body.k ?? live.k };
  return {
    from: bodyInstant('from', body.from),
    to: bodyInstant('to', body.to),
    detector,
    stationary: body.stationary && {
      from: bodyInstant('stationary.from', body.stationary.from),
      to: bodyInstant('stationary.to', body.stationary.to),
    },
  };
}

function summaryJson(s: ReplaySummary): Static<typeof SummaryJson> {
  return {
    decisions: s.decisions,
    switches: s.switches,
    up_seconds: s.upSeconds,
    down_seconds: s.downSeconds,
    unknown_seconds: s.unknownSeconds,
    timeline: s.timeline,
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
