/** Helpers shared by the ab tests: devices, admin calls and counting, all through HTTP. */
import { randomUUID } from 'node:crypto';
import { fakeClock as sharedFakeClock } from '../../../test/deterministic';
import { afterFile, buildTestApp, openTestDb } from '../../../test/helpers';
import type { TelelabApp } from '../../app';
import { type Db, openDb } from '../../platform/db';
import { createAbModule } from './index';
import type { Experiment } from './model';

export type Answer = Record<string, string | number>[];

export const newToken = () => randomUUID();

/**
 * A clock tests move by hand. It starts a day ahead of the real clock, so it is later than the start of
 * the experiments the migration creates (they started when the test database was migrated).
 */
export const fakeClock = (start = Math.ceil(Date.now() / 1000) * 1000 + 86_400_000) => sharedFakeClock(start);

/** Three colours, weight 1 each: an experiment for the sample-ratio tests, never stored. */
export const colours: Experiment = {
  id: 1,
  name: 'button_color',
  values: ['#FF0000', '#00FF00', '#0000FF'],
  weights: [1, 1, 1],
  version: 1,
  deckSize: 3,
  seed: 1,
  startedAt: new Date('2030-01-01T00:00:00Z'),
  stoppedAt: null,
};

/**
 * Two app instances on one database, like two processes: on PostgreSQL each with its own pool. Both are
 * closed after the test file.
 */
export async function twoApps(): Promise<[TelelabApp, TelelabApp]> {
  const db = await openTestDb();
  const second = await secondConnection(db);
  afterFile(async () => {
    await second.close();
    await db.close();
  });
  const a = await buildTestApp({ db, modules: [createAbModule] });
  const b = await buildTestApp({ db: second.db, modules: [createAbModule] });
  return [a, b];
}

export async function getAnswer(app: TelelabApp, token: string): Promise<Answer> {
  const res = await app.http.inject({
    method: 'GET',
    url: '/api/v1/experiments',
    headers: { 'device-token': token },
  });
  if (res.statusCode !== 200) throw new Error(`GET /api/v1/experiments: ${res.statusCode} ${res.body}`);
  return res.json() as Answer;
}

/** The device's value in one experiment, or undefined when it is not in it. */
export function valueIn(answer: Answer, experiment: string): string | number | undefined {
  return answer.find((o) => experiment in o)?.[experiment];
}

/** Sends `n` first requests from new devices, `concurrency` at a time; returns their answers. */
export async function newDevices(app: TelelabApp, n: number, concurrency = 50): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < n; i += concurrency) {
    const chunk = Array.from({ length: Math.min(concurrency, n - i) }, () => getAnswer(app, newToken()));
    out.push(...(await Promise.all(chunk)));
  }
  return out;
}

/** How many answers have each value of one experiment: { '10': 15, '20': 2, ... }. */
export function tally(answers: Answer[], experiment: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const v = valueIn(a, experiment);
    if (v !== undefined) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
  }
  return counts;
}

export async function admin(
  app: TelelabApp,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
) {
  return app.http.inject({
    method,
    url: `/api/v1/admin/experiments${url}`,
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

/** Creates a running experiment through the admin API; `options` as [value, weight] pairs. */
export const createExperiment = (app: TelelabApp, name: string, options: [string, number][]) =>
  admin(app, 'POST', '', { name, options: options.map(([value, weight]) => ({ value, weight })) });

/**
 * The same database through a second connection, like a second process: on PostgreSQL a separate pool
 * on the same database; on PGlite (one connection, in-process) the same Db object.
 */
export async function secondConnection(db: Db): Promise<{ db: Db; close(): Promise<void> }> {
  if (!db.pool) return { db, close: async () => {} };
  const other = await openDb({ databaseUrl: db.pool.options.connectionString, poolSize: 5 });
  return { db: other, close: () => other.close() };
}
