/** Helpers shared by the logs HTTP tests: typed calls to the routes, counts and problem checks. */
import { expect } from 'vitest';
import type { TestApp } from '../../../../test/helpers';
import type { Db } from '../../../platform/db';
import { createLogsModule } from '../index';

export interface Created {
  id: string;
  created: string;
}

export interface Rec {
  id: string;
  created: string;
  log: { ip: string; method: string; uri: string; status_code: number };
}

export interface BatchResult {
  accepted: number;
  ids: string[];
  rejected: { index: number; detail: string }[];
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

export const logsOnly = { modules: [createLogsModule] };

/** Empties the module's tables, for a test that counts or lists every record. */
export const reset = (app: TestApp) => app.db.query('TRUNCATE logs.entries, logs.syncers');

export async function post(app: TestApp, log: unknown) {
  return app.http.inject({ method: 'POST', url: '/api/data', payload: { log } });
}

export async function postOk(app: TestApp, log: string): Promise<Created> {
  const res = await post(app, log);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Created>();
}

export async function batch(app: TestApp, items: unknown[]): Promise<BatchResult> {
  const res = await app.http.inject({ method: 'POST', url: '/api/data/batch', payload: items });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<BatchResult>();
}

export async function list(app: TestApp, query = ''): Promise<Rec[]> {
  const res = await app.http.inject({ method: 'GET', url: `/api/data${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Rec[]>();
}

export async function count(db: Db): Promise<number> {
  const rows = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM logs.entries');
  return rows[0]!.n;
}

/** The value of one sample of the app's /metrics, 0 when absent. */
export async function metric(app: TestApp, sample: string): Promise<number> {
  const res = await app.http.inject({ method: 'GET', url: '/metrics' });
  const line = res.body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

export function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
) {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(res.body) as { status: number; detail: string; code: string; title: string };
  expect(problem.status).toBe(status);
  expect(problem.detail).toBeTypeOf('string');
  return problem;
}
