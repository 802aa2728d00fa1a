/**
 * Request shapes of the latency module (TypeBox: validation, OpenAPI, types). Field names are the
 * original API's (snake_case). The response shapes are in response-schemas.ts.
 */
import { type Static, Type } from 'typebox';
import { MAX_SEGMENTS } from '../segments';

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

/** The limits thresholds and SLOs share: maxima in ms, success and error rates in percent. */
const limitFields = {
  p50_ms: Type.Optional(Type.Number({ minimum: 0 })),
  p90_ms: Type.Optional(Type.Number({ minimum: 0 })),
  p99_ms: Type.Optional(Type.Number({ minimum: 0 })),
  mean_ms: Type.Optional(Type.Number({ minimum: 0 })),
  success_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Minimum percent' })),
  error_rate: Type.Optional(
    Type.Number({ minimum: 0, maximum: 100, description: 'Maximum percent without any answer' }),
  ),
};

export const ThresholdsIn = Type.Object(
  {
    ...limitFields,
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

/**
 * A capacity experiment's SLO: the thresholds' metrics (as `telelab load --slo`). Other names are
 * answered with a 400 that lists these, so the object is open here.
 */
export const SloIn = Type.Object(limitFields, {
  description: 'model "capacity" only (required there): the limits every judged window must hold',
});

export const SearchIn = Type.Object(
  {
    start_rps: Type.Optional(Type.Integer({ minimum: 1, description: 'First rate of the ramp (10)' })),
    max_rps: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Highest rate tried (50000, at most LATENCY_MAX_RATE)' }),
    ),
    window_seconds: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 3600, description: 'Judged part of every step (10)' }),
    ),
    warmup_seconds: Type.Optional(
      Type.Number({ minimum: 0, maximum: 3600, description: 'Unjudged start of every step (2)' }),
    ),
    precision: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        exclusiveMaximum: 1,
        description: 'Bisection stops when (failed − held) ≤ precision × held (0.05)',
      }),
    ),
    attempts: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10, description: 'Failed steps in a row that fail a rate (2)' }),
    ),
    max_steps: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 500, description: 'Most steps in all (40)' }),
    ),
  },
  { additionalProperties: false, description: 'model "capacity" only: how the search runs' },
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
    load_profiles: Type.Optional(
      Type.Array(LoadProfileIn, {
        minItems: 1,
        maxItems: 100,
        description: 'Required, except with model "capacity" (the search chooses its rates)',
      }),
    ),
    scheme: Type.Optional(Scheme),
    path: Type.Optional(Path),
    method: Type.Optional(Type.Enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 8192 }), { maxProperties: 64 }),
    ),
    body: Type.Optional(Type.Union([Type.String({ maxLength: 1_048_576 }), Type.Null()])),
    model: Type.Optional(
      Type.Enum(['closed', 'arrival-rate', 'capacity'], {
        description:
          'closed (default): users wait for answers; arrival-rate: users / interval_seconds per second; ' +
          'capacity: search the highest arrival rate at which `slo` holds',
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
        maximum: MAX_SEGMENTS,
        description:
          'Parts of the load run by different worker processes (default 1); users or the arrival rate are divided among them',
      }),
    ),
    slo: Type.Optional(Type.Union([SloIn, Type.Null()])),
    search: Type.Optional(Type.Union([SearchIn, Type.Null()])),
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
