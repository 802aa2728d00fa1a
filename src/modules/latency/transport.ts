import type { LookupFunction, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { buildConnector, type Dispatcher } from 'undici';
import { ServiceError } from '../../platform/errors';
import type { LoadTarget } from './engine.types';

/** How the engine reaches a target: URL resolution, error naming, the socket connector. */

export const invalid = (message: string) => new ServiceError('LATENCY_INVALID_LOAD', 400, message);

export interface ResolvedTarget {
  origin: string;
  dispatch: Dispatcher.DispatchOptions;
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
    if (e instanceof ServiceError) throw e;
    throw invalid(`invalid target url: ${(e as Error).message}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('target must be http or https');
  const headers: string[] = [];
  for (const [k, v] of Object.entries(t.headers ?? {})) headers.push(k, v);
  const method = (t.method ?? 'GET').toUpperCase();
  return {
    origin: url.origin,
    dispatch: {
      path: url.pathname + url.search,
      method,
      headers,
      body: t.body ?? null,
      // Without this undici will not pipeline behind a request until its headers arrive.
      blocking: false,
    },
  };
}

export const wallIso = (perfMs: number) => new Date(performance.timeOrigin + perfMs).toISOString();
export const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/** A transport error's kind (a counter name) from undici's / Node's error codes. */
export function errorKind(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect_timeout';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'connection_reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return 'aborted';
    default:
      return 'other';
  }
}

export const errorText = (err: Error & { code?: string }) =>
  err.code ? `${err.code}: ${err.message}` : err.message;

const uncork = (socket: Socket) => socket.uncork();

/**
 * With pipelining, several requests go to one socket in the same tick and each would cost its own write
 * syscall (most of a load generator's CPU on loopback). Corking the socket until the end of the tick sends
 * them in one writev, as wrk does. Without pipelining there is at most one request per socket per tick.
 */
export function corkingConnector(timeoutMs: number, lookup?: LookupFunction): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs, ...(lookup ? { lookup } : {}) });
  return (opts, callback) =>
    connect(opts, (...args) => {
      const socket = args[1];
      if (socket) {
        const write = socket.write;
        socket.write = function (this: Socket, ...writeArgs: Parameters<Socket['write']>) {
          if (this.writableCorked === 0) {
            this.cork();
            process.nextTick(uncork, this);
          }
          return write.apply(this, writeArgs as Parameters<typeof write>);
        } as Socket['write'];
      }
      callback(...args);
    });
}
