/** Request validation: which ajv reads which part of a request, and the rule for unknown query parameters. */
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchema } from 'fastify';
import type { App } from './server';

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
    // A JSON number beyond the largest double (1e400) parses to Infinity: no schema's number takes it.
    strictNumbers: true,
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

export function installValidation(app: App): void {
  app.setValidatorCompiler(validatorCompilers());
  app.addHook('onRoute', rejectUnknownQueryParameters);
}
