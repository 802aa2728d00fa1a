/**
 * The Fastify instance every module's routes join: request ids, body limits, graceful close, and the
 * concerns beside this file (validation, problem+json errors, ingest rate limit, OpenAPI).
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import { enableSse } from '../sse';
import { frameworkErrors, installErrorHandlers } from './error-handler';
import { serveOpenApi } from './openapi';
import { ProblemSchema } from './problems';
import { limitIngestRoutes } from './rate-limit';
import { installValidation } from './validation';

export type App = FastifyInstance<
  RawServerDefault,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Status for client-input errors on this route (bad JSON, wrong content type, schema violations,
     * `invalidInput` from the service) where the original API fixes one: logs answers 418, the
     * controller 422. Default 400.
     */
    inputErrorStatus?: number;
    /**
     * The request part the route hands its service as input: an `invalidInput(field, …)` from the service
     * is then reported as "<part>.<field>: …" (e.g. "body.datetime: …"). Unset: the message as thrown.
     */
    serviceInput?: 'body' | 'querystring' | 'params';
    /**
     * Status of the service's `invalidInput` alone, where it differs from the schema's: control replay
     * answers 400 for a malformed parameter and 422 for a period it cannot replay.
     */
    serviceInputStatus?: number;
    /** A public ingest route: per-client rate limited when RATE_LIMIT_PER_MINUTE > 0. */
    ingest?: boolean;
  }
}

export interface HttpOptions {
  logger: Logger;
  bodyLimit: number;
  version: string;
  /** Requests per minute per client IP on `config.ingest` routes; 0 = no limit. */
  ingestRateLimitPerMinute?: number;
  /** How long close() lets requests in flight finish before it destroys their connections. */
  closeGraceMs?: number;
}

export async function createHttp(opts: HttpOptions): Promise<App> {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // Per-request access logs at 30k req/s would cost more than the requests; metrics cover it.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Errors the router raises before any route runs get the same problem+json as everything else.
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  installValidation(app);
  // Bodies are JSON (NDJSON where a route adds it): a text/plain body is the wrong Content-Type and gets
  // the 415 that says so, not a schema error about a string that was meant as JSON.
  app.removeContentTypeParser('text/plain');
  app.addSchema(ProblemSchema);
  enableSse(app as unknown as FastifyInstance);
  // A keep-alive connection whose response finishes after close() began would idle on for
  // keepAliveTimeout (72 s) and hold close() open: responses sent from now on tell the client to close
  // it, and connections that go idle anyway (a body streamed or a stream ended after that point, which
  // Node keeps alive) are closed as they do. One still busy after the grace period is destroyed.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    closeConnectionsAsTheyIdle(app.server, opts.closeGraceMs ?? 30_000, opts.logger);
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (closing) reply.header('connection', 'close');
  });
  installErrorHandlers(app);
  if (opts.ingestRateLimitPerMinute) await limitIngestRoutes(app, opts.ingestRateLimitPerMinute);
  await serveOpenApi(app, opts.version);
  return app;
}

/**
 * Until `server` has closed: closes its connections as they go idle, and destroys those still busy
 * after `graceMs`. Node's server.close() closes only the connections idle at that moment and then
 * waits for the others to end, which a kept-alive one does only at its keep-alive timeout.
 */
function closeConnectionsAsTheyIdle(server: Server, graceMs: number, logger: Logger): void {
  if (!server.listening) return;
  const poll = setInterval(() => server.closeIdleConnections(), 50);
  const force = setTimeout(() => {
    logger.warn({ graceMs }, 'requests still in flight after the close grace period: connections destroyed');
    server.closeAllConnections();
  }, graceMs);
  poll.unref();
  force.unref();
  server.once('close', () => {
    clearInterval(poll);
    clearTimeout(force);
  });
}
