/** The device-facing routes of the seed: a device's experiments, and why it has them. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { type App, problemResponses, sendProblem } from '../../platform/http';
import type { AssignmentService } from './assignment.service';
import { DEVICE_TOKEN_PATTERN, DeviceAnswerSchema, DeviceTokenHeaders, ExplainSchema } from './schemas';

/** Answers may be kept 5 minutes by the device and by our nginx (keyed on the token), as in the seed. */
export const ANSWER_CACHE_CONTROL = 'private, max-age=300';

/**
 * The Device-Token header, or null after answering 400 (missing or empty) / 401 (invalid), the
 * statuses the original task fixes. Errors are never cached.
 */
function deviceToken(req: FastifyRequest, reply: FastifyReply): string | null {
  const raw = req.headers['device-token'];
  if (raw === undefined || raw === '') {
    reply.header('cache-control', 'no-store');
    sendProblem(reply, 400, 'AB_DEVICE_TOKEN_MISSING', 'header Device-Token: required');
    return null;
  }
  if (typeof raw !== 'string' || !DEVICE_TOKEN_PATTERN.test(raw)) {
    reply.header('cache-control', 'no-store').header('www-authenticate', 'Device-Token');
    sendProblem(
      reply,
      401,
      'AB_DEVICE_TOKEN_INVALID',
      'header Device-Token: must be 8-128 characters of A-Z a-z 0-9 . _ ~ : -',
    );
    return null;
  }
  return raw;
}

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
      if (token === null) return reply;
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
      const token = deviceToken(req, reply);
      if (token === null) return reply;
      const e = await service.explain(token);
      reply.header('cache-control', 'no-store');
      return {
        known: e.known,
        first_seen_at: e.firstSeenAt?.toISOString() ?? null,
        experiments: e.experiments,
      };
    },
  );
}
