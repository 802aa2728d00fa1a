import { performance } from 'node:perf_hooks';
import { LoadOptionsError } from './errors';
import type { Http1Request } from './http1';
import type { LoadTarget } from './types';

/** How the engine reaches a target: URL resolution and error naming. */

const invalid = (message: string) => new LoadOptionsError(message);

export interface ResolvedTarget {
  origin: string;
  request: Http1Request;
}

export function resolveTarget(t: LoadTarget): ResolvedTarget {
  let url: URL;
  try {
    if (t.url) url = new URL(t.url);
    else {
      if (!t.host) throw invalid('target needs a url or a host');
      const host = t.host.includes(':') && !t.host.startsWith('[') ? `[${t.host}]` : t.host;
      const base = new URL(`${t.scheme ?? 'http'}://${host}${t.port ? `:${t.port}` : ''}`);
      url = t.path ? new URL(t.path, base) : base;
      // A path such as `//other.host/x` or `/\\other.host` would resolve to another origin.
      if (url.origin !== base.origin) throw invalid(`path '${t.path}' would leave ${base.origin}`);
    }
  } catch (e) {
    if (e instanceof LoadOptionsError) throw e;
    throw invalid(`invalid target url: ${(e as Error).message}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('target must be http or https');
  const headers: string[] = [];
  for (const [k, v] of Object.entries(t.headers ?? {})) headers.push(k, v);
  const method = (t.method ?? 'GET').toUpperCase();
  return {
    origin: url.origin,
    request: {
      path: url.pathname + url.search,
      method,
      headers,
      body: t.body ?? null,
    },
  };
}

export const wallIso = (perfMs: number) => new Date(performance.timeOrigin + perfMs).toISOString();
export const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/** A transport error's kind (a counter name) from the engine's client's and Node's error codes. */
export function errorKind(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'CONNECT_TIMEOUT':
      return 'connect_timeout';
    case 'RESPONSE_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'SOCKET_CLOSED':
      return 'connection_reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    case 'INVALID_RESPONSE':
      return 'invalid_response';
    case 'ABORTED':
    case 'ABORT_ERR':
      return 'aborted';
    default:
      // Certificate and handshake failures (ERR_TLS_CERT_ALTNAME_INVALID, DEPTH_ZERO_SELF_SIGNED_CERT...).
      return /TLS|CERT|SSL/.test(err.code ?? '') ? 'tls' : 'other';
  }
}

/** A transport error in one line: its code and message, OpenSSL's internals reduced to the reason. */
export function errorText(err: Error & { code?: string }): string {
  // e.g. "…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/…:354:\n"
  const ssl = /SSL routines:[^:]*:([^:]+)/.exec(err.message);
  let message = ssl ? `TLS handshake failed: ${ssl[1]}` : err.message.trim();
  if (ssl?.[1] === 'wrong version number') message += ' (does the target speak plain HTTP? then use http)';
  return err.code ? `${err.code}: ${message}` : message;
}
