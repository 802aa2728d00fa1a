/** Helpers shared by the latency tests: an app with the module, and the original API's calls through HTTP. */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { afterFile, buildTestApp } from '../../../test/helpers';
import type { TelelabApp } from '../../app';
import type { Db } from '../../platform/db';
import { createLatencyHistogram, encodeHistogram, recordMs, summarizeHistogram } from '../../stats/histogram';
import { type Resolver, systemResolver } from './allowlist';
import { createLatencyModule } from './index';
import type { RunnerOptions } from './runner/runner';
import { createRunsStore } from './runs.store';
import { addSecond, emptySummary, summarize, totalsOf } from './summary';

export interface LatencyAppOptions {
  db?: Db;
  /** 'api': no background work (no runs, no sweep). */
  role?: 'serve' | 'api';
  env?: Record<string, string>;
  resolver?: Resolver;
  runner?: Partial<Omit<RunnerOptions, 'rawCap'>>;
  segmentsStartDelayMs?: number;
}

export function latencyApp(opts: LatencyAppOptions = {}): Promise<TelelabApp> {
  return buildTestApp({
    ...(opts.db ? { db: opts.db } : {}),
    role: opts.role ?? 'serve',
    env: opts.env,
    modules: [
      (deps) =>
        createLatencyModule(deps, {
          resolver: opts.resolver,
          runner: opts.runner,
          segmentsStartDelayMs: opts.segmentsStartDelayMs,
        }),
    ],
  });
}

/**
 * Waits for `target` (a server the tests load; closed after the file's tests) and builds an app with the
 * module beside it (closed before the target).
 */
export async function appWithTarget<T extends { close(): Promise<void> }>(
  target: Promise<T>,
  app: LatencyAppOptions = {},
): Promise<{ target: T; app: TelelabApp }> {
  const started = await target;
  afterFile(() => started.close());
  return { target: started, app: await latencyApp(app) };
}

/**
 * Fixed addresses for names, as a DNS server would give them (null: the name does not resolve);
 * other names go to the system resolver (so `localhost` is real).
 */
export function fakeResolver(table: Record<string, string[] | null>): Resolver {
  return async (host) => {
    const name = host.toLowerCase();
    if (!(name in table)) return systemResolver(host);
    const addresses = table[name];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

export interface Profile {
  users: number;
  duration_seconds: number;
  interval_seconds: number;
}

export const experimentBody = (port: number, profiles: Profile[], extra: Record<string, unknown> = {}) => ({
  name: 'test',
  host: '127.0.0.1',
  port,
  load_profiles: profiles,
  ...extra,
});

export async function call(
  app: TelelabApp,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
) {
  return app.http.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
}

export async function createExperiment(app: TelelabApp, body: unknown): Promise<string> {
  const res = await call(app, 'POST', '/create_experiment', body);
  if (res.statusCode !== 201) throw new Error(`create_experiment: ${res.statusCode} ${res.body}`);
  return res.json<{ experiment_id: string }>().experiment_id;
}

/** Creates an experiment and starts it; its id. */
export async function startExperiment(app: TelelabApp, body: unknown): Promise<string> {
  const id = await createExperiment(app, body);
  await manageOk(app, id, 'start');
  return id;
}

export interface GroupJson {
  id: string;
  name: string;
  state: string;
  experiments: Record<string, { id: string; name: string; state: string }>;
  experiment_ids: string[];
}

/** Creates a group through the API (201 expected); its id. */
export async function createGroupIn(app: TelelabApp, body: unknown, query = ''): Promise<string> {
  const res = await call(app, 'POST', `/create_experiment_group${query}`, body);
  expect(res.statusCode, res.body).toBe(201);
  expect(Object.keys(res.json())).toEqual(['group_id']);
  return res.json().group_id;
}

export async function manage(app: TelelabApp, id: string, state: string) {
  return call(app, 'POST', `/manage_experiment?state=${state}&experiment_id=${id}`);
}

export async function manageOk(app: TelelabApp, id: string, state: string): Promise<void> {
  const res = await manage(app, id, state);
  if (res.statusCode !== 200) throw new Error(`manage_experiment ${state}: ${res.statusCode} ${res.body}`);
}

export interface ResultJson {
  id: string;
  state: string;
  current_profile_index: number;
  elapsed_in_profile_ms: number;
  summary: {
    requests: number;
    successes: number;
    failures: number;
    success_rate: number | null;
    active_ms: number;
    latency: { count: number; p50: number; p99: number };
    thresholds: { passed: boolean; checks: { name: string; passed: boolean }[] } | null;
  };
  series: { second: number; requests: number; profile_index: number; elapsed_in_profile_ms: number }[];
  results: { status_code: number; latency_ms: number | null; timestamp: string; error: string | null }[];
  results_total: number;
  passed: boolean | null;
  [k: string]: unknown;
}

export async function result(app: TelelabApp, id: string, query = ''): Promise<ResultJson> {
  const res = await call(app, 'GET', `/result_experiment?experiment_id=${id}${query}`);
  if (res.statusCode !== 200) throw new Error(`result_experiment: ${res.statusCode} ${res.body}`);
  return res.json<ResultJson>();
}

/** Polls the experiment until `done` holds (e.g. a state), or fails after `timeoutMs`. */
export async function waitFor(
  app: TelelabApp,
  id: string,
  done: (r: ResultJson) => boolean,
  timeoutMs = 15_000,
): Promise<ResultJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await result(app, id, '&limit=0');
    if (done(r)) return r;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${r.state} ${JSON.stringify(r.summary)}`);
    await sleep(50);
  }
}

export const inState =
  (...states: string[]) =>
  (r: ResultJson) =>
    states.includes(r.state);

/**
 * Writes one second of an experiment's segment 0 as a runner would, claiming it first: `latencies`
 * answered with 200 and `noAnswer` requests with none (connection refused), over `durationMs`. For an
 * API-only app, where nothing runs the experiment.
 */
export async function recordKnownSecond(
  db: Db,
  id: string,
  latencies: number[],
  noAnswer = 0,
  durationMs = 1000,
) {
  const runs = createRunsStore(db);
  const owner = 'test-runner';
  expect(await runs.claim(id, 0, owner, 60_000, 0)).not.toBeNull();
  const h = createLatencyHistogram();
  for (const ms of latencies) recordMs(h, ms);
  const second = {
    requests: latencies.length + noAnswer,
    successes: latencies.length,
    failures: noAnswer,
    failuresByKind: (noAnswer ? { connection_refused: noAnswer } : {}) as Record<string, number>,
    statusCodes: { '200': latencies.length },
    late: 0,
    dropped: 0,
  };
  const totals = totalsOf(emptySummary(), null, null, false);
  addSecond(totals, { ...second, histogram: h, rawHistogram: null });
  const cumulative = {
    profileIndex: 0,
    progressMs: durationMs,
    summary: summarize(totals, durationMs, null),
    histogram: encodeHistogram(totals.histogram),
    rawHistogram: null,
  };
  const point = {
    ...second,
    ts: new Date(),
    durationMs,
    profileIndex: 0,
    elapsedInProfileMs: durationMs,
    latency: summarizeHistogram(h),
    rawLatency: null,
    histogram: encodeHistogram(h),
    rawHistogram: null,
  };
  expect(await runs.recordSecond({ id, segment: 0 }, owner, cumulative, () => cumulative, point, [], 0)).toBe(
    true,
  );
}
