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
import * as net from 'node:net';
import * as tls from 'node:tls';

/** One exchange's callbacks; exactly one of onResponse / onError follows onSent. */
export interface Http1Handler {
  /** The request is being written to a connection (the "actual send" time). */
  onSent(): void;
  /** The whole response has arrived (its body is read and discarded). */
  onResponse(status: number): void;
  onError(err: Error): void;
}

/** Transport failures carry a `code`; Node's own socket errors keep theirs (ECONNREFUSED, ...). */
export class Http1Error extends Error {
  constructor(
    readonly code: 'CONNECT_TIMEOUT' | 'RESPONSE_TIMEOUT' | 'SOCKET_CLOSED' | 'INVALID_RESPONSE' | 'ABORTED',
    message: string,
  ) {
    super(message);
    this.name = 'Http1Error';
  }
}

export interface Http1Request {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Name/value pairs. Host is added unless given; Content-Length is computed. */
  headers: readonly string[];
  body: string | Buffer | null;
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

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const METHODS_WITH_PAYLOAD = new Set(['POST', 'PUT', 'PATCH']);

/** The request's bytes. Throws on what would let a header or the path split the request. */
export function serializeRequest(origin: URL, r: Http1Request): Buffer {
  if (!TOKEN.test(r.method)) throw new TypeError(`invalid method '${r.method}'`);
  if (!/^[\x21-\x7e]+$/.test(r.path)) throw new TypeError('the path must be printable ASCII without spaces');
  if (r.headers.length % 2 !== 0) throw new TypeError('headers must be name/value pairs');
  const lines = [`${r.method} ${r.path} HTTP/1.1`];
  let host = false;
  for (let i = 0; i < r.headers.length; i += 2) {
    const name = r.headers[i]!;
    const value = r.headers[i + 1]!;
    if (!TOKEN.test(name)) throw new TypeError(`invalid header name '${name}'`);
    if (/[\r\n\0]/.test(value)) throw new TypeError(`header ${name}: control characters are not allowed`);
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection') {
      throw new TypeError(`header ${name} is set by the client itself`);
    }
    if (lower === 'host') host = true;
    lines.push(`${name}: ${value}`);
  }
  if (!host) lines.unshift(lines.shift()!, `host: ${origin.host}`);
  const body = r.body === null ? null : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  if (body !== null || METHODS_WITH_PAYLOAD.has(r.method)) lines.push(`content-length: ${body?.length ?? 0}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === null ? head : Buffer.concat([head, body]);
}

// Parser states.
const HEAD = 0;
const BODY = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;

const CRLF = Buffer.from('\r\n');
const INCOMPLETE = -1;
const FAILED = -2;
const CONTENT_LENGTH = Buffer.from('content-length');
const CONNECTION = Buffer.from('connection');
const TRANSFER_ENCODING = Buffer.from('transfer-encoding');
const KEEP_ALIVE = Buffer.from('keep-alive');

/** Index of the next LF at or after `from`, or -1. */
function lineEnd(buf: Buffer, from: number, len: number): number {
  for (let i = from; i < len; i++) if (buf[i] === 0x0a) return i;
  return -1;
}

/** buf[start, end) equals `lower` (lowercase ASCII letters, digits and '-'), ignoring case. */
function nameIs(buf: Buffer, start: number, end: number, lower: Buffer): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((buf[start + i]! | 0x20) !== lower[i]) return false;
  return true;
}
const MAX_HEAD = 64 * 1024;
const MAX_LINE = 8 * 1024;

class Connection {
  readonly socket: net.Socket;
  /** Handlers of the requests written and not yet answered, oldest first. */
  readonly waiting: Http1Handler[] = [];
  connected = false;
  /** Listed in the pool's available stack. */
  listed = false;
  /** No new request: the server asked to close, the socket failed, or the response ends at close. */
  retired = false;
  dead = false;
  /** Date.now() after which the idle connection is not reused (0: no response yet). */
  reuseUntil = 0;
  private error: Error | null = null;

  private state = HEAD;
  private partial: Buffer | null = null;
  private remaining = 0;
  private status = 0;
  private keepAlive = true;

  constructor(
    private readonly pool: Http1Pool,
    url: URL,
    opts: Http1PoolOptions,
  ) {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const lookup = opts.lookup ? { lookup: opts.lookup } : {};
    if (url.protocol === 'https:') {
      this.socket = tls.connect({
        host,
        port,
        ...lookup,
        ...(net.isIP(host) ? {} : { servername: host }),
        ALPNProtocols: ['http/1.1'],
      });
      this.socket.once('secureConnect', this.onConnect);
    } else {
      // `onread` hands each read over in the pool's one buffer, skipping the Readable stream and a
      // Buffer allocation per read; parsing is synchronous and copies whatever it keeps.
      this.socket = net.connect({
        host,
        port,
        ...lookup,
        onread: { buffer: pool.readBuffer, callback: this.onRead },
      });
      this.socket.once('connect', this.onConnect);
    }
    this.socket.setNoDelay(true);
    this.socket.setTimeout(opts.timeoutMs);
    this.socket.on('timeout', this.onTimeout);
    if (url.protocol === 'https:') this.socket.on('data', this.onData);
    this.socket.on('end', this.onEnd);
    this.socket.on('error', this.onError);
    this.socket.on('close', this.onClose);
  }

  private readonly onConnect = () => {
    this.connected = true;
  };

  private readonly onTimeout = () => {
    if (!this.connected) {
      this.fail(new Http1Error('CONNECT_TIMEOUT', `could not connect within ${this.pool.timeoutMs} ms`));
    } else if (this.waiting.length > 0) {
      this.fail(new Http1Error('RESPONSE_TIMEOUT', `no response within ${this.pool.timeoutMs} ms`));
    }
    // An idle keep-alive connection simply stays; the timer re-arms on its next write.
  };

  private readonly onError = (err: Error) => {
    this.error ??= err;
  };

  private readonly onEnd = () => {
    // A response delimited by the end of the connection is complete now.
    if (this.state === UNTIL_CLOSE && this.waiting.length > 0) this.complete();
    this.retired = true;
    this.socket.end();
  };

  private readonly onClose = () => {
    this.dead = true;
    this.retired = true;
    if (this.state === UNTIL_CLOSE && this.waiting.length > 0 && this.error === null) this.complete();
    const err =
      this.error ??
      new Http1Error('SOCKET_CLOSED', 'the server closed the connection before the response was complete');
    const failed = this.waiting.splice(0);
    for (const h of failed) h.onError(err);
    this.pool.closed(this, failed.length);
  };

  fail(err: Error): void {
    this.error ??= err;
    this.retired = true;
    this.socket.destroy();
  }

  send(h: Http1Handler, request: Buffer, pipelined: boolean): void {
    this.waiting.push(h);
    h.onSent();
    // Pipelined, the requests given to a connection in one tick leave in one writev, as with wrk.
    if (pipelined && this.socket.writableCorked === 0) {
      this.socket.cork();
      process.nextTick(uncork, this.socket);
    }
    this.socket.write(request);
  }

  private readonly onRead = (n: number, buf: Buffer): boolean => {
    this.onData(buf.subarray(0, n), true);
    return true;
  };

  /**
   * Reads every complete response in `chunk`; keeps (a copy of) what a line or the head needs
   * across chunks. `shared`: chunk lives in the pool's read buffer and is overwritten by the next read.
   */
  private readonly onData = (chunk: Buffer, shared = false) => {
    let buf = chunk;
    if (this.partial !== null) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
      shared = false;
    }
    let pos = 0;
    const len = buf.length;
    while (pos < len && !this.dead) {
      switch (this.state) {
        case HEAD: {
          const next = this.head(buf, pos, len);
          if (next === INCOMPLETE) return this.hold(buf, pos, shared, MAX_HEAD, 'response head');
          if (next === FAILED) return;
          pos = next;
          break;
        }
        case BODY: {
          const n = Math.min(this.remaining, len - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.complete();
          break;
        }
        case CHUNK_SIZE: {
          const eol = buf.indexOf(CRLF, pos);
          if (eol < 0) return this.hold(buf, pos, shared, MAX_LINE, 'chunk size line');
          let size = 0;
          let digits = 0;
          let i = pos;
          for (; i < eol; i++) {
            const c = buf[i]!;
            const d =
              c >= 48 && c <= 57 ? c - 48 : (c | 0x20) >= 97 && (c | 0x20) <= 102 ? (c | 0x20) - 87 : -1;
            if (d < 0) break;
            size = size * 16 + d;
            digits++;
          }
          // After the digits only whitespace or a chunk extension (`;name=value`) may follow.
          if (
            digits === 0 ||
            digits > 12 ||
            (i < eol && buf[i] !== 0x3b && buf[i] !== 0x20 && buf[i] !== 0x09)
          ) {
            return this.invalid('invalid chunk size');
          }
          pos = eol + 2;
          if (size === 0) this.state = TRAILERS;
          else {
            this.state = CHUNK_DATA;
            this.remaining = size;
          }
          break;
        }
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, len - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = CHUNK_END;
            this.remaining = 2;
          }
          break;
        }
        case CHUNK_END: {
          // The CRLF after a chunk's data, possibly split across reads.
          const expected = this.remaining === 2 ? 13 : 10;
          if (buf[pos] !== expected) return this.invalid('chunk data not followed by CRLF');
          pos++;
          if (--this.remaining === 0) this.state = CHUNK_SIZE;
          break;
        }
        case TRAILERS: {
          // Trailer lines are skipped; an empty line ends the response.
          const eol = buf.indexOf(CRLF, pos);
          if (eol < 0) return this.hold(buf, pos, shared, MAX_LINE, 'trailer line');
          const empty = eol === pos;
          pos = eol + 2;
          if (empty) this.complete();
          break;
        }
        case UNTIL_CLOSE:
          pos = len;
          break;
      }
    }
  };

  /** Keeps buf[pos..] (a copy if it lives in the shared read buffer) until more bytes arrive. */
  private hold(buf: Buffer, pos: number, shared: boolean, max: number, what: string): void {
    if (buf.length - pos > max) {
      this.invalid(`${what} longer than ${max / 1024} KiB`);
      return;
    }
    this.partial = shared ? Buffer.from(buf.subarray(pos)) : buf.subarray(pos);
  }

  /**
   * Parses the response head starting at buf[pos], in one pass over its bytes (a native indexOf per
   * line costs more than the scan). Returns the position after it, INCOMPLETE (nothing is changed;
   * it is parsed again with more bytes), or FAILED (the connection was failed).
   */
  private head(buf: Buffer, pos: number, len: number): number {
    let eol = lineEnd(buf, pos, len);
    if (eol < 0) return INCOMPLETE;
    if (this.waiting.length === 0) return this.invalid('a response arrived with no request waiting');
    // "HTTP/1.x SSS" — the reason phrase is ignored.
    if (
      eol - pos < 12 ||
      buf[pos] !== 0x48 ||
      buf[pos + 1] !== 0x54 ||
      buf[pos + 2] !== 0x54 ||
      buf[pos + 3] !== 0x50 ||
      buf[pos + 4] !== 0x2f ||
      buf[pos + 5] !== 0x31 ||
      buf[pos + 6] !== 0x2e ||
      buf[pos + 8] !== 0x20
    ) {
      return this.invalid('not an HTTP/1.x response');
    }
    const s0 = buf[pos + 9]! - 48;
    const s1 = buf[pos + 10]! - 48;
    const s2 = buf[pos + 11]! - 48;
    if (s0 < 1 || s0 > 5 || s1 < 0 || s1 > 9 || s2 < 0 || s2 > 9) return this.invalid('invalid status code');
    const status = s0 * 100 + s1 * 10 + s2;
    let keepAlive = buf[pos + 7] !== 0x30; // HTTP/1.0 closes unless it says keep-alive
    let length = -1;
    let chunked = false;
    let keepAliveSeconds = 0;
    let line = eol + 1;
    for (;;) {
      eol = lineEnd(buf, line, len);
      if (eol < 0) return INCOMPLETE;
      const end = eol > line && buf[eol - 1] === 0x0d ? eol - 1 : eol;
      if (end === line) break; // the empty line ends the head
      // Only names starting with c, t or k can matter here.
      const first = buf[line]! | 0x20;
      if (first === 0x63 || first === 0x74 || first === 0x6b) {
        let colon = line;
        while (colon < end && buf[colon] !== 0x3a) colon++;
        if (colon === end) return this.invalid('a header line without a colon');
        let v = colon + 1;
        while (v < end && (buf[v] === 0x20 || buf[v] === 0x09)) v++;
        let ve = end;
        while (ve > v && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
        if (nameIs(buf, line, colon, CONTENT_LENGTH)) {
          let n = 0;
          for (let i = v; i < ve; i++) {
            const d = buf[i]! - 48;
            if (d < 0 || d > 9 || i - v >= 15) return this.invalid('invalid Content-Length');
            n = n * 10 + d;
          }
          if (ve === v || (length >= 0 && length !== n)) return this.invalid('invalid Content-Length');
          length = n;
        } else if (nameIs(buf, line, colon, CONNECTION)) {
          if (!nameIs(buf, v, ve, KEEP_ALIVE)) {
            const value = buf.toString('latin1', v, ve).toLowerCase();
            if (value.includes('close')) keepAlive = false;
            else if (value.includes('keep-alive')) keepAlive = true;
          } else keepAlive = true;
        } else if (nameIs(buf, line, colon, TRANSFER_ENCODING)) {
          chunked = /(?:^|,)\s*chunked$/i.test(buf.toString('latin1', v, ve));
        } else if (nameIs(buf, line, colon, KEEP_ALIVE)) {
          const m = /timeout\s*=\s*(\d+)/i.exec(buf.toString('latin1', v, ve));
          if (m) keepAliveSeconds = Number(m[1]);
        }
      }
      line = eol + 1;
    }
    const next = eol + 1;
    if (status < 200) {
      if (status === 101) {
        return this.invalid('the server switched protocols (101), which a load test cannot follow');
      }
      return next; // 1xx informational: the real response follows
    }
    this.status = status;
    this.keepAlive = keepAlive;
    // Stop reusing a second before the server's announced keep-alive timeout, as undici does.
    this.reuseUntil =
      Date.now() +
      (keepAliveSeconds > 0 ? Math.max(0, keepAliveSeconds * 1000 - 1000) : this.pool.keepAliveMs);
    if (this.pool.isHead || status === 204 || status === 304) this.complete();
    else if (chunked) this.state = CHUNK_SIZE;
    else if (length === 0) this.complete();
    else if (length > 0) {
      this.state = BODY;
      this.remaining = length;
    } else {
      // No length: the body runs to the end of the connection (RFC 9112 §6.3).
      this.state = UNTIL_CLOSE;
      this.keepAlive = false;
      this.retired = true;
    }
    return next;
  }

  private complete(): void {
    const h = this.waiting.shift()!;
    const status = this.status;
    this.state = HEAD;
    if (!this.keepAlive) {
      this.retired = true;
      if (this.waiting.length === 0) this.socket.end();
    }
    // The connection is available again before the handler runs, so that it can send at once,
    // on this same connection by preference: pipelined, all of a read's follow-ups go in one write.
    this.pool.answered(this);
    this.pool.current = this;
    h.onResponse(status);
    this.pool.current = null;
    this.pool.checkDrained();
  }

  private invalid(message: string): typeof FAILED {
    this.fail(new Http1Error('INVALID_RESPONSE', `invalid response: ${message}`));
    return FAILED;
  }
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

const uncork = (socket: net.Socket) => socket.uncork();
