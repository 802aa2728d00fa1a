/**
 * HTTP conventions every module inherits, proven through a small probe module and `app.inject()`.
 */
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { unavailable } from '../../src/platform/errors';
import { problemResponses } from '../../src/platform/http/problems';
import type { ModuleFactory } from '../../src/platform/module';
import { buildTestApp, onPostgres } from '../helpers';

const Body = Type.Object(
  { x: Type.Integer(), label: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
const Query = Type.Object({ n: Type.Optional(Type.Integer()) }, { additionalProperties: false });

const probe: ModuleFactory = ({ adminGuard }) => ({
  name: 'probe',
  routes(app) {
    const schema = {
      operationId: 'probeEcho',
      tags: ['probe'],
      summary: 'Echoes its validated input',
      body: Body,
      querystring: Query,
      response: {
        200: Type.Object({ x: Type.Integer(), n: Type.Union([Type.Integer(), Type.Null()]) }),
        ...problemResponses(400),
      },
    };
    app.post('/probe/echo', { schema }, async (req) => ({ x: req.body.x, n: req.query.n ?? null }));
    app.post(
      '/probe/teapot',
      { schema: { ...schema, operationId: 'probeTeapot' }, config: { inputErrorStatus: 418 } },
      async (req) => ({ x: req.body.x, n: req.query.n ?? null }),
    );
    app.get('/probe/boom', async () => {
      throw new Error('connection to 10.1.2.3 failed: password authentication failed for user "admin"');
    });
    app.get('/probe/busy', async () => {
      throw unavailable('PROBE_BUSY', 'The probe is busy', 7);
    });
    app.post('/probe/admin', { preHandler: adminGuard }, async () => ({ done: true }));
  },
});

const BODY_LIMIT = 2048;
const app = await buildTestApp({ modules: [probe], env: { BODY_LIMIT_BYTES: String(BODY_LIMIT) } });

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.http.inject({
    method: 'POST',
    url,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...headers },
  });

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: expect.stringMatching(/^urn:telelab:problem:/) });
  expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'requestId', 'status', 'title', 'type']);
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body as { detail: string; requestId: string; title: string };
}

describe('errors as problem+json', () => {
  it('answers an unknown route with 404 ROUTE_NOT_FOUND and the request id', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/no/such/route?x=1' });
    const body = expectProblem(res, 404, 'ROUTE_NOT_FOUND');
    expect(body.detail).toBe('No route GET /no/such/route');
  });

  it('names the field whose value has the wrong type', async () => {
    const body = expectProblem(await post('/probe/echo', { x: 'seven' }), 400, 'VALIDATION_FAILED');
    expect(body.detail).toMatch(/^body\.x: /);
  });

  it('names a missing required field', async () => {
    const body = expectProblem(await post('/probe/echo', { label: 'a' }), 400, 'VALIDATION_FAILED');
    expect(body.detail).toMatch(/^body\.x: .*required/);
  });

  it('rejects an unknown field instead of dropping it', async () => {
    const body = expectProblem(await post('/probe/echo', { x: 1, admin: true }), 400, 'VALIDATION_FAILED');
    expect(body.detail).toBe('body.admin: unknown field (not allowed)');
  });

  it('does not coerce a string "1" to a number in the body', async () => {
    const body = expectProblem(await post('/probe/echo', { x: '1' }), 400, 'VALIDATION_FAILED');
    expect(body.detail).toMatch(/^body\.x: /);
  });

  it('coerces query parameters, which always arrive as strings', async () => {
    const res = await post('/probe/echo?n=5', { x: 1 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ x: 1, n: 5 });
  });

  it('names a query parameter that is not a number', async () => {
    const body = expectProblem(await post('/probe/echo?n=five', { x: 1 }), 400, 'VALIDATION_FAILED');
    expect(body.detail).toMatch(/^querystring\.n: /);
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const body = expectProblem(await post('/probe/echo', '{"x": 1,'), 400, 'INVALID_JSON');
    expect(body.detail).toMatch(/^body: not valid JSON/);
  });

  it('answers an empty JSON body with 400 EMPTY_BODY', async () => {
    expectProblem(await post('/probe/echo', ''), 400, 'EMPTY_BODY');
  });

  it('answers an unsupported content type with 415', async () => {
    const res = await post('/probe/echo', '<x>1</x>', { 'content-type': 'application/xml' });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('uses the route inputErrorStatus for every kind of bad input', async () => {
    const cases = [
      await post('/probe/teapot', { x: 'seven' }),
      await post('/probe/teapot', {}),
      await post('/probe/teapot', { x: 1, extra: 1 }),
      await post('/probe/teapot', { x: '1' }),
      await post('/probe/teapot?n=five', { x: 1 }),
      await post('/probe/teapot', '{"x": 1,'),
      await post('/probe/teapot', '<x>1</x>', { 'content-type': 'application/xml' }),
    ];
    expect(cases.map((r) => r.statusCode)).toEqual([418, 418, 418, 418, 418, 418, 418]);
    for (const r of cases) expect(r.json().title).toBe("I'm a teapot");
    expect((await post('/probe/teapot', { x: 2 })).statusCode).toBe(200);
  });

  it('answers a body over BODY_LIMIT_BYTES with 413, also on a route with inputErrorStatus', async () => {
    const big = { x: 1, label: 'a'.repeat(BODY_LIMIT) };
    expectProblem(await post('/probe/echo', big), 413, 'BODY_TOO_LARGE');
    expectProblem(await post('/probe/teapot', big), 413, 'BODY_TOO_LARGE');
    expect((await post('/probe/echo', { x: 1, label: 'a'.repeat(BODY_LIMIT - 100) })).statusCode).toBe(200);
  });

  it('hides the internals of an unexpected error behind a generic 500', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/probe/boom' });
    const body = expectProblem(res, 500, 'INTERNAL');
    expect(res.body).not.toMatch(/10\.1\.2\.3|password|admin|stack|\n\s+at /);
    expect(body.detail).toBe('An internal error occurred; it has been logged.');
  });

  it('renders a ServiceError with its status, code and a Retry-After header', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/probe/busy' });
    const body = expectProblem(res, 503, 'PROBE_BUSY');
    expect(body.detail).toBe('The probe is busy');
    expect(res.headers['retry-after']).toBe('7');
  });
});

describe('request ids', () => {
  it('echoes a well-formed x-request-id', async () => {
    const res = await app.http.inject({
      method: 'GET',
      url: '/nope',
      headers: { 'x-request-id': 'client-42.a:b' },
    });
    expect(res.headers['x-request-id']).toBe('client-42.a:b');
    expect(res.json().requestId).toBe('client-42.a:b');
  });

  it('generates a fresh id when none (or a malformed one) is given', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const a = await app.http.inject({ method: 'GET', url: '/healthz' });
    const b = await app.http.inject({ method: 'GET', url: '/healthz' });
    const c = await app.http.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'bad id\u0007' },
    });
    expect(a.headers['x-request-id']).toMatch(uuid);
    expect(b.headers['x-request-id']).toMatch(uuid);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    expect(c.headers['x-request-id']).toMatch(uuid);
  });
});

describe('operational routes', () => {
  it('/healthz answers 200 while the process is up', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', version: expect.any(String) });
  });

  it('/readyz answers 200 with the kind of database', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', database: onPostgres ? 'postgres' : 'pglite' });
  });

  it('/metrics has a request-duration histogram by route and status, and process metrics', async () => {
    await post('/probe/echo?n=1', { x: 1 });
    await post('/probe/echo', { x: 'bad' });
    const res = await app.http.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    const count = (status: string) =>
      new RegExp(
        `^http_request_duration_seconds_count\\{route="/probe/echo",method="POST",status_code="${status}"\\} [1-9]`,
        'm',
      );
    expect(text).toMatch(count('200'));
    expect(text).toMatch(count('400'));
    expect(text).toMatch(/^http_request_duration_seconds_bucket\{le="0.005",route="\/probe\/echo"/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it('/openapi.json documents the module routes with their schemas', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const echo = doc.paths['/probe/echo'].post;
    expect(echo).toMatchObject({
      operationId: 'probeEcho',
      tags: ['probe'],
      summary: 'Echoes its validated input',
    });
    expect(echo.requestBody.content['application/json'].schema.required).toEqual(['x']);
    expect(Object.keys(echo.responses)).toEqual(expect.arrayContaining(['200', '400']));
    expect(doc.paths['/healthz']).toBeDefined();
    expect(doc.paths['/openapi.json']).toBeUndefined();
  });

  it('/docs serves the Swagger UI page', async () => {
    let res = await app.http.inject({ method: 'GET', url: '/docs' });
    if (res.statusCode === 302)
      res = await app.http.inject({ method: 'GET', url: String(res.headers.location) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('swagger-ui');
  });
});

describe('bearer guard on admin routes', () => {
  it('lets every request through when no TELELAB_API_TOKEN is configured', async () => {
    const res = await post('/probe/admin', {});
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ done: true });
  });

  it('refuses a missing or wrong token with 401 and accepts the configured one', async () => {
    const guarded = await buildTestApp({ modules: [probe], env: { TELELAB_API_TOKEN: 's3cret-token' } });
    const call = (authorization?: string) =>
      guarded.http.inject({
        method: 'POST',
        url: '/probe/admin',
        payload: '{}',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      });

    const missing = await call();
    expectProblem(missing, 401, 'MISSING_TOKEN');
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    for (const wrong of ['Bearer s3cret-tokem', 'Bearer s3cret', 'Basic s3cret-token', 's3cret-token']) {
      const res = await call(wrong);
      expect(res.statusCode, wrong).toBe(401);
      expect(res.headers['www-authenticate'], wrong).toBe('Bearer');
    }
    expect((await call('Bearer s3cret-tokem')).json().code).toBe('INVALID_TOKEN');
    const ok = await call('Bearer s3cret-token');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ done: true });
    expect((await call('bearer   s3cret-token')).statusCode).toBe(200);
  });
});
