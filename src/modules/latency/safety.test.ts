/** The target allowlist, /test-latency, and redirects (never followed), through HTTP. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLatencyTarget } from './engine/target';
import {
  appWithTarget,
  call,
  experimentBody,
  fakeResolver,
  inState,
  latencyApp,
  result,
  startExperiment,
  waitFor,
} from './test-support';

const resolver = fakeResolver({
  'outside.test': ['93.184.216.34'],
  'mixed.test': ['127.0.0.1', '10.0.0.7'],
  'inside.test': ['127.0.0.1'],
  'nowhere.test': null,
});
const profile = { users: 1, duration_seconds: 1, interval_seconds: 0.1 };

const { target, app } = await appWithTarget(startLatencyTarget({ port: 0 }), { resolver });

const create = (host: string, port = target.port) =>
  call(app, 'POST', '/create_experiment', { ...experimentBody(port, [profile]), host });

describe('the default allowlist (loopback)', () => {
  it.each([
    ['a non-loopback IP', '10.1.2.3', /^host: 10\.1\.2\.3 is not allowed/],
    ['an IPv6 address off loopback', '2001:db8::1', /^host: 2001:db8::1 is not allowed/],
    ['a host name resolving outside', 'outside.test', /^host: 'outside\.test' resolves to 93\.184\.216\.34/],
    ['a host name with one address outside', 'mixed.test', /resolves to 10\.0\.0\.7, not allowed/],
  ])('refuses %s with 403', async (_what, host, detail) => {
    const res = await create(host);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'LATENCY_TARGET_NOT_ALLOWED' });
    expect(res.json().detail).toMatch(detail);
  });

  it.each(['localhost', '127.0.0.1', '127.9.9.9', '::1', '[::1]', 'inside.test'])(
    'allows %s',
    async (host) => {
      expect((await create(host)).statusCode).toBe(201);
    },
  );

  it('a name that does not resolve is a 422 naming the host', async () => {
    const res = await create('nowhere.test');
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'LATENCY_TARGET_UNRESOLVABLE' });
    expect(res.json().detail).toMatch(/^host: 'nowhere.test' could not be resolved/);
    // The list would refuse it anyway unless it resolved to an allowed address: say so now, not after DNS works.
    expect(res.json().detail).toContain('LATENCY_ALLOWED_TARGETS');
  });

  it('checks every experiment of a group, naming the one refused', async () => {
    const res = await call(app, 'POST', '/create_experiment_group', {
      name: 'g',
      experiments: [
        experimentBody(target.port, [profile]),
        { ...experimentBody(target.port, [profile]), host: '10.0.0.1' },
      ],
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().detail).toMatch(/^experiments\[1\]\.host: /);
    const groups = (await call(app, 'GET', '/list_groups')).json() as unknown[];
    expect(groups).toEqual([]);
  });
});

describe('configured allowlists', () => {
  it('CIDR ranges and names allow what they cover and nothing else', async () => {
    // Creating is all these apps do: no background work, and the file's database.
    const custom = await latencyApp({
      db: app.db,
      role: 'api',
      resolver,
      env: { LATENCY_ALLOWED_TARGETS: '10.0.0.0/8, outside.test' },
    });
    const make = (host: string) =>
      call(custom, 'POST', '/create_experiment', { ...experimentBody(80, [profile]), host });
    expect((await make('10.200.0.1')).statusCode).toBe(201);
    expect((await make('outside.test')).statusCode).toBe(201);
    expect((await make('11.0.0.1')).statusCode).toBe(403);
    expect((await make('127.0.0.1')).statusCode).toBe(403);
  });

  it("'*' allows any target", async () => {
    const open = await latencyApp({
      db: app.db,
      role: 'api',
      resolver,
      env: { LATENCY_ALLOWED_TARGETS: '*' },
    });
    const res = await call(open, 'POST', '/create_experiment', {
      ...experimentBody(80, [profile]),
      host: '10.1.2.3',
    });
    expect(res.statusCode).toBe(201);
  });
});

describe('GET /test-latency', () => {
  it("measures one request and answers the seed's ExperimentResult", async () => {
    const res = await call(app, 'GET', `/test-latency?host=127.0.0.1&port=${target.port}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['error', 'latency_ms', 'status_code', 'timestamp']);
    expect(body).toMatchObject({ status_code: 200, error: null });
    expect(body.latency_ms).toBeGreaterThan(0);
  });

  it('a failed request is status_code 0, latency_ms null and an error', async () => {
    const closed = await startLatencyTarget({ port: 0 });
    await closed.close();
    const body = (await call(app, 'GET', `/test-latency?host=localhost&port=${closed.port}`)).json();
    expect(body).toMatchObject({ status_code: 0, latency_ms: null });
    expect(body.error).toMatch(/ECONNREFUSED/);
  });

  it('refuses targets off the allowlist with 403, before sending anything', async () => {
    const res = await call(app, 'GET', '/test-latency?host=outside.test&port=80');
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('LATENCY_TARGET_NOT_ALLOWED');
  });
});

describe('redirects', () => {
  let redirecting: Server;
  let redirectPort: number;
  beforeAll(async () => {
    // Answers every request with a redirect to the real target.
    redirecting = createServer((_req, res) => {
      res.writeHead(302, { location: target.latencyUrl, 'content-length': '0' });
      res.end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    redirectPort = (redirecting.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => redirecting.close(() => resolve())));

  it('are not followed by /test-latency', async () => {
    const before = target.served;
    const body = (await call(app, 'GET', `/test-latency?host=127.0.0.1&port=${redirectPort}`)).json();
    expect(body.status_code).toBe(302);
    expect(target.served).toBe(before);
  });

  it('are not followed by a run: a 3xx is a failed request', async () => {
    const before = target.served;
    const id = await startExperiment(
      app,
      experimentBody(redirectPort, [{ ...profile, duration_seconds: 0.5 }]),
    );
    await waitFor(app, id, inState('completed'));
    const r = await result(app, id);
    expect(r.summary.requests).toBeGreaterThan(0);
    expect(r.summary.success_rate).toBe(0);
    expect(r.summary).toMatchObject({ status_codes: { '302': r.summary.requests } });
    expect(target.served).toBe(before);
  });
});
