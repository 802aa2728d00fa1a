import * as net from 'node:net';
import * as tls from 'node:tls';
import { Http1Error } from '../errors';
import type { Http1Handler, Http1Pool, Http1PoolOptions } from './pool';
import { ResponseReader } from './response-reader';

/** One keep-alive connection of a pool; its responses are read by ResponseReader. */
export class Connection extends ResponseReader {
  readonly socket: net.Socket;
  /** Handlers of the requests written and not yet answered, oldest first. */
  readonly waiting: Http1Handler[] = [];
  connected = false;
  /** Listed in the pool's available stack. */
  listed = false;
  retired = false;
  dead = false;
  reuseUntil = 0;
  private error: Error | null = null;

  constructor(
    protected readonly pool: Http1Pool,
    url: URL,
    opts: Http1PoolOptions,
  ) {
    super();
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
    if (this.readsUntilClose && this.waiting.length > 0) this.complete();
    this.retired = true;
    this.socket.end();
  };

  private readonly onClose = () => {
    this.dead = true;
    this.retired = true;
    if (this.readsUntilClose && this.waiting.length > 0 && this.error === null) this.complete();
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

  protected responseComplete(status: number, keepAlive: boolean): void {
    const h = this.waiting.shift()!;
    if (!keepAlive) {
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
}

const uncork = (socket: net.Socket) => socket.uncork();
