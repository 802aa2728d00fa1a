/** Shared pieces of the control module's tests: a fake clock, a capturing logger, app builders, readings. */
import pino from 'pino';
import { expect } from 'vitest';
import { type FakeClock, mulberry32, fakeClock as sharedFakeClock } from '../../../test/deterministic';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import type { Db } from '../../platform/db';
import type { Logger } from '../../platform/logger';
import type { DecisionsStore } from './decisions.store';
import type { ControlModule, ControlModuleOptions } from './index';
import { createControlModule } from './index';
import { ManipulatorClient } from './manipulator-client';
import type { ControlStatus, StoredDecision } from './model';

/** 2030-01-01T00:00:00Z: a multiple of every interval the tests use. */
export const T0 = Date.UTC(2030, 0, 1);

export type { FakeClock };

/** The shared fake clock, starting at T0 unless told otherwise. */
export const fakeClock = (start = T0): FakeClock => sharedFakeClock(start);

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

/** `n` integers around `mean` (uniform ± spread), deterministic. */
export function payloads(seed: number, n: number, mean: number, spread: number): number[] {
  const r = mulberry32(seed);
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
 * Posts `values` spread evenly over the window starting at `startMs`, with the clock inside that window;
 * concurrently, as sensors do, so the batch writer batches them.
 */
export async function fillWindow(
  app: TestApp,
  clock: FakeClock,
  startMs: number,
  values: number[],
  I = 5000,
) {
  clock.set(startMs + 1);
  const responses = await Promise.all(
    values.map((v, i) =>
      postReading(app, new Date(startMs + Math.floor((i * I) / values.length)).toISOString(), v),
    ),
  );
  for (const res of responses) expect(res.json()).toEqual({ accepted: true });
}

/** GET /decisions as JSON (200 expected). */
export async function decisionsJson(app: TestApp, query = '') {
  const res = await app.http.inject({ method: 'GET', url: `/decisions${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Record<string, unknown>[]>();
}

// ---- the read routes (decisions, history, status, stream) over stored decisions ----

/** An app whose commands go nowhere (port 1 on loopback: nothing listens), with a fake clock. */
export async function readRoutesApp(): Promise<{ app: TestApp; control: ControlModule; clock: FakeClock }> {
  const clock = fakeClock();
  const { app, control } = await controlApp({
    clock,
    env: { MANIPULATOR_PORT: '1' },
    module: { livePollMs: 50 },
  });
  return { app, control, clock };
}

/** Back to T0 with no decisions and no readings. */
export async function clearControlTables(app: TestApp, clock: FakeClock): Promise<void> {
  clock.set(T0);
  await app.db.query('DELETE FROM control.decisions');
  await app.db.query('DELETE FROM control.readings');
}

/** A time of 2030-01-01 (UTC) from "HH:MM". */
export const at2030 = (hhmm: string) => new Date(`2030-01-01T${hhmm}:00Z`);

// The task's example: 5-minute decisions, [12:00-12:15 UP] [12:15-12:25 DOWN] once merged.
export const taskExample: [string, ControlStatus][] = [
  ['12:00', 'up'],
  ['12:05', 'up'],
  ['12:10', 'up'],
  ['12:15', 'down'],
  ['12:20', 'down'],
];

/** Stores decisions directly (the loop is tested in controller.test.ts); `changed` follows the sequence. */
export async function seedDecisions(
  store: Pick<DecisionsStore, 'insertDecision'>,
  points: readonly [string, ControlStatus][],
): Promise<void> {
  let previous: ControlStatus = 'down';
  for (const [hhmm, status] of points) {
    const t = at2030(hhmm);
    const win = { n: 0, mean: Number.NaN, std: Number.NaN };
    const d: StoredDecision = {
      decidedAt: t,
      madeAt: new Date(t.getTime() + 3),
      prev: { ...win, start: new Date(t.getTime() - 10_000), end: new Date(t.getTime() - 5000) },
      curr: { ...win, start: new Date(t.getTime() - 5000), end: t },
      t: null,
      df: null,
      p: null,
      previousStatus: previous,
      status,
      changed: status !== previous,
      reason: 'insufficient_data',
      detail: 'seeded',
      sinceChange: null,
      missed: 0,
      delivered: true,
      delivery: 'acknowledged',
      deliveryError: null,
      leaderId: 'seed',
      detector: 'ttest',
      cusum: null,
    };
    await store.insertDecision(d);
    previous = status;
  }
}

export function expectProblemDetail(
  res: { statusCode: number; body: string },
  status: number,
  detailStart: string,
) {
  expect(res.statusCode, res.body).toBe(status);
  const p = JSON.parse(res.body) as { detail: string };
  expect(p.detail.startsWith(detailStart), p.detail).toBe(true);
}
