/** `POST /sensor-data`: the sensors' readings in (the task's controller endpoint). */
import type { FastifyError } from 'fastify';
import { isServiceError } from '../../platform/errors';
import { type App, problemResponses } from '../../platform/http';
import { IngestResponse, SensorReadingBody } from './api.schemas';
import { INVALID_STATUS, type IngestService } from './ingest.service';

const ROUTE = '/sensor-data';

/** The field an input error raised before the handler names, as a metric label. */
function rejectedField(err: FastifyError): string {
  if (err.statusCode === 413) return 'body_too_large';
  const v = err.validation?.[0];
  if (!v) return 'body';
  const missing = (v.params as { missingProperty?: unknown }).missingProperty;
  const field = typeof missing === 'string' ? missing : v.instancePath.split('/')[1];
  return field === 'datetime' || field === 'payload' ? field : 'body';
}

export function sensorDataRoutes(app: App, ingest: IngestService): void {
  // Input refused before the handler runs (not JSON, schema, size) is a rejected reading too; the service
  // counts what it refuses itself (ServiceErrors).
  app.addHook('onError', async (req, _reply, err) => {
    if (req.routeOptions.url !== ROUTE || isServiceError(err)) return;
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) ingest.rejected(rejectedField(err));
  });

  app.post(
    ROUTE,
    {
      config: { inputErrorStatus: INVALID_STATUS, ingest: true },
      schema: {
        operationId: 'controlPostSensorData',
        tags: ['control'],
        summary: 'Store one sensor reading {"datetime", "payload"}',
        description:
          'Answers after the reading is stored. A reading created before the last decision (earlier than ' +
          'the start of the current window) is outdated: answered `{"accepted": false, "reason": "outdated"}` ' +
          'and not stored. Invalid input answers 422 problem+json naming the field.',
        body: SensorReadingBody,
        response: { 200: IngestResponse, ...problemResponses(413, INVALID_STATUS, 429, 503) },
      },
    },
    async (req) => ingest.ingest(req.body),
  );
}
