/** TypeBox schemas of the logs routes: one per shape, used for validation, OpenAPI and types. */
import { Type } from 'typebox';
import { SYNCER_NAME } from '../model';

/** The most records one GET returns. */
export const MAX_LIMIT = 100_000_000;

export const LogLineBody = Type.Object(
  {
    log: Type.String({
      description: 'An access-log line: "<IP> <METHOD> <URI> <STATUS>"',
      examples: ['192.168.0.1 GET /index.html?q=1 200'],
    }),
  },
  { additionalProperties: false },
);

export const BatchBody = Type.Array(Type.Unknown(), { maxItems: 1_000_000 });

export const CreatedSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created: Type.String({ format: 'date-time' }),
});

/** A stored record: what POST /api/data answered, and the line's fields. */
export const RecordSchema = Type.Object({
  ...CreatedSchema.properties,
  log: Type.Object({
    ip: Type.String(),
    method: Type.String(),
    uri: Type.String(),
    status_code: Type.Integer(),
  }),
});

export const BatchResultSchema = Type.Object({
  accepted: Type.Integer(),
  ids: Type.Array(Type.String({ format: 'uuid' })),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), detail: Type.String() })),
});

export const RecordsQuery = Type.Object({
  id: Type.Optional(Type.String({ format: 'uuid', description: 'Return records added after this one' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT })),
});

export const SyncerParams = Type.Object({ name: Type.String({ pattern: SYNCER_NAME.source }) });

export const SyncerReportBody = Type.Object(
  {
    target_file: Type.String({ minLength: 1, maxLength: 4096 }),
    last_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    records_written: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);

export const SyncerPositionSchema = Type.Object({
  name: Type.String(),
  target_file: Type.String(),
  last_id: Type.Union([Type.String(), Type.Null()]),
  records_written: Type.Integer(),
  reported_at: Type.String({ format: 'date-time' }),
  lag: Type.Union([Type.Integer(), Type.Null()]),
});
