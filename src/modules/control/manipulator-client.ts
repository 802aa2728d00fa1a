// The controller's side of the manipulator link: one persistent TCP connection, reconnected with
// exponential backoff and jitter, and a send() that answers within a timeout and never throws, so the
// decision loop can record "undelivered" and move on. The acknowledgement modes are described on
// AckMode (model.ts).
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import {
  type ControlLogger,
  encodeCommand,
  lineReader,
  type ManipulatorCommand,
  parseCommandLine,
  silentLogger,
} from './manipulator-protocol';
import type { AckMode, PeerKind, SendResult } from './model';
import { type BackoffOptions, reconnectBackoff } from './reconnect-backoff';

/** A peer that streams without newlines is not a manipulator; its replies are not buffered forever. */
const MAX_REPLY_BYTES = 64 * 1024;

export interface ManipulatorClientOptions {
  host: string;
  port: number;
  logger?: ControlLogger;
  backoff?: BackoffOptions;
  /** Upper bound on one send() (default 1000 ms). */
  timeoutMs?: number;
  /** Give up a connection attempt after this long (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Acknowledgement mode (default 'auto'). */
  ack?: AckMode;
}

const failed = (error: string): SendResult => ({ delivered: false, outcome: 'failed', error });

export interface ClientEvents {
  connected: [];
  disconnected: [reason: string];
  reconnecting: [info: { attempt: number; delayMs: number }];
}

interface Pending {
  line: string;
  sent: boolean;
  timer: NodeJS.Timeout;
  done: (r: SendResult) => void;
}

export class ManipulatorClient extends EventEmitter<ClientEvents> {
  readonly #opts: Required<Omit<ManipulatorClientOptions, 'backoff'>>;
  readonly #backoff: ReturnType<typeof reconnectBackoff>;
  #peer: PeerKind;
  /** The peer closed the connection cleanly after a command, as a silent peer does: connect on demand. */
  #idle = false;
  #peerEnded = false;
  #socket: Socket | null = null;
  #connected = false;
  #connecting = false;
  #started = false;
  #closed = false;
  #lastError = '';
  #reportedDown = false;
  #reconnectTimer: NodeJS.Timeout | null = null;
  /** Sent lines waiting for their reply, oldest first (replies arrive in order). */
  #inflight: Pending[] = [];
  /** Commands waiting for a connection attempt in progress. */
  #waiting: Pending[] = [];

  constructor(opts: ManipulatorClientOptions) {
    super();
    this.#opts = {
      host: opts.host,
      port: opts.port,
      logger: opts.logger ?? silentLogger,
      timeoutMs: opts.timeoutMs ?? 1000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 2000,
      ack: opts.ack ?? 'auto',
    };
    this.#backoff = reconnectBackoff(opts.backoff);
    this.#peer = this.#opts.ack === 'on' ? 'replies' : this.#opts.ack === 'off' ? 'silent' : 'unknown';
  }

  /** Holds a connection, or the link works one connection per command (a silent peer closed it cleanly). */
  get connected(): boolean {
    return this.#connected || this.#idle;
  }

  /** In auto mode, what the peer turned out to be. */
  get peer(): PeerKind {
    return this.#peer;
  }

  /** Opens the connection (idempotent); send() calls it too. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#connect();
  }

  /**
   * Sends one command. Resolves within `timeoutMs`: acknowledged or sent (see AckMode); failed at
   * once when there is no connection and none being made, or on reply `error`, timeout or disconnect.
   */
  send(command: ManipulatorCommand, opts: { timeoutMs?: number } = {}): Promise<SendResult> {
    if (this.#closed) return Promise.resolve(failed('client closed'));
    const line = encodeCommand(command);
    const check = parseCommandLine(line.slice(0, -1));
    if (!check.ok) return Promise.resolve(failed(`invalid command: ${check.message}`));
    this.start();
    if (this.#idle && !this.#connected && !this.#connecting) {
      this.#idle = false;
      this.#connect();
    }
    if (!this.#connected && !this.#connecting) {
      return Promise.resolve(failed(this.#downReason()));
    }
    const timeoutMs = opts.timeoutMs ?? this.#opts.timeoutMs;
    return new Promise<SendResult>((resolve) => {
      const p: Pending = {
        line,
        sent: false,
        timer: setTimeout(() => this.#onTimeout(p, timeoutMs), timeoutMs),
        done: (r) => {
          clearTimeout(p.timer);
          resolve(r);
        },
      };
      if (this.#connected) this.#write(p);
      else this.#waiting.push(p);
    });
  }

  /** Stops reconnecting, fails what is pending and closes the connection (gracefully, then by force). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#failAll(this.#waiting, 'client closed');
    this.#idle = false;
    const socket = this.#socket;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => socket.destroy(), 1000);
      socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      socket.end();
    });
  }

  #connect(): void {
    this.#connecting = true;
    const socket = connect({ host: this.#opts.host, port: this.#opts.port });
    this.#socket = socket;
    this.#peerEnded = false;
    this.#lastError = '';
    socket.setNoDelay(true);
    socket.setTimeout(this.#opts.connectTimeoutMs);
    socket.on('timeout', () => {
      if (!this.#connected)
        socket.destroy(new Error(`connect timeout after ${this.#opts.connectTimeoutMs} ms`));
    });
    socket.on('connect', () => {
      socket.setTimeout(0);
      // Notices a silently dead peer between sends; the ack timeout notices it on a send.
      socket.setKeepAlive(true, 10_000);
      this.#connecting = false;
      this.#connected = true;
      this.#backoff.reset();
      this.#reportedDown = false;
      this.#opts.logger.info({ host: this.#opts.host, port: this.#opts.port }, 'Connected to manipulator');
      this.emit('connected');
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const p of waiting) this.#write(p);
    });
    const replies = lineReader(
      MAX_REPLY_BYTES,
      (line) => this.#onReply(line.trim()),
      () => socket.destroy(new Error('reply line too long')),
    );
    socket.on('data', (chunk: Buffer) => replies.push(chunk));
    socket.on('end', () => {
      this.#peerEnded = true;
    });
    socket.on('error', (err) => {
      this.#lastError = err.message;
    });
    socket.on('close', () => this.#onClose(socket));
  }

  #write(p: Pending): void {
    const socket = this.#socket;
    if (!socket) {
      p.done(failed(this.#downReason()));
      return;
    }
    p.sent = true;
    if (this.#opts.ack === 'off') {
      socket.write(p.line, (err) => p.done(err ? failed(err.message) : { delivered: true, outcome: 'sent' }));
    } else {
      this.#inflight.push(p);
      socket.write(p.line);
    }
  }

  #onReply(reply: string): void {
    if (reply === '') return;
    const p = this.#inflight.shift();
    if (!p) {
      this.#opts.logger.warn({ reply: reply.slice(0, 200) }, 'Unexpected reply from manipulator');
      return;
    }
    this.#peer = 'replies';
    if (reply === 'ok') p.done({ delivered: true, outcome: 'acknowledged' });
    else p.done(failed(`manipulator replied: ${reply.slice(0, 200)}`));
  }

  #onTimeout(p: Pending, timeoutMs: number): void {
    if (!p.sent) {
      this.#waiting = this.#waiting.filter((w) => w !== p);
      p.done(failed(`not connected within ${timeoutMs} ms`));
      return;
    }
    p.done(failed(`no acknowledgement within ${timeoutMs} ms`));
    // Replies are matched by order, so a missing one makes the connection unusable; start afresh.
    this.#socket?.destroy(new Error('acknowledgement timeout'));
  }

  #onClose(socket: Socket): void {
    if (this.#socket !== socket) return;
    const wasConnected = this.#connected;
    this.#socket = null;
    this.#connected = false;
    this.#connecting = false;
    const reason = this.#lastError || 'connection closed';
    // A clean close (FIN without a reset) after a line the peer never answered: it read the line and hung
    // up, as a one-command-per-connection manipulator does. A peer that has replied before is not one.
    const cleanClose = wasConnected && this.#peerEnded && !this.#lastError;
    if (cleanClose && this.#peer !== 'replies' && this.#inflight.length > 0) {
      if (this.#peer === 'unknown') {
        this.#peer = 'silent';
        this.#opts.logger.info(
          { host: this.#opts.host, port: this.#opts.port },
          'The manipulator closes the connection after each command without replying: commands are recorded as sent, not acknowledged (MANIPULATOR_ACK=auto)',
        );
      }
      this.#inflight.shift()!.done({ delivered: true, outcome: 'sent' });
      this.#failAll(this.#inflight, 'the manipulator closed the connection after reading one command');
    }
    this.#failAll(this.#inflight, `connection lost before acknowledgement (${reason})`);
    this.#failAll(this.#waiting, `not connected (${reason})`);
    if (wasConnected) this.emit('disconnected', reason);
    if (this.#closed) return;
    if (cleanClose && this.#peer === 'silent') {
      // Expected from this peer: no warning, no backoff; the next send() connects again.
      this.#idle = true;
      return;
    }
    if (!this.#reportedDown) {
      this.#reportedDown = true;
      this.#opts.logger.warn(
        { host: this.#opts.host, port: this.#opts.port, error: reason },
        wasConnected
          ? 'Lost connection to manipulator; reconnecting'
          : 'Cannot connect to manipulator; retrying',
      );
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const { attempt, delayMs } = this.#backoff.next();
    this.emit('reconnecting', { attempt, delayMs });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#lastError = '';
      if (!this.#closed) this.#connect();
    }, delayMs);
    this.#reconnectTimer.unref();
  }

  #failAll(list: Pending[], error: string): void {
    const items = list.splice(0);
    for (const p of items) p.done(failed(error));
  }

  #downReason(): string {
    return this.#lastError ? `not connected (${this.#lastError})` : 'not connected';
  }
}
