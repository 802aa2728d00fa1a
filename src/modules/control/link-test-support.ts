/** The control tests' manipulator links: manipulators and clients on port 0, closed after each test (afterTest). */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterTest } from '../../../test/helpers';
import { type Manipulator, type ReceivedCommand, startManipulator } from './cli/manipulator';
import { ManipulatorClient, type ManipulatorClientOptions } from './manipulator-client';
import type { ControlLogger } from './manipulator-protocol';
import { type ControlTestAppOptions, controlApp, waitFor } from './test-support';

/** A command as the controller sends it. */
export const command = (status: 'up' | 'down', datetime = '2024-05-01T12:00:05') => ({ datetime, status });

/** A ControlLogger that records its lines. */
export function captureControlLogger() {
  const lines: { level: 'info' | 'warn'; msg: string; obj: object }[] = [];
  const logger: ControlLogger = {
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
  };
  return { logger, lines };
}

export async function testManipulator(
  opts: Parameters<typeof startManipulator>[0] = {},
): Promise<Manipulator> {
  const m = await startManipulator({ port: 0, ...opts });
  afterTest(() => m.close());
  return m;
}

export function testClient(port: number, opts: Partial<ManipulatorClientOptions> = {}) {
  const c = new ManipulatorClient({
    host: '127.0.0.1',
    port,
    backoff: { initialMs: 10, maxMs: 50 },
    ...opts,
  });
  afterTest(() => c.close());
  return c;
}

/** A raw connection that collects reply lines, for speaking the protocol badly on purpose. */
export async function rawSocket(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  afterTest(() => void socket.destroy());
  await once(socket, 'connect');
  const replies: string[] = [];
  let buf = '';
  socket.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    replies.push(...parts);
  });
  const waitReplies = (n: number) => waitFor(() => replies.length >= n).then(() => replies);
  return { socket, replies, waitReplies };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A manipulator that records the commands it receives. */
export async function recordingManipulator(
  port = 0,
): Promise<{ m: Manipulator; commands: ReceivedCommand[] }> {
  const commands: ReceivedCommand[] = [];
  const m = await startManipulator({ port, onCommand: (c) => commands.push(c) });
  afterTest(() => m.close());
  return { m, commands };
}

/** A free port with nothing listening on it (the manipulator is "down"). */
export async function closedPort(): Promise<number> {
  const m = await startManipulator({ port: 0 });
  await m.close();
  return m.port;
}

/** The control app with its manipulator down (nothing listens on its port): it decides, deliveries fail. */
export async function controlAppWithoutManipulator(opts: ControlTestAppOptions = {}) {
  return controlApp({ ...opts, env: { MANIPULATOR_PORT: String(await closedPort()), ...opts.env } });
}

/**
 * A manipulator built like the original one (Python `socketserver.StreamRequestHandler`): per connection it
 * reads one line, records it, and closes (shutdown(SHUT_WR), then close); it never replies.
 */
export async function startSocketserverManipulator(): Promise<{
  port: number;
  lines: string[];
  connections: () => number;
  close: () => Promise<void>;
}> {
  const lines: string[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      socket.off('data', onData);
      lines.push(buf.slice(0, nl));
      socket.end();
    };
    socket.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    lines,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
