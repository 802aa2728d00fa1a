import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The original service's demo target: `GET /api/latency` -> `{"message":"pong"}` after a simulated
 * delay. Plain node:http (no framework) so that the target, not the server stack, is what a benchmark
 * of the load engine measures.
 */
export interface LatencyTargetOptions {
  port?: number;
  host?: string;
  /** Fixed delay before answering, ms. */
  delayMs?: number;
  /** Uniform extra delay in [0, jitterMs), ms. */
  jitterMs?: number;
  /**
   * After every `stallEveryMs` of normal service (counted from start, then from the end of the last
   * stall), the next request is answered only after `stallMs`: one slow response, as a GC pause or a
   * lock would cause. Used to show coordinated omission. `?stall=MS` stalls a single request.
   */
  stallEveryMs?: number;
  stallMs?: number;
}

export interface LatencyTarget {
  /** Origin, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** `url` + `/api/latency`. */
  latencyUrl: string;
  host: string;
  port: number;
  /** Requests answered on `/api/latency` so far. */
  readonly served: number;
  close(): Promise<void>;
}

const PONG = Buffer.from('{"message":"pong"}');
const NOT_FOUND = Buffer.from('{"error":"not found"}');
const PONG_HEADERS = { 'content-type': 'application/json', 'content-length': String(PONG.length) };
const NOT_FOUND_HEADERS = { 'content-type': 'application/json', 'content-length': String(NOT_FOUND.length) };

export async function startLatencyTarget(opts: LatencyTargetOptions = {}): Promise<LatencyTarget> {
  const host = opts.host ?? '127.0.0.1';
  const delayMs = opts.delayMs ?? 0;
  const jitterMs = opts.jitterMs ?? 0;
  const stallEveryMs = opts.stallEveryMs ?? 0;
  const stallMs = opts.stallMs ?? 0;
  let nextStallAt = stallEveryMs > 0 ? Date.now() + stallEveryMs : Number.POSITIVE_INFINITY;
  let served = 0;

  const pong = (res: ServerResponse) => {
    served++;
    res.writeHead(200, PONG_HEADERS);
    res.end(PONG);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== '/api/latency' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, NOT_FOUND_HEADERS);
      res.end(NOT_FOUND);
      return;
    }
    let wait = delayMs + (jitterMs > 0 ? Math.random() * jitterMs : 0);
    if (q !== -1) {
      const stall = Number(new URLSearchParams(url.slice(q + 1)).get('stall'));
      if (stall > 0) wait = stall;
    }
    if (stallMs > 0 && Date.now() >= nextStallAt) {
      nextStallAt = Date.now() + stallMs + stallEveryMs;
      wait = stallMs;
    }
    // Answer in the same tick when there is no delay: a timer would add ~1 ms to every response.
    if (wait <= 0) pong(res);
    else setTimeout(pong, wait, res);
  };

  const server = createServer({ keepAliveTimeout: 65_000 }, handle);
  const port = await listenOn(server, host, opts.port);
  const urlHost =
    host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  const origin = `http://${urlHost}:${port}`;
  return {
    url: origin,
    latencyUrl: `${origin}/api/latency`,
    host,
    port,
    get served() {
      return served;
    },
    close: () => closeServer(server),
  };
}

/** Listens on host:port (0 or none: a free port) and resolves with the port. */
export async function listenOn(server: Server, host: string, port = 0): Promise<number> {
  // A load generator may open many sockets; the default backlog drops SYNs under a connection burst.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Closes a target: idle sockets at once, those still answering after at most 1 s. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets would hold close() open until the client lets go.
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  });
}
