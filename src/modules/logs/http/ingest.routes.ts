/** POST /api/data and /api/data/batch: lines in, committed records out. */
import { problemResponses } from '../../../platform/http/problems';
import { countRejectedInput } from '../../../platform/http/rejected-input';
import type { App } from '../../../platform/http/server';
import type { LogsService } from '../logs.service';
import { BatchBody, BatchResultSchema, CreatedSchema, LogLineBody } from './schemas';
import { batchItemLine, batchResultView, createdView } from './views';

/** The original service answered 418 for anything it could not store; its clients rely on that. */
const INVALID_STATUS = 418;

export function ingestRoutes(app: App, service: LogsService): void {
  // Input the HTTP layer refuses before a handler runs (not JSON, wrong content type, schema, size)
  // is a rejected line too; the service counts what it rejects itself.
  const onError = countRejectedInput(['log'], (field) => service.rejected(field));

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
      onError,
      schema: {
        operationId: 'logsIngest',
        tags: ['logs'],
        summary: 'Store one access-log line',
        description:
          'Parses `<IP> <METHOD> <URI> <STATUS>` strictly and answers 201 after the row is committed. ' +
          'Anything that cannot be stored answers 418 (as the original service did) naming the field.',
        body: LogLineBody,
        response: { 201: CreatedSchema, ...problemResponses(413, INVALID_STATUS, 503) },
      },
    },
    async (req, reply) => reply.code(201).send(createdView(await service.ingest(req.body.log))),
  );

  app.post(
    '/api/data/batch',
    {
      config: { inputErrorStatus: INVALID_STATUS, ingest: true },
      onError,
      schema: {
        operationId: 'logsIngestBatch',
        tags: ['logs'],
        summary: 'Store many lines (JSON array or NDJSON)',
        description:
          'Body: a JSON array of `{"log": "..."}`, or `application/x-ndjson` with one such object per line. ' +
          'Valid lines are stored in one transaction; rejected ones are listed by index.',
        body: BatchBody,
        response: { 201: BatchResultSchema, ...problemResponses(413, INVALID_STATUS, 503) },
      },
    },
    async (req, reply) => {
      const lines: string[] = [];
      const lineIndexes: number[] = [];
      const refused: { index: number; detail: string }[] = [];
      req.body.forEach((item, index) => {
        const line = batchItemLine(item);
        if (typeof line === 'string') {
          lines.push(line);
          lineIndexes.push(index);
        } else {
          service.rejected(line.reason);
          refused.push({ index, detail: line.detail });
        }
      });
      const outcome = await service.ingestBatch(lines);
      return reply.code(201).send(batchResultView(outcome, lineIndexes, refused));
    },
  );
}
