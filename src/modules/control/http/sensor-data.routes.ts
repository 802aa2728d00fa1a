/** `POST /sensor-data`: the sensors' readings in (the task's controller endpoint). */
import { problemResponses } from '../../../platform/http/problems';
import { countRejectedInput } from '../../../platform/http/rejected-input';
import type { App } from '../../../platform/http/server';
import type { IngestService } from '../ingest.service';
import { IngestResponse, SensorReadingBody } from './schemas';

/** The controller answers 422 for any input it cannot store (not JSON, schema, the service's checks). */
const INVALID_STATUS = 422;

export function sensorDataRoutes(app: App, ingest: IngestService): void {
  app.post(
    '/sensor-data',
    {
      config: { inputErrorStatus: INVALID_STATUS, serviceInput: 'body', ingest: true },
      // Input refused before the handler runs is a rejected reading too; the service counts its own.
      onError: countRejectedInput(['datetime', 'payload'], (field) => ingest.rejected(field)),
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
