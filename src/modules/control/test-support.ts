/** Shared pieces of the control module's tests: a fake clock, a capturing logger, app builders. */
import pino from 'pino';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import type { Db } from '../../platform/db';
import type { Logger } from '../../platform/logger';
import type { ControlModule, ControlModuleOptions } from './index';
import { createControlModule } from './index';
import { ManipulatorClient } from './manipulator-client';

/** 2030-01-01T00:00:00Z: a multiple of every interval the tests use. */
export const T0 = Date.UTC(2030, 0, 1);

export interface FakeClock {
  now(): number;
  set(ms: number): void;
}

export function fakeClock(start = T0): FakeClock {
  let t = start;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
  };
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger whose lines land in `lines` (parsed), so tests can read the exact messages. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

export interface ControlTestAppOptions {
  env?: Record<string, string>;
  clock?: FakeClock;
  db?: Db;
  logger?: Logger;
  module?: ControlModuleOptions;
}

/** An app with only the control module; by default the loop is manual (tests call tick). */
export async function controlApp(
  opts: ControlTestAppOptions = {},
): Promise<{ app: TestApp; control: ControlModule }> {
  const app = await buildTestApp({
    modules: [
      (deps) =>
        createControlModule(deps, {
          loop: 'manual',
          // Reconnect fast: tests bring manipulators down and up within milliseconds.
          createClient: ({ host, port, ack }) =>
            new ManipulatorClient({
              host,
              port,
              ack,
              backoff: { initialMs: 10, maxMs: 50 },
              timeoutMs: 1000,
            }),
          ...opts.module,
        }),
    ],
    env: { CONTROL_DECISION_INTERVAL: '5', ...opts.env },
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.db ? { db: opts.db } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const control = app.modules.find((m) => m.name === 'control') as ControlModule;
  return { app, control };
}

export async function postReading(app: TestApp, datetime: string, payload: number) {
  return app.http.inject({ method: 'POST', url: '/sensor-data', payload: { datetime, payload } });
}

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` integers around `mean` (uniform ± spread), deterministic. */
export function payloads(seed: number, n: number, mean: number, spread: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.round(mean + (r() * 2 - 1) * spread));
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
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
  const { createServer } = await import('node:net');
  const lines: string[] = [];
  let connections = 0;
  const sockets = new Set<import('node:net').Socket>();
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
