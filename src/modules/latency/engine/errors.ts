/**
 * The engine's errors. Plain classes with a `code`, no HTTP status: the engine never answers HTTP.
 * Callers map them to their own protocol (the latency routes: `invalidInput`; `telelab load`: exit 2).
 */

/** The options given to the engine cannot run: no stage, a bad target URL, a header that would split a request... */
export class LoadOptionsError extends Error {
  readonly code = 'INVALID_LOAD_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'LoadOptionsError';
  }
}

/** A call that the run's state does not allow (e.g. `start()` twice). */
export class LoadStateError extends Error {
  readonly code = 'RUN_ALREADY_STARTED';
  constructor(message: string) {
    super(message);
    this.name = 'LoadStateError';
  }
}

/** A transport failure of the HTTP/1.1 client; Node's own socket errors keep their codes (ECONNREFUSED, ...). */
export class Http1Error extends Error {
  constructor(
    readonly code: 'CONNECT_TIMEOUT' | 'RESPONSE_TIMEOUT' | 'SOCKET_CLOSED' | 'INVALID_RESPONSE' | 'ABORTED',
    message: string,
  ) {
    super(message);
    this.name = 'Http1Error';
  }
}
