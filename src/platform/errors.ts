/**
 * One error model for every adapter (HTTP, jobs, CLI). Services throw ServiceError with a stable
 * `code`; the HTTP layer renders it as application/problem+json with `status`.
 */
export class ServiceError extends Error {
  readonly code: string;
  readonly status: number;
  /** Seconds a client should wait before retrying (sent as Retry-After on 429/503). */
  readonly retryAfter: number | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    opts: { retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.status = status;
    this.retryAfter = opts.retryAfter;
  }
}

export const notFound = (code: string, message: string) => new ServiceError(code, 404, message);
export const badRequest = (code: string, message: string) => new ServiceError(code, 400, message);
export const conflict = (code: string, message: string) => new ServiceError(code, 409, message);
export const unprocessable = (code: string, message: string) => new ServiceError(code, 422, message);

/** The server is alive but cannot take this request now (queue full, database down). */
export const unavailable = (code: string, message: string, retryAfter = 1, cause?: unknown) =>
  new ServiceError(code, 503, message, { retryAfter, cause });

export const isServiceError = (e: unknown): e is ServiceError => e instanceof ServiceError;
