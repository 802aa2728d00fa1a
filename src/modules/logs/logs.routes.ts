import { Readable } from 'node:stream';
import type { FastifyError } from 'fastify';
import { Type } from 'typebox';
import { isServiceError } from '../../platform/errors';
import { type App, problemResponses } from '../../platform/http';
import type { LogsService } from './logs.service';
import { INVALID_STATUS } from './logs.service';

const LogLine = Type.Object(
  {
    log: Type.String({
      description: 'An access-log line: "<IP> <METHOD> <URI> <STATUS>"',
      examples: ['192.168.0.1 GET /index.html?q=1 200'],
    }),
  },
  { additionalProperties: false },
);

const Created = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created: Type.String({ format: 'date-time' }),
});

const Record = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created: Type.String({ format: 'date-time' }),
  log: Type.Object({
    ip: Type.String(),
    method: Type.String(),
    uri: Type.String(),
    status_code: Type.Integer(),
  }),
});

const BatchResult = Type.Object({
  accepted: Type.Integer(),
  ids: Type.Array(Type.String({ format: 'uuid' })),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), detail: Type.String() })),
});

const SyncerReport = Type.Object(
  {
    target_file: Type.String({ minLength: 1, maxLength: 4096 }),
    last_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    records_written: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

const MAX_LIMIT = 100_000_000;

/** Streams a JSON array of JSON texts in ~64 KB chunks: constant memory for millions of rows. */
function jsonArrayStream(rows: AsyncIterable<string>): Readable {
  return Readable.from(
    (async function* () {
      let buf = '[';
      let first = true;
      for await (const r of rows) {
        buf += (first ? '' : ',') + r;
        first = false;
        if (buf.length >= 65_536) {
          yield buf;
          buf = '';
        }
      }
      yield `${buf}]`;
    })(),
  );
}

/** The rejection reason of an input error raised before the handler: the field it names. */
function rejectionReason(err: FastifyError): string {
  if (err.statusCode === 413) return 'body_too_large';
  const v = err.validation?.[0];
  if (!v) return 'body';
  const missing = (v.params as { missingProperty?: unknown }).missingProperty;
  if (v.instancePath === '/log' || missing === 'log') return 'log';
  return 'body';
}

export function logsRoutes(app: App, service: LogsService): void {
  // Input the HTTP layer refuses before a handler runs (not JSON, wrong content type, schema, size)
  // is a rejected line too; the service counts what it rejects itself.
  app.addHook('onError', async (req, _reply, err) => {
    if (req.routeOptions.config?.inputErrorStatus !== INVALID_STATUS || isServiceError(err)) return;
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) service.rejected(rejectionReason(err));
  });

  // NDJSON bodies for the batch route: one JSON object per line; a line that is not JSON is rejected
  // by index like any other bad line instead of failing the whole batch.
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_req, body, done) => {
    const lines = String(body).split('\n');
    if (lines[lines.length - 1]?.trim() === '') lines.pop();
    done(
      null,
      lines.map((line) => {
        try {
          return JSON.parse(line);
        } catch (e) {
          return new SyntaxError(`not valid JSON (${(e as Error).message})`);
        }
      }),
    );
  });

  app.post(
    '/api/data',
    {
      config: { inputErrorStatus: INVALID_STATUS, ingest: true },
      schema: {
        operationId: 'logsIngest',
        tags: ['logs'],
        summary: 'Store one access-log line',
        description:
          'Parses `<IP> <METHOD> <URI> <STATUS>` strictly and answers 201 after the row is committed. ' +
          'Anything that cannot be stored answers 418 (as the original service did) naming the field.',
        body: LogLine,
        response: { 201: Created, ...problemResponses(413, INVALID_STATUS, 503) },
      },
    },
    async (req, reply) => {
      const { id, created } = await service.ingest(req.body);
      return reply.code(201).send({ id, created: created.toISOString() });
    },
  );

  app.post(
    '/api/data/batch',
    {
      config: { inputErrorStatus: INVALID_STATUS, ingest: true },
      schema: {
        operationId: 'logsIngestBatch',
        tags: ['logs'],
        summary: 'Store many lines (JSON array or NDJSON)',
        description:
          'Body: a JSON array of `{"log": "..."}`, or `application/x-ndjson` with one such object per line. ' +
          'Valid lines are stored in one transaction; rejected ones are listed by index.',
        body: Type.Array(Type.Unknown(), { maxItems: 1_000_000 }),
        response: { 201: BatchResult, ...problemResponses(413, INVALID_STATUS, 503) },
      },
    },
    async (req, reply) => reply.code(201).send(await service.ingestBatch(req.body)),
  );

  app.get(
    '/api/data',
    {
      schema: {
        operationId: 'logsList',
        tags: ['logs'],
        summary: 'All records, or the records added after one',
        description:
          'Records in insertion order, streamed. With `id`, only the records after that one: a reader ' +
          'that repeatedly passes the last id it saw receives every record exactly once, in one order ' +
          'shared by all readers, even with many concurrent writers.',
        querystring: Type.Object({
          id: Type.Optional(
            Type.String({ format: 'uuid', description: 'Return records added after this one' }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT })),
        }),
        response: { 200: Type.Array(Record), ...problemResponses(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const cursor = await service.openCursor(req.query.id);
      reply.type('application/json; charset=utf-8');
      // A stream skips the response serializer; the schema above still documents the shape.
      return reply.send(jsonArrayStream(service.records(cursor, req.query.limit ?? MAX_LIMIT)) as never);
    },
  );

  app.put(
    '/api/data/syncers/:name',
    {
      schema: {
        operationId: 'logsReportSyncer',
        tags: ['logs'],
        summary: 'A syncer reports its position (used by `telelab log-sync`)',
        params: Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$' }) }),
        body: SyncerReport,
        response: { 204: Type.Null(), ...problemResponses(400) },
      },
    },
    async (req, reply) => {
      await service.reportSyncer({
        name: req.params.name,
        targetFile: req.body.target_file,
        lastId: req.body.last_id,
        recordsWritten: req.body.records_written,
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/data/syncers',
    {
      schema: {
        operationId: 'logsListSyncers',
        tags: ['logs'],
        summary: 'Syncer positions and their lag in records',
        response: {
          200: Type.Array(
            Type.Object({
              name: Type.String(),
              target_file: Type.String(),
              last_id: Type.Union([Type.String(), Type.Null()]),
              records_written: Type.Integer(),
              reported_at: Type.String({ format: 'date-time' }),
              lag: Type.Union([Type.Integer(), Type.Null()]),
            }),
          ),
        },
      },
    },
    async () =>
      (await service.syncers()).map((s) => ({
        name: s.name,
        target_file: s.targetFile,
        last_id: s.lastId,
        records_written: s.recordsWritten,
        reported_at: s.reportedAt.toISOString(),
        lag: s.lag,
      })),
  );
}
