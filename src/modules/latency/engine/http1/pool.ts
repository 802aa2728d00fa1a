/**
 * The load engine's HTTP/1.1 client: keep-alive connections, optional pipelining, one request
 * serialised once per run and written as is for every exchange.
 *
 * Why not undici, which telelab uses everywhere else: a load generator on one core is limited by its
 * own CPU per request, and the engine sends the same request again and again and reads only the
 * status code. undici builds each request anew and runs every response through llhttp and its
 * dispatch machinery (12.2 µs of CPU per request here, against autocannon's 10.0 µs with a prebuilt
 * buffer and http-parser-js). This client writes the prebuilt buffer and parses just what framing
 * needs (status, Content-Length, chunked, Connection / Keep-Alive): see bench/load.ts for the figures.
 *
 * What it does not do, on purpose: redirects (a 3xx is the answer), request retries (a failure is a
 * measurement), HTTP/2, upgrades (a 101 is an invalid response here).
 */
import type { LookupFunction } from 'node:net';
import { Http1Error } from '../errors';
import { Connection } from './connection';
import { type Http1Request, serializeRequest } from './request';

/** One exchange's callbacks; exactly one of onResponse / onError follows onSent. */
export interface Http1Handler {
  /** The request is being written to a connection (the "actual send" time). */
  onSent(): void;
  /** The whole response has arrived (its body is read and discarded). */
  onResponse(status: number): void;
  onError(err: Error): void;
}

export interface Http1PoolOptions {
  /** `http://host:port` or `https://host:port`. */
  origin: string;
  request: Http1Request;
  connections: number;
  /** Requests in flight per connection; 1 = no pipelining. */
  pipelining: number;
  /** Connecting, and waiting for any byte of a response in flight, each give up after this long. */
  timeoutMs: number;
  lookup?: LookupFunction | undefined;
  /** How long an idle connection is reused when the server gives no Keep-Alive timeout. */
  keepAliveMs?: number;
}

export class Http1Pool {
  readonly timeoutMs: number;
  readonly keepAliveMs: number;
  readonly isHead: boolean;
  /** @internal Where every plain-TCP connection of this pool reads into. */
  readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  private readonly url: URL;
  private readonly request: Buffer;
  private readonly opts: Http1PoolOptions;
  private readonly pipelining: number;
  private readonly maxConnections: number;
  private readonly all = new Set<Connection>();
  /** Connections with room for another request (a stack: the most recently used first). */
  private readonly available: Connection[] = [];
  /** Handlers waiting for a connection (a queue; `head` is its first element). */
  private pending: (Http1Handler | undefined)[] = [];
  private head = 0;
  private inFlight = 0;
  private closing = false;
  /** @internal The connection whose response handler is running. */
  current: Connection | null = null;
  private onDrained: (() => void) | null = null;

  constructor(opts: Http1PoolOptions) {
    this.opts = opts;
    this.url = new URL(opts.origin);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new TypeError('the origin must be http or https');
    }
    this.request = serializeRequest(this.url, opts.request);
    this.isHead = opts.request.method === 'HEAD';
    this.timeoutMs = opts.timeoutMs;
    this.keepAliveMs = opts.keepAliveMs ?? 30_000;
    this.pipelining = Math.max(1, opts.pipelining);
    this.maxConnections = Math.max(1, opts.connections);
  }

  /** Sends the request; the handler hears how it ended. Never throws. */
  dispatch(h: Http1Handler): void {
    if (this.closing) {
      process.nextTick(() => h.onError(new Http1Error('ABORTED', 'the run is closing')));
      return;
    }
    this.inFlight++;
    const c = this.connection();
    if (c === null) this.pending.push(h);
    else this.sendOn(c, h);
  }

  /** Lets every request in flight end, then closes the connections. */
  close(): Promise<void> {
    this.closing = true;
    if (this.inFlight === 0) {
      this.shutdown();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.onDrained = () => {
        this.onDrained = null;
        this.shutdown();
        resolve();
      };
    });
  }

  /** Aborts everything in flight now. */
  destroy(): Promise<void> {
    this.closing = true;
    const aborted = new Http1Error('ABORTED', 'the run was aborted');
    for (let i = this.head; i < this.pending.length; i++) {
      const h = this.pending[i]!;
      this.inFlight--;
      h.onError(aborted);
    }
    this.pending = [];
    this.head = 0;
    for (const c of this.all) c.fail(aborted);
    this.onDrained?.();
    this.onDrained = null;
    return Promise.resolve();
  }

  /** @internal A response has completed on c. */
  answered(c: Connection): void {
    this.inFlight--;
    this.offer(c);
  }

  /** @internal Resolves close() once nothing is in flight. */
  checkDrained(): void {
    if (this.inFlight === 0 && this.onDrained) this.onDrained();
  }

  /** @internal c is gone; `failed` of its requests are about to be failed. */
  closed(c: Connection, failed: number): void {
    this.all.delete(c);
    this.inFlight -= failed;
    // Requests still waiting for a connection get a new one.
    while (this.head < this.pending.length && this.all.size < this.maxConnections && !this.closing) {
      this.offer(this.open());
    }
    this.checkDrained();
  }

  private sendOn(c: Connection, h: Http1Handler): void {
    c.send(h, this.request, this.pipelining > 1);
    if (!c.listed && c.waiting.length < this.pipelining) {
      c.listed = true;
      this.available.push(c);
    }
  }

  /** A connection with room for one more request, opening one if allowed; null = wait. */
  private connection(): Connection | null {
    const cur = this.current;
    if (cur?.listed && !cur.retired && cur.waiting.length + 1 < this.pipelining) return cur;
    const now = Date.now();
    while (this.available.length > 0) {
      const c = this.available[this.available.length - 1]!;
      const usable = !c.retired && (c.waiting.length > 0 || c.reuseUntil === 0 || now < c.reuseUntil);
      if (usable && c.waiting.length < this.pipelining) {
        if (c.waiting.length + 1 >= this.pipelining) {
          this.available.pop();
          c.listed = false;
        }
        return c;
      }
      this.available.pop();
      c.listed = false;
      if (!c.dead && c.waiting.length === 0 && !usable) c.fail(new Http1Error('ABORTED', 'idle too long'));
    }
    if (this.all.size < this.maxConnections) return this.open();
    return null;
  }

  private open(): Connection {
    const c = new Connection(this, this.url, this.opts);
    this.all.add(c);
    return c;
  }

  /** c has room again: give it to the oldest waiting request, or list it as available. */
  private offer(c: Connection): void {
    while (!c.retired && c.waiting.length < this.pipelining && this.head < this.pending.length) {
      const h = this.pending[this.head]!;
      this.pending[this.head++] = undefined;
      c.send(h, this.request, this.pipelining > 1);
    }
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    if (!c.listed && !c.retired && c.waiting.length < this.pipelining) {
      c.listed = true;
      this.available.push(c);
    }
  }

  private shutdown(): void {
    for (const c of this.all) if (c.waiting.length === 0) c.socket.destroy();
  }
}
