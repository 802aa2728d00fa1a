/** Response shapes of the latency module (TypeBox: OpenAPI, serialization, types), snake_case. */
import { Type } from 'typebox';
import { DateTime } from '../../../platform/http/schemas';
import { SloIn, ThresholdsIn } from './schemas';

const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const Counts = Type.Record(Type.String(), Type.Integer());

export const RequestResultOut = Type.Object({
  status_code: Type.Integer({ description: '0 when no answer came' }),
  latency_ms: NullableNumber,
  timestamp: DateTime(),
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

const ThresholdCheckOut = Type.Object({
  name: Type.String(),
  limit: Type.Number(),
  actual: NullableNumber,
  passed: Type.Boolean(),
});

const ThresholdReportOut = Type.Object({
  passed: Type.Boolean(),
  checks: Type.Array(ThresholdCheckOut),
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

const ProfileOut = Type.Object({
  users: Type.Integer(),
  duration_seconds: Type.Number(),
  interval_seconds: Type.Number(),
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
  load_profiles: Type.Array(ProfileOut),
  thresholds: Type.Union([ThresholdsIn, Type.Null()]),
  timeout_ms: Type.Integer(),
  success_statuses: Type.Union([Type.Array(Type.Integer()), Type.Null()]),
  segments: Type.Integer({ description: 'Parts run by different worker processes' }),
  slo: Type.Optional(SloIn),
  search: Type.Optional(
    Type.Object({
      start_rps: Type.Integer(),
      max_rps: Type.Integer(),
      window_seconds: Type.Number(),
      warmup_seconds: Type.Number(),
      precision: Type.Number(),
      attempts: Type.Integer(),
      max_steps: Type.Integer(),
    }),
  ),
});

const CapacityStepOut = Type.Object({
  index: Type.Integer(),
  phase: Type.Enum(['ramp', 'bisect']),
  rate_rps: Type.Integer({ description: 'The arrival rate tried' }),
  attempt: Type.Integer({ description: '2.. when the same rate is tried again after a failure' }),
  held: Type.Boolean({ description: 'The SLO held over the window and no request was dropped' }),
  stopped_early: Type.Boolean({ description: 'The SLO broke before the window ended' }),
  requests: Type.Integer({ description: 'Requests scheduled in the window' }),
  dropped: Type.Integer(),
  late: Type.Integer(),
  success_rate: Type.Number(),
  error_rate: Type.Number(),
  latency: Type.Object(LatencyOut.properties, {
    description: 'Of the window, from each request’s scheduled time (ms)',
  }),
  checks: Type.Array(ThresholdCheckOut),
  at: Type.Optional(Type.String({ format: 'date-time', description: 'When the step was judged' })),
});

const CapacityOut = Type.Union(
  [
    Type.Object({
      capacity_rps: Type.Union([Type.Integer(), Type.Null()], {
        description: 'The highest rate that held (final once limited_by is set)',
      }),
      failed_rps: Type.Union([Type.Integer(), Type.Null()], { description: 'The lowest rate that failed' }),
      limited_by: Type.Union([Type.Enum(['slo', 'max_rps', 'max_steps', 'interrupted']), Type.Null()], {
        description: 'Why the search ended; null while it runs',
      }),
      current: Type.Union([
        Type.Object({
          index: Type.Integer(),
          phase: Type.Enum(['ramp', 'bisect']),
          rate_rps: Type.Integer(),
        }),
        Type.Null(),
      ]),
      steps: Type.Array(CapacityStepOut),
    }),
    Type.Null(),
  ],
  { description: 'model "capacity": the steps tried and the answer so far; null otherwise' },
);

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
  created_at: DateTime(),
  updated_at: DateTime(),
  started_at: Type.Union([DateTime(), Type.Null()]),
  finished_at: Type.Union([DateTime(), Type.Null()]),
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
  timestamp: DateTime(),
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
  capacity: CapacityOut,
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const ExperimentStatsOut = Type.Object({
  experiment_id: Type.String(),
  name: Type.String(),
  state: State,
  current_profile_index: Type.Integer(),
  profile: Type.Union([ProfileOut, Type.Null()]),
  users: Type.Integer(),
  elapsed_in_profile_ms: Type.Integer(),
  rate: Type.Number({
    description: 'Requests per second over the last recorded second while running; 0 when not running',
  }),
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
      timestamp: DateTime(),
      requests: Type.Integer(),
      success_rate: NullableNumber,
      p50: NullableNumber,
      p99: NullableNumber,
    }),
    Type.Null(),
  ]),
  updated_at: DateTime(),
  segments: Type.Optional(Type.Array(SegmentOut, { description: 'experiment_stats only (not group_stats)' })),
  capacity: Type.Optional(CapacityOut),
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
  timestamp: DateTime(),
});

export const GroupOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: State,
  experiments: Type.Record(Type.String(), ExperimentOut, { description: 'Members by id' }),
  experiment_ids: Type.Array(Type.String(), { description: 'Members in the order they joined' }),
  created_at: DateTime(),
  updated_at: DateTime(),
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
