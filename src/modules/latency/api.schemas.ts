/**
 * HTTP shapes of the latency module (TypeBox: validation, OpenAPI, types). Field names are the seed's
 * (snake_case). Request and response schemas are separate.
 */
import { type Static, Type } from 'typebox';

// ---- requests -------------------------------------------------------------------------------------

export const LoadProfileIn = Type.Object(
  {
    users: Type.Integer({
      minimum: 0,
      description: 'Virtual users (closed model) or requests per interval (open)',
    }),
    duration_seconds: Type.Number({ exclusiveMinimum: 0, description: 'How long this profile runs' }),
    interval_seconds: Type.Number({
      minimum: 0,
      description:
        'Closed model: pause of each user after a response. Open model: users per interval_seconds',
    }),
  },
  { additionalProperties: false },
);

export const ThresholdsIn = Type.Object(
  {
    p50_ms: Type.Optional(Type.Number({ minimum: 0 })),
    p90_ms: Type.Optional(Type.Number({ minimum: 0 })),
    p99_ms: Type.Optional(Type.Number({ minimum: 0 })),
    mean_ms: Type.Optional(Type.Number({ minimum: 0 })),
    success_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Minimum percent' })),
    error_rate: Type.Optional(
      Type.Number({ minimum: 0, maximum: 100, description: 'Maximum percent without any answer' }),
    ),
    abort: Type.Optional(
      Type.Boolean({
        description:
          'Evaluate every second on the merged numbers of all segments; on a failure stop every segment and end `failed`',
      }),
    ),
    abort_after_seconds: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 3600,
        description: 'With abort: how long a failure must hold (default 0)',
      }),
    ),
  },
  { additionalProperties: false },
);

/** A host name, an IPv4 address, or an IPv6 address (bracketed or not); nothing a URL could misread. */
const Host = Type.String({
  minLength: 1,
  maxLength: 253,
  pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9_.-]+)$',
  errorMessage: {
    pattern: 'a host name or IP address without a scheme or port, e.g. 127.0.0.1 or localhost',
  },
  examples: ['127.0.0.1', 'localhost'],
});
const Port = Type.Integer({ minimum: 1, maximum: 65535, examples: [8080] });
const Scheme = Type.Enum(['http', 'https']);
const Path = Type.String({
  pattern: '^/',
  errorMessage: { pattern: 'a path starting with /, e.g. /api/latency' },
  maxLength: 2048,
  description: 'Default /api/latency',
});

export const ExperimentIn = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    host: Host,
    port: Port,
    load_profiles: Type.Array(LoadProfileIn, { minItems: 1, maxItems: 100 }),
    scheme: Type.Optional(Scheme),
    path: Type.Optional(Path),
    method: Type.Optional(Type.Enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 8192 }), { maxProperties: 64 }),
    ),
    body: Type.Optional(Type.Union([Type.String({ maxLength: 1_048_576 }), Type.Null()])),
    model: Type.Optional(
      Type.Enum(['closed', 'arrival-rate'], {
        description:
          'closed (default): users wait for answers; arrival-rate: users / interval_seconds per second',
      }),
    ),
    thresholds: Type.Optional(Type.Union([ThresholdsIn, Type.Null()])),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000, description: 'Default 10000' })),
    success_statuses: Type.Optional(
      Type.Union([Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { maxItems: 100 }), Type.Null()]),
    ),
    segments: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 64,
        description:
          'Parts of the load run by different worker processes (default 1); users or the arrival rate are divided among them',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ExperimentInput = Static<typeof ExperimentIn>;

/** The body of create_experiment: an experiment, or (the original's form) its load profiles alone. */
export const CreateExperimentBody = Type.Union([
  ExperimentIn,
  Type.Array(LoadProfileIn, { minItems: 1, maxItems: 100 }),
]);

export const CreateExperimentQuery = Type.Object({
  name: Type.Optional(Type.String({ description: "The original's form: with a bare array of profiles" })),
  host: Type.Optional(Type.String()),
  port: Type.Optional(Type.String()),
});

export const GroupIn = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    experiments: Type.Array(ExperimentIn, { maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type GroupInput = Static<typeof GroupIn>;

export const CreateGroupBody = Type.Union([GroupIn, Type.Array(ExperimentIn, { maxItems: 100 })]);
export const CreateGroupQuery = Type.Object({
  name: Type.Optional(Type.String({ description: "The original's form: with a bare array of experiments" })),
});

const Id = (description: string) => Type.String({ minLength: 1, maxLength: 64, description });
export const ExperimentIdQuery = Type.Object({ experiment_id: Id('Experiment id') });
export const GroupIdQuery = Type.Object({ group_id: Id('Group id') });
export const MemberQuery = Type.Object({ group_id: Id('Group id'), experiment_id: Id('Experiment id') });

export const ManageExperimentQuery = Type.Object({
  state: Type.Enum(['start', 'pause', 'stop']),
  experiment_id: Id('Experiment id'),
});
export const ManageGroupQuery = Type.Object({
  state: Type.Enum(['start', 'pause', 'stop']),
  group_id: Id('Group id'),
});

export const ResultQuery = Type.Object({
  experiment_id: Id('Experiment id'),
  limit: Type.Integer({ minimum: 0, maximum: 10_000, default: 100, description: 'Raw results per page' }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
});

export const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
});

export const TestLatencyQuery = Type.Object({
  host: Host,
  port: Port,
  path: Type.Optional(Path),
  scheme: Type.Optional(Scheme),
});

// ---- responses ------------------------------------------------------------------------------------

const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const Counts = Type.Record(Type.String(), Type.Integer());

export const RequestResultOut = Type.Object({
  status_code: Type.Integer({ description: '0 when no answer came' }),
  latency_ms: NullableNumber,
  timestamp: Timestamp,
  error: Type.Union([Type.String(), Type.Null()]),
});

export const LatencyOut = Type.Object({
  count: Type.Integer(),
  min: Type.Number(),
  mean: Type.Number(),
  max: Type.Number(),
  p50: Type.Number(),
  p90: Type.Number(),
  p99: Type.Number(),
  p999: Type.Number(),
});

const ThresholdReportOut = Type.Object({
  passed: Type.Boolean(),
  checks: Type.Array(
    Type.Object({
      name: Type.String(),
      limit: Type.Number(),
      actual: NullableNumber,
      passed: Type.Boolean(),
    }),
  ),
});

export const SummaryOut = Type.Object({
  requests: Type.Integer(),
  successes: Type.Integer(),
  failures: Type.Integer(),
  success_rate: NullableNumber,
  error_rate: NullableNumber,
  failures_by_kind: Counts,
  status_codes: Counts,
  late: Type.Integer(),
  dropped: Type.Integer(),
  active_ms: Type.Integer(),
  rps: Type.Number(),
  latency: LatencyOut,
  raw_latency: Type.Union([LatencyOut, Type.Null()]),
  thresholds: Type.Union([ThresholdReportOut, Type.Null()]),
  interrupted: Type.Integer({
    description:
      'Requests answered after their runner lost its lease, so not in the counts above (normally 0)',
  }),
});

const SettingsOut = Type.Object({
  host: Type.String(),
  port: Type.Integer(),
  scheme: Type.String(),
  path: Type.String(),
  method: Type.String(),
  headers: Type.Record(Type.String(), Type.String()),
  body: Type.Union([Type.String(), Type.Null()]),
  model: Type.String(),
  load_profiles: Type.Array(
    Type.Object({ users: Type.Integer(), duration_seconds: Type.Number(), interval_seconds: Type.Number() }),
  ),
  thresholds: Type.Union([ThresholdsIn, Type.Null()]),
  timeout_ms: Type.Integer(),
  success_statuses: Type.Union([Type.Array(Type.Integer()), Type.Null()]),
  segments: Type.Integer({ description: 'Parts run by different worker processes' }),
});

export const SegmentOut = Type.Object({
  index: Type.Integer(),
  worker: Type.Union([Type.String(), Type.Null()], {
    description: 'The process running it now, or the last one that did',
  }),
  state: Type.Enum(['pending', 'running', 'done'], {
    description: 'running: a process holds it; pending: waiting for one; done: its profiles ran out',
  }),
  current_profile_index: Type.Integer(),
  elapsed_in_profile_ms: Type.Integer(),
  requests: Type.Integer(),
  successes: Type.Integer(),
  failures: Type.Integer(),
  rps: Type.Number(),
  p50: NullableNumber,
  p99: NullableNumber,
  run_attempts: Type.Integer({ description: 'Claims so far (more than 1 after a takeover or a restart)' }),
});

const State = Type.Enum(['created', 'running', 'paused', 'completed', 'stopped', 'failed']);

const experimentFields = {
  id: Type.String(),
  name: Type.String(),
  settings: SettingsOut,
  state: State,
  current_profile_index: Type.Integer(),
  elapsed_in_profile_ms: Type.Integer({ description: 'Active time spent in the current profile' }),
  created_at: Timestamp,
  updated_at: Timestamp,
  started_at: Type.Union([Timestamp, Type.Null()]),
  finished_at: Type.Union([Timestamp, Type.Null()]),
  summary: SummaryOut,
  passed: Type.Union([Type.Boolean(), Type.Null()], {
    description: 'Thresholds held; null without thresholds',
  }),
  verdict: Type.Union([Type.String(), Type.Null()], {
    description: 'Why it ended `failed`: the aborting threshold and the value measured',
  }),
};
export const ExperimentOut = Type.Object(experimentFields);

export const SeriesOut = Type.Object({
  second: Type.Integer(),
  timestamp: Timestamp,
  duration_ms: Type.Integer(),
  profile_index: Type.Integer(),
  elapsed_in_profile_ms: Type.Integer(),
  requests: Type.Integer(),
  successes: Type.Integer(),
  failures: Type.Integer(),
  late: Type.Integer(),
  dropped: Type.Integer(),
  rps: Type.Number(),
  success_rate: NullableNumber,
  status_codes: Counts,
  failures_by_kind: Counts,
  latency: LatencyOut,
  raw_latency: Type.Union([LatencyOut, Type.Null()]),
});

export const ResultOut = Type.Object({
  ...experimentFields,
  series: Type.Array(SeriesOut),
  results: Type.Array(RequestResultOut),
  results_total: Type.Integer({ description: 'Raw results stored (at most LATENCY_RAW_RESULTS_CAP)' }),
  segments: Type.Array(SegmentOut),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const ExperimentStatsOut = Type.Object({
  experiment_id: Type.String(),
  name: Type.String(),
  state: State,
  current_profile_index: Type.Integer(),
  profile: Type.Union([
    Type.Object({ users: Type.Integer(), duration_seconds: Type.Number(), interval_seconds: Type.Number() }),
    Type.Null(),
  ]),
  users: Type.Integer(),
  elapsed_in_profile_ms: Type.Integer(),
  rate: Type.Number({ description: 'Requests per second over the last recorded second' }),
  total_requests: Type.Integer(),
  successes: Type.Integer(),
  failures: Type.Integer(),
  success_rate: NullableNumber,
  average_latency: NullableNumber,
  p50: NullableNumber,
  p90: NullableNumber,
  p99: NullableNumber,
  p999: NullableNumber,
  last_second: Type.Union([
    Type.Object({
      timestamp: Timestamp,
      requests: Type.Integer(),
      success_rate: NullableNumber,
      p50: NullableNumber,
      p99: NullableNumber,
    }),
    Type.Null(),
  ]),
  updated_at: Timestamp,
  segments: Type.Optional(Type.Array(SegmentOut, { description: 'experiment_stats only (not group_stats)' })),
});

export const GroupStatsOut = Type.Object({
  group_id: Type.String(),
  name: Type.String(),
  state: State,
  experiments_stats: Type.Record(Type.String(), ExperimentStatsOut),
  rate: Type.Number({ description: 'Requests per second of all running members over the last second' }),
  total_requests: Type.Integer(),
  average_latency: NullableNumber,
  success_rate: Type.Union([Type.Number(), Type.Null()], { description: 'Percent 0-100' }),
  p50: NullableNumber,
  p90: NullableNumber,
  p99: NullableNumber,
  timestamp: Timestamp,
});

export const GroupOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: State,
  experiments: Type.Record(Type.String(), ExperimentOut, { description: 'Members by id' }),
  experiment_ids: Type.Array(Type.String(), { description: 'Members in the order they joined' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const ExperimentCreated = Type.Object({ experiment_id: Type.String() });
export const GroupCreated = Type.Object({ group_id: Type.String() });
export const ExperimentManaged = Type.Object({ experiment_id: Type.String(), state: State });
export const GroupManaged = Type.Object({
  group_id: Type.String(),
  state: State,
  experiments: Type.Record(Type.String(), State, { description: 'Each member’s state now' }),
});
export const Membership = Type.Object({ group_id: Type.String(), experiment_id: Type.String() });
