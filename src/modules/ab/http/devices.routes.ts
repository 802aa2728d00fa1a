/** The device-facing routes: a device's experiments, and why it has them. */
import type { Static } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { AssignmentService } from '../assignment.service';
import { deviceToken } from './device-token';
import { DeviceAnswerSchema, DeviceTokenHeaders, ExplainSchema } from './schemas';
import { explanationView } from './views';

/** Answers may be kept 5 minutes by the device and by our nginx (keyed on the token). */
const ANSWER_CACHE_CONTROL = 'private, max-age=300';

export function registerDeviceRoutes(app: App, service: AssignmentService): void {
  app.get(
    '/api/v1/experiments',
    {
      schema: {
        operationId: 'abDeviceExperiments',
        tags: ['ab'],
        summary: "The device's experiments and values",
        description:
          'On its first request a device enters every running experiment (exact proportions, see the ' +
          'README) and keeps its values for good; experiments started later never include it.',
        headers: DeviceTokenHeaders,
        response: { 200: DeviceAnswerSchema, ...problemResponses(400, 401, 503) },
      },
    },
    async (req, reply) => {
      const token = deviceToken(req, reply);
      const body = service.cached(token) ?? (await service.answer(token));
      // Already JSON text (cached serialized): Fastify sends a string with a JSON content type as it is,
      // so the typed reply is told it gets the schema's shape.
      return reply
        .header('cache-control', ANSWER_CACHE_CONTROL)
        .header('vary', 'Device-Token')
        .type('application/json; charset=utf-8')
        .send(body as unknown as Static<typeof DeviceAnswerSchema>);
    },
  );

  app.get(
    '/api/v1/experiments/explain',
    {
      schema: {
        operationId: 'abExplainDevice',
        tags: ['ab'],
        summary: 'Why a device has (or would get) each experiment',
        description:
          'When the device was first seen, its values, and for every experiment it is not in, why.',
        headers: DeviceTokenHeaders,
        response: { 200: ExplainSchema, ...problemResponses(400, 401, 503) },
      },
    },
    async (req, reply) => {
      const explanation = await service.explain(deviceToken(req, reply));
      reply.header('cache-control', 'no-store');
      return explanationView(explanation);
    },
  );
}
