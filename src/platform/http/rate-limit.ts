/** Per-client rate limit of the public ingest routes (`config.ingest`). */
import rateLimit from '@fastify/rate-limit';
import { ServiceError } from '../errors';
import type { App } from './server';

export async function limitIngestRoutes(app: App, perMinute: number): Promise<void> {
  // Runs before the plugin's own onRoute hook, so flagged routes carry their limit to it.
  app.addHook('onRoute', (route) => {
    if (route.config?.ingest)
      Object.assign(route.config, { rateLimit: { max: perMinute, timeWindow: 60_000 } });
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      new ServiceError(
        'RATE_LIMITED',
        'rate_limited',
        `More than ${ctx.max} requests per minute from this client`,
        {
          retryAfter: Math.ceil(ctx.ttl / 1000),
        },
      ),
  });
}
