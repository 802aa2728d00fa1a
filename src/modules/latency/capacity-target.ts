/**
 * An HTTP target whose capacity is known exactly: `concurrency` requests are served at a time, each for
 * `serviceMs`, and the rest wait their turn (FIFO) — capacity = concurrency × 1000 / serviceMs req/s.
 * Used by the capacity search's tests and benchmark.
 *
 * Service runs on a virtual clock: a slot that starts a request at time t is free again at exactly
 * t + serviceMs, whenever its timer actually fires. So a late timer (a busy event loop) delays that one
 * answer but never lowers the capacity, and the capacity stays the number above on a loaded machine.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { closeServer, listenOn } from './engine/target';

export interface CapacityTargetOptions {
  /** Requests served at a time. */
  concurrency: number;
  /** Service time of one request, ms. */
  serviceMs: number;
  host?: string;
  port?: number;
}

export interface CapacityTarget {
  /** `http://host:port/` — every path is served the same way. */
  url: string;
  /** concurrency × 1000 / serviceMs. */
  capacityRps: number;
  /** Requests answered so far. */
  readonly served: number;
  close(): Promise<void>;
}

const OK = Buffer.from('{"ok":true}');
const OK_HEADERS = { 'content-type': 'application/json', 'content-length': String(OK.length) };

export async function startCapacityTarget(opts: CapacityTargetOptions): Promise<CapacityTarget> {
  const { concurrency, serviceMs } = opts;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError('concurrency must be an integer >= 1');
  if (!(serviceMs > 0)) throw new RangeError('serviceMs must be > 0');
  // When each slot is next free, on the virtual clock (performance.now() ms).
  const freeAt = new Float64Array(concurrency);
  let served = 0;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const now = performance.now();
    let slot = 0;
    for (let i = 1; i < concurrency; i++) if (freeAt[i]! < freeAt[slot]!) slot = i;
    const done = Math.max(now, freeAt[slot]!) + serviceMs;
    freeAt[slot] = done;
    req.resume();
    setTimeout(() => {
      served++;
      res.writeHead(200, OK_HEADERS);
      res.end(OK);
    }, done - now);
  };

  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  const host = opts.host ?? '127.0.0.1';
  const port = await listenOn(server, host, opts.port);
  return {
    url: `http://${host}:${port}/`,
    capacityRps: (concurrency * 1000) / serviceMs,
    get served() {
      return served;
    },
    close: () => closeServer(server),
  };
}
