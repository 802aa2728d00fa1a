/** TypeBox shapes of POST /control/replay. */
import { type Static, Type } from 'typebox';
import { DateTime } from '../../../platform/http/schemas';
import { DETECTOR_LIMITS } from '../detectors';
import { DecisionJson, DetectorSettingsJson, HistoryPeriodJson } from './schemas';

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
  from: DateTime(),
  to: DateTime(),
  decisions: Type.Integer({ description: 'Decisions whose two windows lie inside the segment' }),
  switches: Type.Integer(),
  false_switch_rate: Type.Number({ description: 'switches / decisions' }),
});

export const SummaryJson = Type.Object({
  decisions: Type.Integer(),
  switches: Type.Integer({ description: 'Decisions that changed the status' }),
  up_seconds: Type.Number(),
  down_seconds: Type.Number(),
  unknown_seconds: Type.Number({
    description:
      'Time with no status: before the first live decision; in a replay with no live decision before it, before its first windows with readings',
  }),
  timeline: Type.Array(HistoryPeriodJson, { description: 'Merged status periods over the period' }),
  stationary: Type.Union([StationaryJson, Type.Null()]),
});

export const ReplayResponse = Type.Object({
  from: DateTime(),
  to: DateTime('Capped at the last decision time'),
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
