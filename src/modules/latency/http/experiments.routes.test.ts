/** The seed's experiment routes: shapes, both create forms, validation, caps, state codes, /api. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startLatencyTarget } from '../engine/target';
import { appWithTarget, call, createExperiment, experimentBody, manage, result } from '../test-support';

const { target, app } = await appWithTarget(startLatencyTarget({ port: 0 }), {
  env: { LATENCY_MAX_USERS: '10', LATENCY_MAX_RATE: '100', LATENCY_MAX_DURATION_SECONDS: '60' },
});

const profile = { users: 2, duration_seconds: 1, interval_seconds: 0.5 };
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function problem(res: { statusCode: number; json: () => unknown }, status: number) {
  expect(res.statusCode).toBe(status);
  return res.json() as { status: number; code: string; detail: string };
}

describe('create_experiment', () => {
  it('accepts an experiment as the JSON body and lists it with the defaults filled in', async () => {
    const res = await call(app, 'POST', '/create_experiment', {
      ...experimentBody(target.port, [profile]),
      name: 'body form',
    });
    expect(res.statusCode).toBe(201);
    const { experiment_id } = res.json();
    expect(Object.keys(res.json())).toEqual(['experiment_id']);

    const listed = (await call(app, 'GET', '/list_experiments')).json() as Record<string, unknown>[];
    const e = listed.find((x) => x.id === experiment_id)!;
    expect(Object.keys(e).sort()).toEqual(
      [
        'id',
        'name',
        'settings',
        'state',
        'current_profile_index',
        'elapsed_in_profile_ms',
        'created_at',
        'updated_at',
        'started_at',
        'finished_at',
        'summary',
        'passed',
        'verdict',
      ].sort(),
    );
    expect(e).toMatchObject({
      name: 'body form',
      state: 'created',
      current_profile_index: 0,
      elapsed_in_profile_ms: 0,
      started_at: null,
      finished_at: null,
      passed: null,
      settings: {
        host: '127.0.0.1',
        port: target.port,
        scheme: 'http',
        path: '/api/latency',
        method: 'GET',
        headers: {},
        body: null,
        model: 'closed',
        load_profiles: [profile],
        thresholds: null,
        timeout_ms: 10_000,
        success_statuses: null,
      },
      summary: { requests: 0, success_rate: null, latency: { count: 0 }, thresholds: null },
    });
    expect(e.created_at).toMatch(ISO_UTC);
    expect(e.updated_at).toMatch(ISO_UTC);
  });

  it("accepts the original's form: name, host and port in the query, a bare array of profiles as the body", async () => {
    const res = await call(
      app,
      'POST',
      `/create_experiment?name=original&host=127.0.0.1&port=${target.port}`,
      [profile, { users: 1, duration_seconds: 2, interval_seconds: 1 }],
    );
    expect(res.statusCode).toBe(201);
    const r = await result(app, res.json().experiment_id);
    expect(r.name).toBe('original');
    expect(r.settings).toMatchObject({
      host: '127.0.0.1',
      port: target.port,
      load_profiles: [profile, { users: 1, duration_seconds: 2, interval_seconds: 1 }],
    });
  });

  it("the original's form without a query field is a 400 naming it", async () => {
    const p = await problem(
      await call(app, 'POST', `/create_experiment?name=x&port=${target.port}`, [profile]),
      400,
    );
    expect(p.detail).toMatch(/^querystring\.host: required/);
    const q = await problem(
      await call(app, 'POST', '/create_experiment?name=x&host=127.0.0.1&port=http', [profile]),
      400,
    );
    expect(q.detail).toMatch(/^querystring\.port/);
  });

  it.each([
    [{ ...experimentBody(1, [{ ...profile, users: -1 }]) }, 'body.load_profiles.0.users'],
    [{ ...experimentBody(1, [profile]), port: 70_000 }, 'body.port'],
    [{ ...experimentBody(1, []) }, 'body.load_profiles'],
    [{ ...experimentBody(1, [profile]), extra: 1 }, 'body.extra'],
    [{ ...experimentBody(1, [profile]), host: 'a@b' }, 'body.host'],
    [{ ...experimentBody(1, [profile]), thresholds: { p99: 1 } }, 'body.thresholds'],
    [{ ...experimentBody(1, [profile]), segments: 0 }, 'body.segments'],
    [{ ...experimentBody(1, [profile]), segments: 65 }, 'body.segments'],
    [{ ...experimentBody(1, [profile]), segments: 1.5 }, 'body.segments'],
  ])('invalid input is a 400 naming the field (%#)', async (body, field) => {
    const p = await problem(await call(app, 'POST', '/create_experiment', body), 400);
    expect(p.detail.startsWith(field)).toBe(true);
  });

  it.each([
    [{ load_profiles: [{ ...profile, users: 11 }] }, 'load_profiles[0].users', 'LATENCY_MAX_USERS'],
    [
      {
        model: 'arrival-rate',
        load_profiles: [profile, { users: 10, duration_seconds: 1, interval_seconds: 0.05 }],
      },
      'load_profiles[1].users',
      'LATENCY_MAX_RATE',
    ],
    [
      {
        load_profiles: [
          { ...profile, duration_seconds: 40 },
          { ...profile, duration_seconds: 21 },
        ],
      },
      'load_profiles',
      'LATENCY_MAX_DURATION_SECONDS',
    ],
  ])('caps: %# is a 422 naming the field and the limit', async (extra, field, limit) => {
    const p = await problem(
      await call(app, 'POST', '/create_experiment', experimentBody(target.port, [profile], extra)),
      422,
    );
    expect(p.code).toBe('LATENCY_CAP_EXCEEDED');
    expect(p.detail).toMatch(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: .*${limit}`));
  });

  it.each([
    [
      { model: 'arrival-rate', load_profiles: [{ ...profile, interval_seconds: 0 }] },
      'load_profiles[0].interval_seconds',
    ],
    [{ headers: { Connection: 'close' } }, 'headers.Connection'],
    [{ body: 'x' }, 'body'],
    [{ path: '//10.0.0.1/x' }, 'path'],
  ])('settings the engine cannot run are a 422 naming the field (%#)', async (extra, field) => {
    const p = await problem(
      await call(app, 'POST', '/create_experiment', experimentBody(target.port, [profile], extra)),
      422,
    );
    expect(p.code).toBe('LATENCY_INVALID_SETTINGS');
    expect(p.detail.startsWith(`${field}: `)).toBe(true);
  });
});

describe('result_experiment', () => {
  it('returns settings, state, position, times, summary, series and paged results', async () => {
    const id = await createExperiment(app, experimentBody(target.port, [profile]));
    const r = await result(app, id);
    expect(r).toMatchObject({ id, state: 'created', current_profile_index: 0, series: [], results: [] });
    expect(r).toMatchObject({ results_total: 0, limit: 100, offset: 0, passed: null });
    for (const key of ['settings', 'created_at', 'updated_at', 'summary']) expect(r).toHaveProperty(key);
  });

  it('an unknown id is a 404; a missing one a 400', async () => {
    for (const id of [randomUUID(), 'not-an-id']) {
      const p = await problem(await call(app, 'GET', `/result_experiment?experiment_id=${id}`), 404);
      expect(p.code).toBe('LATENCY_EXPERIMENT_NOT_FOUND');
    }
    await problem(await call(app, 'GET', '/result_experiment'), 400);
  });
});

describe('manage_experiment', () => {
  it('answers {experiment_id, state}; 400 for a bad state value, 404 for an unknown id, 409 for an impossible transition', async () => {
    const id = await createExperiment(app, experimentBody(target.port, [profile]));
    const bad = await problem(await manage(app, id, 'restart'), 400);
    expect(bad.detail).toMatch(/^querystring\.state/);
    expect((await problem(await manage(app, randomUUID(), 'start'), 404)).code).toBe(
      'LATENCY_EXPERIMENT_NOT_FOUND',
    );
    const conflict = await problem(await manage(app, id, 'pause'), 409);
    expect(conflict).toMatchObject({ code: 'LATENCY_TRANSITION_NOT_ALLOWED' });
    expect(conflict.detail).toMatch(/created/);

    const stopped = await manage(app, id, 'stop');
    expect(stopped.statusCode).toBe(200);
    expect(stopped.json()).toEqual({ experiment_id: id, state: 'stopped' });
    await problem(await manage(app, id, 'start'), 409);
    await problem(await manage(app, id, 'stop'), 409);
    const r = await result(app, id);
    expect(r.state).toBe('stopped');
    expect(r.finished_at).toMatch(ISO_UTC);
  });
});

describe('the /api mount', () => {
  it('serves every route under /api as well as at the root', async () => {
    const res = await call(app, 'POST', '/api/create_experiment', experimentBody(target.port, [profile]));
    expect(res.statusCode).toBe(201);
    const id = res.json().experiment_id;
    const root = (await call(app, 'GET', `/result_experiment?experiment_id=${id}`)).json();
    const api = (await call(app, 'GET', `/api/result_experiment?experiment_id=${id}`)).json();
    expect(api).toEqual(root);
    expect(
      (await call(app, 'POST', `/api/manage_experiment?state=stop&experiment_id=${id}`)).statusCode,
    ).toBe(200);
    expect((await call(app, 'GET', '/api/list_groups')).statusCode).toBe(200);
    expect((await call(app, 'GET', `/api/experiment_stats?experiment_id=${id}`)).json()).toMatchObject({
      experiment_id: id,
      state: 'stopped',
    });
  });

  it('documents each route once, with an operationId, the latency tag, a summary and its errors', async () => {
    const doc = (await call(app, 'GET', '/openapi.json')).json() as {
      paths: Record<
        string,
        Record<string, { operationId?: string; tags?: string[]; summary?: string; responses: object }>
      >;
    };
    const paths = Object.keys(doc.paths);
    const routes = [
      '/test-latency',
      '/create_experiment',
      '/list_experiments',
      '/result_experiment',
      '/manage_experiment',
      '/experiment_stats',
      '/experiment_stream',
      '/create_experiment_group',
      '/list_groups',
      '/group_stats',
      '/manage_group',
      '/add_experiment_to_group',
      '/remove_experiment_from_group',
    ];
    for (const route of routes) {
      expect(paths).toContain(route);
      expect(paths).not.toContain(`/api${route}`);
      for (const op of Object.values(doc.paths[route]!)) {
        expect(op.tags).toEqual(['latency']);
        expect(op.operationId).toMatch(/^latency/);
        expect(op.summary).toBeTruthy();
        expect(Object.keys(op.responses).some((s) => /^[45]/.test(s))).toBe(true);
      }
    }
  });
});
