// The manipulator: a TCP server that accepts the controller's commands and logs them.
//
// Protocol (newline-delimited, UTF-8), one command per line:
//   client -> server  {"datetime": "YYYY-MM-DDTHH:MM:SS", "status": "up" | "down"}\n
//   server -> client  ok\n                 for every valid command, in order
//                     error <code>\n       for every invalid line (codes below)
// The reply is what lets the client report a command as delivered only when the manipulator has it; a
// client that never reads replies (netcat, the original controller) loses nothing.
import { createServer, type Server, type Socket } from 'node:net';
import type { ControlStatus } from './decider';
import { parseSensorDatetime } from './windows';

export interface ManipulatorCommand {
  datetime: string;
  status: ControlStatus;
}

/** The two calls we make on a logger; a pino Logger satisfies it. */
export interface ControlLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLogger: ControlLogger = { info() {}, warn() {} };

export type CommandErrorCode =
  | 'invalid_json'
  | 'invalid_command'
  | 'invalid_status'
  | 'invalid_datetime'
  | 'line_too_long';

export type ParsedLine =
  | { ok: true; command: ManipulatorCommand }
  | { ok: false; code: CommandErrorCode; message: string };

/** Default cap on one line; a command is ~50 bytes, so anything near this is garbage or an attack. */
export const MAX_LINE_BYTES = 64 * 1024;

/** The wire form of a command: one JSON line. */
export function encodeCommand(command: ManipulatorCommand): string {
  return `${JSON.stringify({ datetime: command.datetime, status: command.status })}\n`;
}

/** Validates one received line (without its newline). */
export function parseCommandLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, code: 'invalid_json', message: 'line is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'invalid_command', message: 'command must be a JSON object' };
  }
  const { datetime, status } = value as Record<string, unknown>;
  if (status !== 'up' && status !== 'down') {
    return {
      ok: false,
      code: 'invalid_status',
      message: `status must be "up" or "down", got ${JSON.stringify(status)}`,
    };
  }
  if (typeof datetime !== 'string' || parseSensorDatetime(datetime) === null) {
    return {
      ok: false,
      code: 'invalid_datetime',
      message: 'datetime must be ISO 8601, e.g. 2024-05-01T12:00:05',
    };
  }
  return { ok: true, command: { datetime, status } };
}

export interface ReceivedCommand {
  command: ManipulatorCommand;
  receivedAt: Date;
  remote: string;
}

export interface ManipulatorOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  logger?: ControlLogger;
  /** Reply `ok` / `error <code>` per line (default true). */
  ack?: boolean;
  maxLineBytes?: number;
  /** How long close() lets clients finish before cutting them off. */
  closeGraceMs?: number;
  now?: () => Date;
  onCommand?: (received: ReceivedCommand) => void;
}

export interface Manipulator {
  readonly host: string;
  readonly port: number;
  /** Valid commands received since start. */
  readonly received: number;
  /** Invalid or oversized lines since start. */
  readonly rejected: number;
  readonly last: ReceivedCommand | null;
  readonly connections: number;
  /** Stops accepting, ends open connections (destroying them after the grace period) and resolves. */
  close(): Promise<void>;
}

export async function startManipulator(opts: ManipulatorOptions = {}): Promise<Manipulator> {
  const logger = opts.logger ?? silentLogger;
  const ack = opts.ack ?? true;
  const maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const now = opts.now ?? (() => new Date());
  const sockets = new Set<Socket>();
  let received = 0;
  let rejected = 0;
  let last: ReceivedCommand | null = null;

  const handleLine = (socket: Socket, remote: string, line: string) => {
    if (line.trim() === '') return;
    const parsed = parseCommandLine(line);
    if (!parsed.ok) {
      rejected++;
      logger.warn(
        { remote, code: parsed.code, line: line.slice(0, 200) },
        `Ignoring invalid command: ${parsed.message}`,
      );
      if (ack && socket.writable) socket.write(`error ${parsed.code}\n`);
      return;
    }
    received++;
    last = { command: parsed.command, receivedAt: now(), remote };
    logger.info({ remote, ...parsed.command }, `Received command: ${parsed.command.status}`);
    if (ack && socket.writable) socket.write('ok\n');
    opts.onCommand?.(last);
  };

  const tooLong = (socket: Socket, remote: string) => {
    rejected++;
    logger.warn({ remote, limit: maxLineBytes }, `Dropping a line longer than ${maxLineBytes} bytes`);
    if (ack && socket.writable) socket.write('error line_too_long\n');
  };

  const server: Server = createServer((socket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    sockets.add(socket);
    socket.setNoDelay(true);
    logger.info({ remote }, 'Client connected');

    // Bytes of the line not yet terminated; `discarding` skips the rest of an oversized line.
    let parts: Buffer[] = [];
    let partBytes = 0;
    let discarding = false;

    socket.on('data', (chunk: Buffer) => {
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl === -1) {
          const rest = chunk.subarray(start);
          if (!discarding && partBytes + rest.length > maxLineBytes) {
            discarding = true;
            parts = [];
            partBytes = 0;
            tooLong(socket, remote);
          } else if (!discarding) {
            parts.push(rest);
            partBytes += rest.length;
          }
          return;
        }
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        if (discarding) {
          discarding = false;
          continue;
        }
        if (partBytes + piece.length > maxLineBytes) {
          parts = [];
          partBytes = 0;
          tooLong(socket, remote);
          continue;
        }
        const line = partBytes === 0 ? piece : Buffer.concat([...parts, piece]);
        parts = [];
        partBytes = 0;
        handleLine(socket, remote, line.toString('utf8').replace(/\r$/, ''));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      logger.warn({ remote, code: err.code }, `Connection error: ${err.message}`);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      if (partBytes > 0)
        logger.warn({ remote, bytes: partBytes }, 'Connection closed in the middle of a line; dropped it');
      logger.info({ remote }, 'Client disconnected');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 1234 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.warn({ err }, `Server error: ${err.message}`));
  const address = server.address();
  const host = typeof address === 'object' && address ? address.address : (opts.host ?? '127.0.0.1');
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 1234);

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.end();
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, opts.closeGraceMs ?? 1000);
      timer.unref();
    });
    return closing;
  };

  return {
    host,
    port,
    get received() {
      return received;
    },
    get rejected() {
      return rejected;
    },
    get last() {
      return last;
    },
    get connections() {
      return sockets.size;
    },
    close,
  };
}
