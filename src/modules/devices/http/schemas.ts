/**
 * TypeBox shapes of the devices routes: validation, OpenAPI and `Static<>` types. Timestamps go out as
 * ISO 8601 UTC with Z (views.ts maps the domain to these shapes).
 */
import { Type } from 'typebox';
import { DateTime } from '../../../platform/http/schemas';
import { MAX_BUCKETS } from '../series.service';

/** Beyond it x + y + z or a sum over many rows could overflow float8 (1.8e308); no sensor comes near. */
const AXIS_LIMIT = 1e100;

const DeviceId = Type.String({
  pattern: '^[A-Za-z0-9._:-]{1,64}$',
  description: '1-64 characters of A-Z a-z 0-9 . _ : -',
  examples: ['42', 'sensor-7'],
});

const Axis = (name: string) =>
  Type.Number({
    minimum: -AXIS_LIMIT,
    maximum: AXIS_LIMIT,
    description: `${name} axis (finite, |${name}| <= 1e100)`,
  });

const TimestampIn = (description: string) =>
  Type.String({
    format: 'iso-date-time',
    description: `${description}; ISO 8601, offset optional (default UTC)`,
  });

export const DeviceParams = Type.Object({ device_id: DeviceId });

export const ReadingBody = Type.Object(
  {
    x: Axis('x'),
    y: Axis('y'),
    z: Axis('z'),
    ts: Type.Optional(TimestampIn('Device time of the measurement; default: server time')),
  },
  { additionalProperties: false },
);

export const ReadingResponse = Type.Object({
  id: Type.Integer(),
  device_id: Type.String(),
  x: Type.Number(),
  y: Type.Number(),
  z: Type.Number(),
  ts: DateTime(),
  created_at: DateTime(),
});

export const BatchItem = Type.Object(
  {
    device_id: DeviceId,
    x: Axis('x'),
    y: Axis('y'),
    z: Axis('z'),
    ts: Type.Optional(TimestampIn('Device time of the measurement; default: server time')),
  },
  { additionalProperties: false },
);

export const BatchAccepted = Type.Object({ accepted: Type.Integer() });

export const PeriodQuery = Type.Object(
  {
    start_date: Type.Optional(TimestampIn('Inclusive start; open when omitted')),
    end_date: Type.Optional(TimestampIn('Inclusive end; open when omitted')),
  },
  { additionalProperties: false },
);

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    after: Type.Optional(DeviceId),
  },
  { additionalProperties: false },
);

const StatSchema = Type.Object({
  min: Type.Number(),
  max: Type.Number(),
  sum: Type.Number(),
  median: Type.Number(),
  count: Type.Integer(),
});

const aggregateProperties = {
  min_value: Type.Number({ description: 'min of x + y + z' }),
  max_value: Type.Number({ description: 'max of x + y + z' }),
  count: Type.Integer(),
  summation: Type.Number({ description: 'sum of x + y + z (float8)' }),
  median: Type.Number({ description: 'exact median of x + y + z (mean of the two middle values)' }),
  axes: Type.Object({ x: StatSchema, y: StatSchema, z: StatSchema }),
  period: Type.Object(
    { start: DateTime(), end: DateTime() },
    { description: 'The requested bounds; an open side is the first/last reading time' },
  ),
};

export const DeviceAggregates = Type.Object({ device_id: Type.String(), ...aggregateProperties });

export const UserAggregatesResponse = Type.Object({
  user_id: Type.Integer(),
  ...aggregateProperties,
  devices: Type.Record(Type.String(), DeviceAggregates, {
    description: 'Each device with data in the period',
  }),
});

export const StoredAggregatesResponse = Type.Object({
  items: Type.Array(
    Type.Object({
      device_id: Type.String(),
      ...aggregateProperties,
      computed_at: DateTime(),
      task_id: Type.String({ format: 'uuid' }),
      pending_readings: Type.Integer({
        description: 'Readings stored since this result was computed; 0 = up to date',
      }),
    }),
  ),
  next_after: Type.Union([Type.String(), Type.Null()], { description: 'Pass as ?after= for the next page' }),
});

export const DeviceListResponse = Type.Object({
  items: Type.Array(
    Type.Object({
      device_id: Type.String(),
      owner_id: Type.Union([Type.Integer(), Type.Null()]),
      registered_at: DateTime(),
      last_seen: Type.Union([DateTime(), Type.Null()], { description: 'Latest reading time' }),
      count: Type.Integer({ description: 'Readings stored' }),
    }),
  ),
  next_after: Type.Union([Type.String(), Type.Null()], { description: 'Pass as ?after= for the next page' }),
});

export const SeriesQuery = Type.Object(
  {
    start_date: Type.Optional(TimestampIn('Inclusive start; open = the first reading')),
    end_date: Type.Optional(TimestampIn('Inclusive end; open = the last reading')),
    buckets: Type.Integer({
      minimum: 1,
      maximum: MAX_BUCKETS,
      default: 24,
      description: 'Equal parts of the period',
    }),
  },
  { additionalProperties: false },
);

const BucketStatSchema = Type.Union([
  Type.Object({ min: Type.Number(), max: Type.Number(), mean: Type.Number(), median: Type.Number() }),
  Type.Null(),
]);

export const SeriesResponse = Type.Object({
  device_id: Type.String(),
  period: Type.Union([Type.Object({ start: DateTime(), end: DateTime() }), Type.Null()], {
    description: 'null when the device has no reading to define an open side',
  }),
  buckets: Type.Array(
    Type.Object({
      start: DateTime(),
      end: DateTime(),
      count: Type.Integer(),
      value: BucketStatSchema,
      x: BucketStatSchema,
      y: BucketStatSchema,
      z: BucketStatSchema,
    }),
    { description: 'Every bucket in time order; an empty one has count 0 and null statistics' },
  ),
});

export const UserBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export const UserResponse = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  created_at: DateTime(),
  device_ids: Type.Array(Type.String()),
});
/** A user id: a bigint in the database, a number exact in JavaScript. */
const UserId = () => Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
export const UserIdParams = Type.Object({ user_id: UserId() });

export const OwnerBody = Type.Object(
  {
    user_id: Type.Union([UserId(), Type.Null()], {
      description: 'null clears the owner',
    }),
  },
  { additionalProperties: false },
);
export const OwnerResponse = Type.Object({
  device_id: Type.String(),
  user_id: Type.Union([Type.Integer(), Type.Null()]),
});

export const RecalcQuery = Type.Object(
  {
    full: Type.Boolean({
      default: false,
      description:
        'true: rebuild every device’s rollups and recompute every device, not only the changed ones',
    }),
  },
  { additionalProperties: false },
);

/** The same option in a JSON body, which may also be left out. */
export const RecalcBody = Type.Object(
  { full: Type.Optional(Type.Boolean({ description: 'as the query parameter `full`' })) },
  { additionalProperties: false },
);

export const TaskParams = Type.Object({ task_id: Type.String({ format: 'uuid' }) });

export const TaskResponse = Type.Object({
  task_id: Type.String({ format: 'uuid' }),
  status: Type.Union([
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('failed'),
  ]),
  full: Type.Boolean({
    description: 'true: rebuilds every device; false: recomputes the devices with new readings',
  }),
  progress: Type.Object({ done: Type.Integer(), total: Type.Integer() }),
  started_at: Type.Union([DateTime(), Type.Null()]),
  finished_at: Type.Union([DateTime(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});
