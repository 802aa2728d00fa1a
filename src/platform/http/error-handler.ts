/**
 * Every error becomes problem+json: ServiceErrors by kind, input the HTTP layer refuses (schema, JSON,
 * content type, size) naming the field, unknown routes, and our own bugs as an opaque 500.
 */
import type { FastifyError, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import { isServiceError, type ServiceError } from '../errors';
import { sendProblem } from './problems';
import type { App } from './server';
import { describeValidationErrors } from './validation-messages';

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
 * A ServiceError's status and detail on this route. An input error built from its kind takes the route's
 * compatibility status, and its field is placed in the request part the route's service reads.
 */
function renderServiceError(err: ServiceError, req: FastifyRequest): { status: number; detail: string } {
  if (err.kind !== 'invalid_input' || !err.statusFromKind) return { status: err.status, detail: err.message };
  const config = req.routeOptions?.config;
  const part = config?.serviceInput;
  const detail =
    part === undefined || err.field === undefined
      ? err.message
      : err.field
        ? `${part}.${err.message}`
        : `${part}: ${err.message}`;
  return { status: config?.serviceInputStatus ?? config?.inputErrorStatus ?? err.status, detail };
}

/** Errors the router raises before any route runs (a malformed %-escape, an over-long path parameter). */
export function frameworkErrors(
  err: FastifyError,
  req: FastifyRequest<{ Body: unknown }, RawServerDefault>,
  reply: FastifyReply,
) {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const detail =
    err.code === 'FST_ERR_BAD_URL'
      ? `url: not a valid URL (${req.url.slice(0, 200)})`
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'url: a path parameter is longer than the server accepts'
        : err.message;
  return sendProblem(reply, status, (err.code ?? 'BAD_REQUEST').replace(/^FST_ERR_/, ''), detail);
}

export function installErrorHandlers(app: App): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (isServiceError(err)) {
      if (err.status >= 500) req.log.warn({ err, code: err.code }, err.message);
      const { status, detail } = renderServiceError(err, req);
      return sendProblem(reply, status, err.code, detail, err.retryAfter);
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
}
