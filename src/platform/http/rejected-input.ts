/** Counting what an ingest route refuses before its handler runs, as its service counts what it refuses. */
import type { FastifyError, onErrorAsyncHookHandler } from 'fastify';
import { isServiceError } from '../errors';

/** The field an input error raised before the handler names: one of `fields`, 'body_too_large' or 'body'. */
function rejectedField(err: FastifyError, fields: readonly string[]): string {
  if (err.statusCode === 413) return 'body_too_large';
  const v = err.validation?.[0];
  if (!v) return 'body';
  const missing = (v.params as { missingProperty?: unknown }).missingProperty;
  const field = typeof missing === 'string' ? missing : v.instancePath.split('/')[1];
  return field !== undefined && fields.includes(field) ? field : 'body';
}

/**
 * A route `onError` hook: input the HTTP layer refused (not JSON, wrong content type, schema, size) is
 * counted by field. ServiceErrors are left out: the service counts what it refuses itself.
 */
export function countRejectedInput(
  fields: readonly string[],
  count: (field: string) => void,
): onErrorAsyncHookHandler {
  return async (_req, _reply, err) => {
    if (isServiceError(err)) return;
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) count(rejectedField(err, fields));
  };
}
