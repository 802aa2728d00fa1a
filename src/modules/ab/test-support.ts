/** Helpers shared by the ab tests: devices, admin calls and counting, all through HTTP. */
import { randomUUID } from 'node:crypto';
import type { TelelabApp } from '../../app';
import { type Db, openDb } from '../../platform/db';
import type { Clock } from '../../platform/module';

export type Answer = Record<string, string | number>[];

export const newToken = () => randomUUID();

/**
 * A clock tests move by hand. It starts a day ahead of the real clock, so it is later than the start of
 * the seeded experiments (they started when the test database was migrated).
 */
export function fakeClock(
  start = Math.ceil(Date.now() / 1000) * 1000 + 86_400_000,
): Clock & { set(ms: number): void; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    set(ms) {
      t = ms;
    },
    advance(ms) {
      t += ms;
    },
  };
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

/**
 * The same database through a second connection, like a second process: on PostgreSQL a separate pool
 * on the same database; on PGlite (one connection, in-process) the same Db object.
 */
export async function secondConnection(db: Db): Promise<{ db: Db; close(): Promise<void> }> {
  if (!db.pool) return { db, close: async () => {} };
  const other = await openDb({ databaseUrl: db.pool.options.connectionString, poolSize: 5 });
  return { db: other, close: () => other.close() };
}
