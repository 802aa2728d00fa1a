// The manipulator: a TCP server that accepts the controller's commands (manipulator-protocol.ts) and logs
// them, replying `ok` or `error <code>` per line.
import { createServer, type Server, type Socket } from 'node:net';
import {
  type ControlLogger,
  lineReader,
  MAX_LINE_BYTES,
  type ManipulatorCommand,
  parseCommandLine,
  silentLogger,
} from '../manipulator-protocol';

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

    const reader = lineReader(
      maxLineBytes,
      (line) => handleLine(socket, remote, line),
      () => tooLong(socket, remote),
    );
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      logger.warn({ remote, code: err.code }, `Connection error: ${err.message}`);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      if (reader.pendingBytes > 0)
        logger.warn(
          { remote, bytes: reader.pendingBytes },
          'Connection closed in the middle of a line; dropped it',
        );
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
