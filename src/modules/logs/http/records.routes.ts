/** GET /api/data: every record, or the records after one, streamed in the order all readers share. */
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { LogsService } from '../logs.service';
import { MAX_LIMIT, RecordSchema, RecordsQuery } from './schemas';

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

export function recordsRoutes(app: App, service: LogsService): void {
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
        querystring: RecordsQuery,
        response: { 200: Type.Array(RecordSchema), ...problemResponses(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const cursor = await service.openCursor(req.query.id);
      reply.type('application/json; charset=utf-8');
      // A stream skips the response serializer; the schema above still documents the shape.
      return reply.send(jsonArrayStream(service.records(cursor, req.query.limit ?? MAX_LIMIT)) as never);
    },
  );
}
