/**
 * HTTP conventions shared by every module: problem+json errors (RFC 9457), validation that names
 * the field, request ids, body limits, a bearer-token guard, OpenAPI at /openapi.json + /docs.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchema,
  LogController,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import { isServiceError, ServiceError } from './errors';
import { enableSse } from './sse';
import { describeValidationErrors } from './validation-messages';

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
     * Status used for client-input errors (bad JSON, wrong content type, schema violations) on
     * this route, where a seed fixes one: logs answers 418, the controller 422. Default 400.
     */
    inputErrorStatus?: number;
    /** A public ingest route: per-client rate limited when RATE_LIMIT_PER_MINUTE > 0. */
    ingest?: boolean;
  }
}

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    requestId: Type.String(),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);

/** `response` entries for the error statuses a route can return, for OpenAPI. */
export function problemResponses(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const s of statuses) out[s] = Type.Ref('Problem');
  return out;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  418: "I'm a teapot",
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  retryAfter?: number,
): FastifyReply {
  if (retryAfter !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `urn:telelab:problem:${code.toLowerCase().replaceAll('_', '-')}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      code,
      requestId: String(reply.request.id),
    });
}

function describeValidation(err: FastifyError): string {
  const where = (err.validationContext ?? 'request') as string;
  return describeValidationErrors(where, err.validation ?? []) ?? err.message;
}

/** Input errors the HTTP layer raises before a handler runs, mapped to (status, code, detail). */
function clientInputError(err: FastifyError): { status: number; code: string; detail: string } | null {
  if (err.validation) return { status: 400, code: 'VALIDATION_FAILED', detail: describeValidation(err) };
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'Content-Type must be application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'EMPTY_BODY', detail: 'body: a JSON body is required' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'INVALID_JSON', detail: `body: not valid JSON (${err.message})` };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        status: 400,
        code: 'INVALID_CONTENT_LENGTH',
        detail: 'Content-Length does not match the body',
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'BODY_TOO_LARGE', detail: 'body: larger than the server accepts' };
    case 'FST_ERR_CTP_INVALID_CHARSET':
      return { status: 415, code: 'UNSUPPORTED_CHARSET', detail: 'body: only UTF-8 is accepted' };
  }
  if (err instanceof SyntaxError && err.statusCode === 400) {
    return { status: 400, code: 'INVALID_JSON', detail: `body: not valid JSON (${err.message})` };
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500 && err.code?.startsWith('FST_')) {
    return { status: err.statusCode, code: err.code.replace(/^FST_ERR_/, ''), detail: err.message };
  }
  return null;
}

/**
 * Body without coercion (a string "1" is not a number), query/params/headers with coercion
 * (they arrive as strings). Extra body fields are rejected by `additionalProperties: false`
 * in the schemas, never silently removed.
 */
function validatorCompilers() {
  // verbose: errors carry their schema, so a message can describe a pattern or list an enum's values.
  const base: AjvOptions = {
    allErrors: false,
    strict: false,
    useDefaults: true,
    removeAdditional: false,
    verbose: true,
  };
  const body = addFormats.default(new Ajv({ ...base, coerceTypes: false }));
  const other = addFormats.default(new Ajv({ ...base, coerceTypes: 'array' }));
  return ({ schema, httpPart }: { schema: FastifySchema; httpPart?: string }) =>
    (httpPart === 'body' ? body : other).compile(schema as object);
}

/**
 * The one rule for unknown query parameters: a route that takes query parameters (periods, filters,
 * cursors, limits — they narrow its answer) answers 400 naming an unknown one, since a typo there would
 * silently change the answer. A route without a query schema takes no parameters and ignores the query
 * string: the seeds' hot client routes (A/B assignment, ingest) keep accepting cache busters that way.
 */
function rejectUnknownQueryParameters(route: { schema?: FastifySchema }): void {
  const query = route.schema?.querystring as Record<string, unknown> | undefined;
  if (query?.type !== 'object' || query.additionalProperties !== undefined) return;
  // A copy: TypeBox schemas are shared constants, and other routes may use the same one.
  route.schema = { ...route.schema, querystring: { ...query, additionalProperties: false } };
}

export interface HttpOptions {
  logger: Logger;
  bodyLimit: number;
  version: string;
  /** Requests per minute per client IP on `config.ingest` routes; 0 = no limit. */
  ingestRateLimitPerMinute?: number;
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
    // Errors the router raises before any route runs (a malformed %-escape, an over-long path
    // parameter) get the same problem+json as everything else.
    frameworkErrors: (err, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      const detail =
        err.code === 'FST_ERR_BAD_URL'
          ? `url: not a valid URL (${req.url.slice(0, 200)})`
          : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? 'url: a path parameter is longer than the server accepts'
            : err.message;
      return sendProblem(reply, status, (err.code ?? 'BAD_REQUEST').replace(/^FST_ERR_/, ''), detail);
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompilers());
  app.addHook('onRoute', rejectUnknownQueryParameters);
  app.addSchema(ProblemSchema);
  enableSse(app as unknown as FastifyInstance);
  // A keep-alive connection whose response finishes after close() began would idle on for
  // keepAliveTimeout (72 s) and hold close() open: tell the client to close it instead.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (closing) reply.header('connection', 'close');
  });

  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (isServiceError(err)) {
      if (err.status >= 500) req.log.warn({ err, code: err.code }, err.message);
      return sendProblem(reply, err.status, err.code, err.message, err.retryAfter);
    }
    const input = clientInputError(err);
    if (input) {
      const override = req.routeOptions?.config?.inputErrorStatus;
      const status = override && input.status !== 413 ? override : input.status;
      return sendProblem(reply, status, input.code, input.detail);
    }
    if (err.statusCode === 503 || err.code === 'FST_ERR_REP_ALREADY_SENT') {
      return sendProblem(reply, 503, 'UNAVAILABLE', 'The server cannot take this request now', 1);
    }
    // Anything else is our bug: log it whole, tell the client nothing about internals.
    req.log.error({ err }, 'unhandled error');
    return sendProblem(reply, 500, 'INTERNAL', 'An internal error occurred; it has been logged.');
  });

  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, 404, 'ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`),
  );

  if (opts.ingestRateLimitPerMinute) {
    const max = opts.ingestRateLimitPerMinute;
    // Runs before the plugin's own onRoute hook, so flagged routes carry their limit to it.
    app.addHook('onRoute', (route) => {
      if (route.config?.ingest) Object.assign(route.config, { rateLimit: { max, timeWindow: 60_000 } });
    });
    await app.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_req, ctx) =>
        new ServiceError('RATE_LIMITED', 429, `More than ${ctx.max} requests per minute from this client`, {
          retryAfter: Math.ceil(ctx.ttl / 1000),
        }),
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'telelab',
        version: opts.version,
        description:
          'Experiments and telemetry: latency/load experiments, device telemetry, A/B assignment, ' +
          'sensor control loop, access-log ingest.\n\n' +
          'Errors are application/problem+json; a validation error names the field and says what to type. ' +
          'Unknown query parameters: a route that takes query parameters (periods, filters, cursors, ' +
          'limits) answers 400 naming the unknown one; a route that takes none (A/B assignment, ingest) ' +
          'ignores the query string, so cache busters pass.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => String(json.$id ?? `def-${i}`) },
  });
  // Swagger UI's own CSP for its bundled assets, plus the headers every HTML page here carries.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // telelab speaks plain HTTP: `upgrade-insecure-requests` would send the page's assets to https on
    // any host but localhost and leave /docs blank; Swagger UI also sets inline styles.
    transformStaticCSP: (header) =>
      header
        .split(';')
        .map((d) => d.trim())
        .filter((d) => d && !d.startsWith('upgrade-insecure-requests'))
        .map((d) =>
          d.startsWith('style-src') && !d.includes("'unsafe-inline'") ? `${d} 'unsafe-inline'` : d,
        )
        .join('; '),
  });
  app.addHook('onSend', async (req, reply) => {
    if (req.url === '/docs' || req.url.startsWith('/docs/')) {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
    }
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/**
 * preHandler guarding mutating admin routes with `Authorization: Bearer <TELELAB_API_TOKEN>`.
 * Without a configured token every request passes (local use); the README says so.
 */
export function bearerGuard(token: string | undefined) {
  const expected = token ? Buffer.from(token) : null;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!expected) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    const given = m ? Buffer.from(m[1]!.trim()) : null;
    if (!given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      reply.header('www-authenticate', 'Bearer');
      return sendProblem(
        reply,
        401,
        given ? 'INVALID_TOKEN' : 'MISSING_TOKEN',
        given
          ? 'The bearer token is not valid'
          : 'This route needs Authorization: Bearer <TELELAB_API_TOKEN>',
      );
    }
  };
}

export { ServiceError };
