/** TypeBox shapes of the control routes: validation, OpenAPI and `Static<>` types. */
import { type Static, Type } from 'typebox';
import { DateTime } from '../../../platform/http/schemas';

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

export const SensorReadingBody = Type.Object(
  {
    datetime: Type.String({
      maxLength: 64,
      description:
        'When the sensor measured the value: ISO 8601, fraction and offset optional (no offset = UTC)',
      examples: ['2024-05-01T12:00:05'],
    }),
    payload: Type.Integer({ minimum: INT32_MIN, maximum: INT32_MAX, examples: [104] }),
  },
  { additionalProperties: false },
);

export const IngestResponse = Type.Object({
  accepted: Type.Boolean(),
  reason: Type.Optional(
    Type.Literal('outdated', {
      description: 'Created before the last decision (start of the current window): ignored, not stored',
    }),
  ),
});

const QueryInstant = (description: string) =>
  Type.Optional(
    Type.String({
      maxLength: 64,
      description: `${description}. ISO 8601 date or date-time; offset optional (no offset = UTC)`,
    }),
  );
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

const WindowJson = Type.Object({
  from_datetime: DateTime(),
  to_datetime: DateTime(),
  n: Type.Integer(),
  mean: NullableNumber,
  std: Type.Union([Type.Number(), Type.Null()], { description: 'Sample standard deviation (n - 1)' }),
});

const CusumJson = Type.Object(
  {
    z: Type.Union([Type.Number(), Type.Null()], {
      description:
        '(window mean - baseline mean) / se; null when not computed (no data, no baseline, constant readings)',
    }),
    se: Type.Union([Type.Number(), Type.Null()], {
      description: 'Standard error of that difference: pooled within-window std * sqrt(1/n + 1/N_baseline)',
    }),
    s_up: Type.Number({ description: 'S+ after this window (compared with the threshold)' }),
    s_down: Type.Number({ description: 'S- after this window' }),
    threshold: Type.Number({ description: 'h, derived from arl and k' }),
    k: Type.Number(),
    arl: Type.Number(),
    alarm: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Null()]),
    reference: Type.Union([Type.Number(), Type.Null()], { description: 'Baseline mean compared with' }),
    baseline_n: Type.Integer({ description: 'Readings in the baseline the next decision compares with' }),
    baseline_windows: Type.Integer(),
  },
  { description: 'CUSUM statistics (null for ttest decisions)' },
);

export const DecisionJson = Type.Object({
  decided_at: DateTime('t_k, the aligned decision time'),
  made_at: DateTime(),
  lag_ms: Type.Number({ description: 'made_at - decided_at' }),
  previous_window: WindowJson,
  current_window: WindowJson,
  t: Type.Union([Type.Number(), Type.Null()], {
    description: "Welch's t (current - previous); null when not run or infinite (both windows constant)",
  }),
  df: NullableNumber,
  p: NullableNumber,
  previous_status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  changed: Type.Boolean(),
  reason: Type.String({
    description: 'Machine-readable outcome, e.g. significant_increase, not_significant',
  }),
  detail: Type.String(),
  missed: Type.Integer({ description: 'Decision times skipped right before this one' }),
  delivered: Type.Union([Type.Boolean(), Type.Null()], {
    description: 'null while the command is in flight; true when acknowledged or sent',
  }),
  delivery: Type.Union(
    [
      Type.Literal('pending'),
      Type.Literal('acknowledged'),
      Type.Literal('sent'),
      Type.Literal('failed'),
      Type.Literal('not_sent'),
    ],
    {
      description:
        'pending: in flight; acknowledged: the manipulator replied ok; sent: written to a manipulator that ' +
        'never replies (in auto mode: it read the line and closed the connection cleanly); failed: see ' +
        'delivery_error; not_sent: a replayed decision',
    },
  ),
  delivery_error: Type.Union([Type.String(), Type.Null()]),
  leader_id: Type.String(),
  detector: Type.Union([Type.Literal('ttest'), Type.Literal('cusum')], {
    description: 'The detector that made the decision; `reason` and `detail` say why',
  }),
  cusum: Type.Union([CusumJson, Type.Null()]),
});

export const DecisionsQuery = Type.Object({
  after: QueryInstant('Only decisions strictly after this time'),
  before: QueryInstant('Only decisions strictly before this time'),
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  order: Type.Union([Type.Literal('desc'), Type.Literal('asc')], {
    default: 'desc',
    description: 'desc: newest first; asc: oldest first (to page forward with after=)',
  }),
});

export const HistoryQuery = Type.Object({
  after: QueryInstant('Range start (default: the first decision)'),
  before: QueryInstant('Range end (default and upper bound: now)'),
  from: QueryInstant('Alias of after'),
  to: QueryInstant('Alias of before'),
});

export const HistoryPeriodJson = Type.Object({
  from_datetime: DateTime(),
  to_datetime: DateTime(),
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
});

export const DetectorSettingsJson = Type.Object({
  type: Type.Union([Type.Literal('ttest'), Type.Literal('cusum')]),
  alpha: Type.Optional(Type.Number()),
  min_dwell: Type.Optional(Type.Integer()),
  arl: Type.Optional(Type.Number()),
  k: Type.Optional(Type.Number()),
  threshold: Type.Optional(Type.Number({ description: 'CUSUM threshold h derived from arl and k' })),
});

export const StatusJson = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down')], {
    description: 'Status of the last decision (down before the first)',
  }),
  leader: Type.Object({
    this_process: Type.Boolean(),
    id: Type.Union([Type.String(), Type.Null()], { description: 'The leading controller, null if none' }),
  }),
  loop: Type.Object({
    enabled: Type.Boolean({ description: 'CONTROL_ENABLED' }),
    running: Type.Boolean({ description: 'This process runs the decision timer (as leader or candidate)' }),
  }),
  manipulator: Type.Object({
    host: Type.String(),
    port: Type.Integer(),
    connected: Type.Boolean({
      description:
        'Whether this process holds a connection (only the leader does), or links one connection per command to a manipulator that closes after each',
    }),
    ack: Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')], {
      description: 'MANIPULATOR_ACK',
    }),
    replies: Type.Union([Type.Boolean(), Type.Null()], {
      description:
        'Whether the manipulator replies to commands: null until known (auto mode learns it from the first command) or in a process without the link',
    }),
  }),
  interval_seconds: Type.Number(),
  alpha: Type.Number(),
  min_dwell: Type.Integer(),
  detector: DetectorSettingsJson,
  retention_seconds: Type.Number({ description: 'Readings kept (CONTROL_RETENTION): what replay can reach' }),
  next_decision_at: DateTime(),
  last_decision: Type.Union([DecisionJson, Type.Null()]),
});

export type HistoryQueryT = Static<typeof HistoryQuery>;
