/**
 * Issue 9, item 8: security.
 * - With TELELAB_API_TOKEN set, every mutating admin route (enumerated from /openapi.json, checked
 *   against the modules' adminGuard routes) answers 401 to a missing or wrong token, has no effect
 *   then, and works with the right one. Every other mutating route is public by a stated decision.
 * - Latency targets outside LATENCY_ALLOWED_TARGETS are refused: public and private IP literals,
 *   0.0.0.0, ::, IPv4-mapped IPv6, decimal/hex/short IPv4 forms, host names that resolve to a refused
 *   address (real resolver, configured lists), DNS rebinding between the check and the connection;
 *   redirects are never followed (not to 10.0.0.1, not even to an allowed address).
 * - Request bodies over BODY_LIMIT_BYTES: 413 problem+json (also chunked, over a real socket).
 * - Per-client rate limiting on public ingest routes: off by default; with RATE_LIMIT_PER_MINUTE,
 *   429 problem+json with Retry-After for that client only.
 * - HTML pages carry security headers and escape what users typed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleFactories, type TelelabApp } from '../../src/app';
import { createLatencyModule } from '../../src/modules/latency';
import type { Resolver } from '../../src/modules/latency/allowlist';
import { type LatencyTarget, startLatencyTarget } from '../../src/modules/latency/engine/target';
import { DEFAULT_DIST_DIR } from '../../src/platform/web';
import { buildTestApp } from '../helpers';
import { send } from './support/inject';
import { figure } from './support/mode';
import { operationsOf } from './support/openapi-fuzz';
import { ensureTestTemplate } from './support/template';

const TOKEN = `rb-${randomBytes(16).toString('hex')}`;
const figures: Record<string, string | number> = {};

beforeAll(ensureTestTemplate);
afterAll(() => {
  figure('security', figures);
});

async function call(
  app: TelelabApp,
  method: string,
  url: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const a = await send(app, {
    method,
    url,
    headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
  });
  const text = a.body.toString('utf8');
  return { ...a, text, json: () => JSON.parse(text) };
}

const bearer = { authorization: `Bearer ${TOKEN}` };

// ---- admin token ---------------------------------------------------------------------------------

/** The routes that use adminGuard (devices users/tasks routes, ab admin routes). */
const ADMIN_ROUTES = [
  'POST /users',
  'PUT /devices/{device_id}/owner',
  'POST /tasks/recalculate',
  'POST /api/v1/admin/experiments',
  'GET /api/v1/admin/experiments',
  'GET /api/v1/admin/experiments/{name}',
  'PUT /api/v1/admin/experiments/{name}/weights',
  'POST /api/v1/admin/experiments/{name}/stop',
  'DELETE /api/v1/admin/experiments/{name}',
];

/** Mutating routes without the token, and why (each is a decision documented in its module). */
const PUBLIC_MUTATING: Record<string, string> = {
  'POST /api/data': 'log ingest (seed 004)',
  'POST /api/data/batch': 'log ingest',
  'PUT /api/data/syncers/{name}': 'log syncers report their position',
  'POST /devices/{device_id}/data': 'device telemetry ingest (seed 001)',
  'POST /devices/data/batch': 'device telemetry ingest',
  'POST /sensor-data': 'sensor ingest (seed 003)',
  'POST /create_experiment':
    'latency routes are public like the seed (latency README); allowlist + caps apply',
  'POST /manage_experiment': 'latency (public, see above)',
  'POST /create_experiment_group': 'latency (public, see above)',
  'POST /manage_group': 'latency (public, see above)',
  'POST /add_experiment_to_group': 'latency (public, see above)',
  'DELETE /remove_experiment_from_group': 'latency (public, see above)',
  'POST /control/replay':
    'read-only: replays stored readings through a detector (POST for its JSON body; period capped)',
};

const WRONG_AUTHORIZATIONS: [string, string | undefined][] = [
  ['missing', undefined],
  ['empty', ''],
  ['bare scheme', 'Bearer'],
  ['empty token', 'Bearer '],
  ['wrong token of the same length', `Bearer ${'x'.repeat(TOKEN.length)}`],
  ['the token with one more character', `Bearer ${TOKEN}x`],
  ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
  ['the token in upper case', `Bearer ${TOKEN.toUpperCase()}`],
  ['the token without a scheme', TOKEN],
  ['Basic with the token', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`],
  ['a very long token', `Bearer ${'y'.repeat(100_000)}`],
];

describe('admin routes with TELELAB_API_TOKEN set', () => {
  let app: TelelabApp;
  beforeAll(async () => {
    app = await buildTestApp({ env: { TELELAB_API_TOKEN: TOKEN } });
  });

  it('guards exactly the admin routes; every other mutating route is public by decision', async () => {
    const ops = operationsOf((await call(app, 'GET', '/openapi.json')).json());
    const key = (o: { method: string; path: string }) => `${o.method} ${o.path}`;
    expect(
      ops
        .filter((o) => o.secured)
        .map(key)
        .sort(),
    ).toEqual([...ADMIN_ROUTES].sort());
    const unguardedMutating = ops.filter((o) => !o.secured && o.method !== 'GET').map(key);
    expect(unguardedMutating.sort()).toEqual(Object.keys(PUBLIC_MUTATING).sort());
    figures.admin_routes = ADMIN_ROUTES.length;
    figures.public_mutating_routes = unguardedMutating.length;
  });

  it('refuses missing and wrong tokens with 401 and no effect, and accepts the right one', async () => {
    // Public setup: a device with a reading.
    expect((await call(app, 'POST', '/devices/sec-dev/data', { body: { x: 1, y: 2, z: 3 } })).status).toBe(
      201,
    );
    let userId = 0;
    const getExp = () => call(app, 'GET', '/api/v1/admin/experiments/sec_exp', { headers: bearer });
    const options = [
      { value: 'a', weight: 1 },
      { value: 'b', weight: 1 },
    ];
    type Step = {
      route: string;
      method: string;
      url: () => string;
      body?: () => unknown;
      ok: number;
      unchanged?: () => Promise<void>;
    };
    const steps: Step[] = [
      {
        route: 'POST /users',
        method: 'POST',
        url: () => '/users',
        body: () => ({ name: 'sec-user' }),
        ok: 201,
      },
      {
        route: 'PUT /devices/{device_id}/owner',
        method: 'PUT',
        url: () => '/devices/sec-dev/owner',
        body: () => ({ user_id: userId }),
        ok: 200,
        unchanged: async () => {
          expect((await call(app, 'GET', `/users/${userId}`)).json().device_ids).toEqual([]);
        },
      },
      { route: 'POST /tasks/recalculate', method: 'POST', url: () => '/tasks/recalculate', ok: 202 },
      {
        route: 'POST /api/v1/admin/experiments',
        method: 'POST',
        url: () => '/api/v1/admin/experiments',
        body: () => ({ name: 'sec_exp', options }),
        ok: 201,
        unchanged: async () => expect((await getExp()).status).toBe(404),
      },
      {
        route: 'GET /api/v1/admin/experiments',
        method: 'GET',
        url: () => '/api/v1/admin/experiments',
        ok: 200,
      },
      {
        route: 'GET /api/v1/admin/experiments/{name}',
        method: 'GET',
        url: () => '/api/v1/admin/experiments/sec_exp',
        ok: 200,
      },
      {
        route: 'PUT /api/v1/admin/experiments/{name}/weights',
        method: 'PUT',
        url: () => '/api/v1/admin/experiments/sec_exp/weights',
        body: () => ({
          options: [
            { value: 'a', weight: 3 },
            { value: 'b', weight: 1 },
          ],
        }),
        ok: 200,
        unchanged: async () => expect((await getExp()).json().version).toBe(1),
      },
      {
        route: 'POST /api/v1/admin/experiments/{name}/stop',
        method: 'POST',
        url: () => '/api/v1/admin/experiments/sec_exp/stop',
        ok: 200,
        unchanged: async () => expect((await getExp()).json().status).toBe('running'),
      },
      {
        route: 'DELETE /api/v1/admin/experiments/{name}',
        method: 'DELETE',
        url: () => '/api/v1/admin/experiments/sec_exp',
        ok: 204,
        unchanged: async () => expect((await getExp()).status).toBe(200),
      },
    ];
    expect(steps.map((s) => s.route).sort()).toEqual([...ADMIN_ROUTES].sort());

    let refused = 0;
    for (const step of steps) {
      for (const [what, authorization] of WRONG_AUTHORIZATIONS) {
        const res = await call(app, step.method, step.url(), {
          ...(step.body ? { body: step.body() } : {}),
          headers: authorization === undefined ? {} : { authorization },
        });
        expect(res.status, `${step.route} with ${what}: ${res.text}`).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.json().code).toMatch(/^(MISSING|INVALID)_TOKEN$/);
        expect(res.text).not.toContain(TOKEN);
        refused++;
      }
      await step.unchanged?.();
      const res = await call(app, step.method, step.url(), {
        ...(step.body ? { body: step.body() } : {}),
        headers: bearer,
      });
      expect(res.status, `${step.route} with the right token: ${res.text}`).toBe(step.ok);
      if (step.route === 'POST /users') userId = res.json().id;
    }
    expect((await getExp()).status).toBe(404);
    figures.token_refusals_401 = refused;
  });
});

// ---- latency targets -----------------------------------------------------------------------------

const profile = { users: 1, duration_seconds: 0.5, interval_seconds: 0.05 };
const experiment = (host: string, port: number) => ({ name: 'sec', host, port, load_profiles: [profile] });

/** Refused by the default allowlist (loopback): none of these is 127.0.0.0/8 or ::1. */
const REFUSED_HOSTS = [
  '8.8.8.8',
  '10.0.0.1',
  '192.168.1.1',
  '169.254.169.254',
  '0.0.0.0',
  '::',
  '[::]',
  '::ffff:8.8.8.8',
  '[::ffff:8.8.8.8]',
  '[::ffff:10.0.0.1]',
  '[::ffff:a00:1]',
  '[fe80::1]',
  '[2001:db8::1]',
  '167772161', // 10.0.0.1 as one decimal number
  '134744072', // 8.8.8.8
  '0x0a000001', // 10.0.0.1 in hex
  '012.0.0.1', // 10.0.0.1 with an octal first byte
  '10.1', // 10.0.0.1, short form
];

describe('latency targets outside LATENCY_ALLOWED_TARGETS', () => {
  let app: TelelabApp;
  let target: LatencyTarget;
  beforeAll(async () => {
    target = await startLatencyTarget({ port: 0 });
    app = await buildTestApp({ env: { LATENCY_ALLOWED_TARGETS: 'loopback' } });
  });
  afterAll(() => target.close());

  it('refuses IP literals, mapped, decimal, hex and short forms of refused addresses', async () => {
    const count = async () => (await call(app, 'GET', '/list_experiments')).json().length as number;
    const before = await count();
    let refusals = 0;
    for (const host of REFUSED_HOSTS) {
      const create = await call(app, 'POST', '/create_experiment', { body: experiment(host, 80) });
      expect([403, 422], `create_experiment host=${host}: ${create.text}`).toContain(create.status);
      expect(create.headers['content-type']).toMatch(/^application\/problem\+json/);
      const group = await call(app, 'POST', '/create_experiment_group', {
        body: { name: 'g', experiments: [experiment('127.0.0.1', target.port), experiment(host, 80)] },
      });
      expect([403, 422], `create_experiment_group host=${host}`).toContain(group.status);
      const probe = await call(app, 'GET', `/test-latency?host=${encodeURIComponent(host)}&port=80`);
      expect([403, 422], `test-latency host=${host}: ${probe.text}`).toContain(probe.status);
      refusals += 3;
    }
    expect(await count()).toBe(before);
    // The allowlist is not simply refusing everything: loopback in its other spellings passes.
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '127.1.2.3']) {
      const ok = await call(app, 'POST', '/create_experiment', { body: experiment(host, target.port) });
      expect(ok.status, `host=${host}: ${ok.text}`).toBe(201);
    }
    figures.target_refusals = refusals;
  });

  it('refuses host names that resolve to a refused address (configured lists, real resolver)', async () => {
    // Only one name is allowed: every other name is resolved and refused for its addresses.
    const byName = await buildTestApp({ env: { LATENCY_ALLOWED_TARGETS: 'allowed.example' }, role: 'api' });
    for (const host of ['localhost', 'vm', '127.0.0.1', 'sub.allowed.example', 'allowed.example.evil.test']) {
      const res = await call(byName, 'POST', '/create_experiment', { body: experiment(host, 80) });
      expect([403, 422], `host=${host} under 'allowed.example': ${res.text}`).toContain(res.status);
    }
    expect(
      (await call(byName, 'POST', '/create_experiment', { body: experiment('allowed.example', 80) })).status,
    ).toBe(201);
    // Only 127.0.0.2 is allowed: localhost (127.0.0.1 from /etc/hosts) is refused naming the address.
    const byIp = await buildTestApp({ env: { LATENCY_ALLOWED_TARGETS: '127.0.0.2' }, role: 'api' });
    const res = await call(byIp, 'POST', '/create_experiment', { body: experiment('localhost', 80) });
    expect(res.status, res.text).toBe(403);
    expect(res.json().detail).toMatch(/resolves to .*127\.0\.0\.1/);
    const probe = await call(byIp, 'GET', `/test-latency?host=localhost&port=${target.port}`);
    expect(probe.status).toBe(403);
  });

  it('does not connect when a name is re-pointed to a refused address after the check (DNS rebinding)', async () => {
    // The name answers 127.0.0.1 (allowed) until the run starts, then 127.0.0.2 (refused).
    let rebound = false;
    const resolver: Resolver = async (host) =>
      host === 'rebind.test' ? [{ address: rebound ? '127.0.0.2' : '127.0.0.1', family: 4 }] : [];
    const allowed = await startLatencyTarget({ port: 0, host: '127.0.0.1' });
    const refused = await startLatencyTarget({ port: allowed.port, host: '127.0.0.2' }).catch(() => null);
    const other = refused ?? (await startLatencyTarget({ port: 0, host: '127.0.0.2' }));
    try {
      const rebinding = await buildTestApp({
        env: { LATENCY_ALLOWED_TARGETS: '127.0.0.1' },
        modules: [
          ...moduleFactories.filter((f) => f !== createLatencyModule),
          (deps) => createLatencyModule(deps, { resolver }),
        ],
      });
      const created = await call(rebinding, 'POST', '/create_experiment', {
        body: experiment('rebind.test', other.port),
      });
      expect(created.status, created.text).toBe(201);
      const id = created.json().experiment_id;
      expect(
        (await call(rebinding, 'POST', `/manage_experiment?state=start&experiment_id=${id}`)).status,
      ).toBe(200);
      rebound = true;
      let state = '';
      for (let i = 0; i < 100 && state !== 'completed'; i++) {
        await sleep(100);
        state = (await call(rebinding, 'GET', `/result_experiment?experiment_id=${id}&limit=0`)).json().state;
      }
      const summary = (await call(rebinding, 'GET', `/result_experiment?experiment_id=${id}&limit=0`)).json()
        .summary;
      expect(state).toBe('completed');
      expect(other.served, 'requests that reached the re-pointed address').toBe(0);
      expect(summary.failures, 'connections refused at connect time').toBeGreaterThan(0);
      figures.rebinding_requests_refused = summary.failures;
    } finally {
      await allowed.close();
      await other.close();
    }
  });

  describe('redirects', () => {
    const servers: Server[] = [];
    const redirecting = async (location: string) => {
      const s = createServer((_req, res) => {
        res.writeHead(302, { location, 'content-length': '0' });
        res.end();
      });
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      servers.push(s);
      return (s.address() as AddressInfo).port;
    };
    afterAll(async () => {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    });

    it('are not followed, neither to a refused address nor to an allowed one', async () => {
      const toPrivate = await redirecting('http://10.0.0.1/');
      const toLoopback = await redirecting(target.latencyUrl);
      const servedBefore = target.served;
      for (const port of [toPrivate, toLoopback]) {
        const t0 = Date.now();
        const probe = await call(app, 'GET', `/test-latency?host=127.0.0.1&port=${port}`);
        expect(probe.status).toBe(200);
        expect(probe.json().status_code, 'the 3xx is the answer').toBe(302);
        expect(Date.now() - t0, 'no connection attempt to the Location').toBeLessThan(2000);

        const id = (
          await call(app, 'POST', '/create_experiment', { body: experiment('127.0.0.1', port) })
        ).json().experiment_id;
        expect((await call(app, 'POST', `/manage_experiment?state=start&experiment_id=${id}`)).status).toBe(
          200,
        );
        let r:
          | { state: string; summary: { requests: number; status_codes: Record<string, number> } }
          | undefined;
        for (let i = 0; i < 100; i++) {
          await sleep(100);
          r = (await call(app, 'GET', `/result_experiment?experiment_id=${id}&limit=0`)).json();
          if (r!.state === 'completed') break;
        }
        expect(r!.state).toBe('completed');
        expect(r!.summary.requests).toBeGreaterThan(0);
        expect(r!.summary.status_codes).toEqual({ '302': r!.summary.requests });
      }
      expect(target.served - servedBefore, 'requests that followed a redirect to the loopback target').toBe(
        0,
      );
    });
  });
});

// ---- body limits, rate limiting --------------------------------------------------------------------

describe('request body limits', () => {
  const LIMIT = 2048;
  let app: TelelabApp;
  beforeAll(async () => {
    app = await buildTestApp({ env: { BODY_LIMIT_BYTES: String(LIMIT), TELELAB_API_TOKEN: TOKEN } });
  });

  const big = 'x'.repeat(LIMIT * 2);
  const routes: [string, string, unknown][] = [
    ['POST', '/api/data', { log: `1.2.3.4 GET /${big} 200` }],
    ['POST', '/api/data/batch', [{ log: `1.2.3.4 GET /${big} 200` }]],
    ['PUT', '/api/data/syncers/s1', { target_file: big, last_id: null, records_written: 1 }],
    ['POST', '/devices/d1/data', { x: 1, y: 2, z: 3, ts: big }],
    [
      'POST',
      '/devices/data/batch',
      Array.from({ length: 100 }, () => ({ device_id: 'd1', x: 1, y: 2, z: 3 })),
    ],
    ['POST', '/sensor-data', { datetime: big, payload: 1 }],
    ['POST', '/users', { name: big }],
    [
      'POST',
      '/api/v1/admin/experiments',
      {
        name: 'big',
        options: [
          { value: big, weight: 1 },
          { value: 'b', weight: 1 },
        ],
      },
    ],
    ['POST', '/create_experiment', { name: big, host: '127.0.0.1', port: 1, load_profiles: [profile] }],
  ];

  it('answers 413 problem+json to a body over BODY_LIMIT_BYTES on every route that takes one', async () => {
    for (const [method, url, body] of routes) {
      const res = await call(app, method, url, { body, headers: bearer });
      expect(res.status, `${method} ${url}: ${res.text.slice(0, 200)}`).toBe(413);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json().detail).toMatch(/larger than/);
    }
    // Just under the limit is read (and judged on its content).
    const small = await call(app, 'POST', '/api/data', { body: { log: '1.2.3.4 GET /ok 200' } });
    expect(small.status).toBe(201);
    figures.body_limit_routes_413 = routes.length;
  });

  it('answers 413 to a chunked body (no Content-Length) over a real socket', async () => {
    const address = await app.http.listen({ port: 0, host: '127.0.0.1' });
    async function* chunks() {
      yield Buffer.from('{"log":"');
      for (let i = 0; i < 16; i++) yield Buffer.from('x'.repeat(512));
      yield Buffer.from('"}');
    }
    const res = await fetch(`${address}/api/data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunks() as unknown as BodyInit,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

describe('rate limiting on public ingest routes', () => {
  const LIMIT = 5;
  const ingest: [string, (i: number) => unknown][] = [
    ['/api/data', (i) => ({ log: `1.2.3.4 GET /rl/${i} 200` })],
    ['/api/data/batch', (i) => [{ log: `1.2.3.4 GET /rlb/${i} 200` }]],
    ['/devices/rl-1/data', (i) => ({ x: i, y: 0, z: 0 })],
    ['/devices/data/batch', (i) => [{ device_id: 'rl-2', x: i, y: 0, z: 0 }]],
    ['/sensor-data', (i) => ({ datetime: new Date().toISOString(), payload: i })],
  ];

  it('is off by default: 300 quick ingest requests from one client are all accepted', async () => {
    const app = await buildTestApp({ role: 'api' });
    const statuses = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        call(app, 'POST', '/api/data', { body: { log: `1.2.3.4 GET /r/${i} 200` } }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
  });

  it('with RATE_LIMIT_PER_MINUTE set, answers 429 problem+json with Retry-After, per client', async () => {
    const app = await buildTestApp({ role: 'api', env: { RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
    let limited = 0;
    for (const [url, body] of ingest) {
      const post = (i: number, ip: string) =>
        app.http.inject({ method: 'POST', url, remoteAddress: ip, payload: body(i) as object });
      for (let i = 0; i < LIMIT; i++) expect((await post(i, '10.9.0.1')).statusCode, url).toBeLessThan(300);
      const res = await post(LIMIT, '10.9.0.1');
      expect(res.statusCode, `${url}: request ${LIMIT + 1} of one client`).toBe(429);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(res.headers['retry-after']), 'Retry-After in seconds').toBeGreaterThanOrEqual(1);
      expect(res.json().detail).toEqual(expect.any(String));
      // Another client is not affected.
      expect((await post(0, '10.9.0.2')).statusCode, `${url}: another client`).toBeLessThan(300);
      limited++;
    }
    // Reads and admin routes are not ingest: not limited.
    for (let i = 0; i < LIMIT * 2; i++) {
      expect(
        (await app.http.inject({ method: 'GET', url: '/api/data?limit=1', remoteAddress: '10.9.0.1' }))
          .statusCode,
      ).toBe(200);
    }
    figures.rate_limited_routes = limited;
  });
});

// ---- HTML pages ------------------------------------------------------------------------------------

describe('HTML pages', () => {
  let app: TelelabApp;
  beforeAll(async () => {
    app = await buildTestApp({ role: 'api', dashboard: { distDir: DEFAULT_DIST_DIR } });
  });

  function expectLockedDown(res: { headers: Record<string, unknown> }, where: string) {
    const csp = String(res.headers['content-security-policy'] ?? '');
    expect(csp, `${where}: Content-Security-Policy`).toMatch(/default-src '(none|self)'/);
    expect(csp, `${where}: no inline or eval scripts`).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
    expect(res.headers['x-content-type-options'], `${where}: nosniff`).toBe('nosniff');
    const framing = String(res.headers['x-frame-options'] ?? '') + csp;
    expect(framing, `${where}: not framable`).toMatch(/DENY|frame-ancestors 'none'/);
    expect(res.headers['referrer-policy'], `${where}: Referrer-Policy`).toBeDefined();
  }

  it('the A/B stats page is locked down and escapes experiment values', async () => {
    const evil = '<script>alert(1)</script>';
    const created = await call(app, 'POST', '/api/v1/admin/experiments', {
      body: {
        name: 'xss_check',
        options: [
          { value: evil, weight: 1 },
          { value: '"><img src=x onerror=alert(2)>', weight: 1 },
        ],
      },
    });
    expect(created.status, created.text).toBe(201);
    const page = await call(app, 'GET', '/pages/experiment-stats');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectLockedDown(page, '/pages/experiment-stats');
    expect(page.text).not.toContain(evil);
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&lt;script&gt;');
  });

  it('the API docs page (/docs, Swagger UI) is locked down', async () => {
    const page = await call(app, 'GET', '/docs/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectLockedDown(page, '/docs/');
  });

  it.skipIf(!existsSync(join(DEFAULT_DIST_DIR, 'index.html')))(
    'the dashboard at / is locked down (skipped when web/dist is not built)',
    async () => {
      const page = await call(app, 'GET', '/');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expectLockedDown(page, '/');
    },
  );
});
