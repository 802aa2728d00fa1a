/**
 * One error model for every adapter (HTTP, jobs, CLI). Services throw a ServiceError of a `kind` with a
 * stable `code`; they never choose an HTTP status. The HTTP layer maps the kind to a status and renders
 * application/problem+json; an input error takes the route's `inputErrorStatus` where one is set.
 */

export type ErrorKind =
  | 'invalid_input'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

/** The status of each kind when the route says nothing else. */
const KIND_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

function kindOfStatus(status: number): ErrorKind {
  const kind = (Object.keys(KIND_STATUS) as ErrorKind[]).find((k) => KIND_STATUS[k] === status);
  if (kind) return kind;
  return status >= 500 ? 'internal' : 'invalid_input';
}

export interface ServiceErrorOptions {
  /** Seconds a client should wait before retrying (sent as Retry-After on 429/503). */
  retryAfter?: number;
  cause?: unknown;
  /** The input field at fault, as the caller named it (invalid_input). */
  field?: string;
}

export class ServiceError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  /** The kind's status, or the status given explicitly. */
  readonly status: number;
  /** True when built from a kind: the HTTP layer may apply the route's compatibility status. */
  readonly statusFromKind: boolean;
  readonly retryAfter: number | undefined;
  readonly field: string | undefined;

  /** `kindOrStatus`: prefer a kind; a number fixes the status whatever the route says. */
  constructor(
    code: string,
    kindOrStatus: ErrorKind | number,
    message: string,
    opts: ServiceErrorOptions = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'ServiceError';
    this.code = code;
    if (typeof kindOrStatus === 'number') {
      this.kind = kindOfStatus(kindOrStatus);
      this.status = kindOrStatus;
      this.statusFromKind = false;
    } else {
      this.kind = kindOrStatus;
      this.status = KIND_STATUS[kindOrStatus];
      this.statusFromKind = true;
    }
    this.retryAfter = opts.retryAfter;
    this.field = opts.field;
  }
}

/**
 * Input the service cannot take. `field` is the path in the service's own input ('datetime', 'items[2].x'),
 * '' for the input as a whole; the message reads "<field>: <message>". A route whose service input is one
 * part of the request says so with `config.serviceInput: 'body'`, and the HTTP layer writes "body.<field>".
 */
export const invalidInput = (field: string, message: string, code = 'VALIDATION_FAILED') =>
  new ServiceError(code, 'invalid_input', field ? `${field}: ${message}` : message, { field });

export const notFound = (code: string, message: string) => new ServiceError(code, 'not_found', message);
export const conflict = (code: string, message: string) => new ServiceError(code, 'conflict', message);
export const forbidden = (code: string, message: string) => new ServiceError(code, 'forbidden', message);

/** The server is alive but cannot take this request now (queue full, database down). */
export const unavailable = (code: string, message: string, retryAfter = 1, cause?: unknown) =>
  new ServiceError(code, 'unavailable', message, { retryAfter, cause });

/** Always 400, even on a route with another `inputErrorStatus`. New code throws `invalidInput`. */
export const badRequest = (code: string, message: string) => new ServiceError(code, 400, message);
/** Always 422. New code throws `invalidInput` and lets the route choose 422. */
export const unprocessable = (code: string, message: string) => new ServiceError(code, 422, message);

export const isServiceError = (e: unknown): e is ServiceError => e instanceof ServiceError;
