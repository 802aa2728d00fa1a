import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../../test/deterministic';
import { buildTestApp } from '../../../../test/helpers';
import { generateInvalidLine, INVALID_LINE_KINDS } from '../log-traffic';
import {
  batch,
  type Created,
  count,
  expectProblem,
  ISO_UTC,
  list,
  logsOnly,
  metric,
  post,
  postOk,
  reset,
  UUID,
} from './test-support';

const app = await buildTestApp(logsOnly);

describe('POST /api/data', () => {
  it('POST /api/data stores a line and answers 201 {id, created}', async () => {
    await reset(app);
    const before = Date.now();
    const res = await post(app, '  2001:db8::7 GET /search?q=shoes%20red&page=2 404  ');
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<Created>();
    expect(Object.keys(body).sort()).toEqual(['created', 'id']);
    expect(body.id).toMatch(UUID);
    expect(body.created).toMatch(ISO_UTC);
    expect(Date.parse(body.created)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(body.created)).toBeLessThanOrEqual(Date.now() + 1000);

    expect(await list(app)).toEqual([
      {
        id: body.id,
        created: body.created,
        log: { ip: '2001:db8::7', method: 'GET', uri: '/search?q=shoes%20red&page=2', status_code: 404 },
      },
    ]);
  });

  describe('bad input: 418 problem+json naming the field, nothing stored', () => {
    const json = { 'content-type': 'application/json' };
    const valid = '10.0.0.1 GET / 200';
    const cases: { name: string; payload: string; headers?: Record<string, string>; detail: RegExp }[] = [
      { name: 'not JSON', payload: '{"log": "10.0.0.1 GET', headers: json, detail: /^body: not valid JSON/ },
      { name: 'empty body', payload: '', headers: json, detail: /^body: a JSON body is required/ },
      {
        name: 'wrong content type',
        payload: `<log>${valid}</log>`,
        headers: { 'content-type': 'application/xml' },
        detail: /Content-Type must be application\/json/,
      },
      {
        name: 'text/plain line',
        payload: valid,
        headers: { 'content-type': 'text/plain' },
        detail: /Content-Type must be application\/json/,
      },
      { name: 'a JSON array', payload: '[]', headers: json, detail: /^body: must be object/ },
      {
        name: 'a JSON string',
        payload: JSON.stringify(valid),
        headers: json,
        detail: /^body: must be object/,
      },
      {
        name: 'no log',
        payload: '{}',
        headers: json,
        detail: /^body\.log: must have required property 'log'/,
      },
      {
        name: 'misspelt log',
        payload: JSON.stringify({ Log: valid }),
        headers: json,
        detail: /^body\.log: must have required property/,
      },
      {
        name: 'log is a number',
        payload: '{"log": 200}',
        headers: json,
        detail: /^body\.log: must be string/,
      },
      { name: 'log is null', payload: '{"log": null}', headers: json, detail: /^body\.log: must be string/ },
      {
        name: 'log is an array',
        payload: JSON.stringify({ log: [valid] }),
        headers: json,
        detail: /^body\.log: must be string/,
      },
      {
        name: 'log is an object',
        payload: JSON.stringify({ log: { ip: '10.0.0.1' } }),
        headers: json,
        detail: /^body\.log: must be string/,
      },
      {
        name: 'extra field',
        payload: JSON.stringify({ log: valid, level: 'info' }),
        headers: json,
        detail: /^body\.level: unknown field/,
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const before = await count(app.db);
        const res = await app.http.inject({
          method: 'POST',
          url: '/api/data',
          payload: c.payload,
          ...(c.headers ? { headers: c.headers } : {}),
        });
        const problem = expectProblem(res, 418);
        expect(problem.detail).toMatch(c.detail);
        expect(await count(app.db)).toBe(before);
      });
    }

    it('every grammar failure kind names its field', async () => {
      const rng = mulberry32(4);
      const before = await count(app.db);
      for (const kind of INVALID_LINE_KINDS) {
        for (let i = 0; i < 3; i++) {
          const bad = generateInvalidLine(rng, kind);
          const res = await post(app, bad.line);
          const problem = expectProblem(res, 418);
          expect(problem.code, kind).toBe('LOGS_INVALID_LINE');
          // "log: <field> ...": the line is the body's `log`, the field is the part of it that failed.
          expect(problem.detail, `${kind}: ${JSON.stringify(bad.line)}`).toMatch(
            bad.field === 'log' ? /^log: log / : new RegExp(`^log: ${bad.field} `),
          );
        }
      }
      expect(await count(app.db)).toBe(before);
    });

    it('a body over BODY_LIMIT_BYTES answers 413 on both POST routes', async () => {
      const small = await buildTestApp({ ...logsOnly, db: app.db, env: { BODY_LIMIT_BYTES: '4096' } });
      const before = await count(app.db);
      const big = JSON.stringify({ log: `10.0.0.1 GET /${'a'.repeat(5000)} 200` });
      const one = await small.http.inject({
        method: 'POST',
        url: '/api/data',
        payload: big,
        headers: json,
      });
      expect(expectProblem(one, 413).detail).toMatch(/^body: larger than/);
      const lines = Array.from({ length: 200 }, () => ({ log: valid }));
      const many = await small.http.inject({ method: 'POST', url: '/api/data/batch', payload: lines });
      expectProblem(many, 413);
      expect(await count(app.db)).toBe(before);
      await small.close();
    });
  });

  it('/metrics counts accepted lines and rejected ones by reason', async () => {
    const accepted = 'telelab_logs_lines_accepted_total';
    const rejected = (reason: string) => `telelab_logs_lines_rejected_total{reason="${reason}"}`;
    const reasons = ['ip', 'method', 'uri', 'status_code', 'log', 'body'];
    const before = new Map<string, number>();
    for (const s of [accepted, ...reasons.map(rejected)]) before.set(s, await metric(app, s));

    await postOk(app, '10.0.0.1 GET / 200');
    await batch(app, [
      { log: '10.0.0.1 GET / 200' },
      { log: '10.0.0.1 GET / 200' },
      { log: '300.0.0.1 GET / 200' },
    ]);
    await post(app, '10.0.0.1 get / 200');
    await post(app, '10.0.0.1 GET index.html 200');
    await post(app, '10.0.0.1 GET / 2000');
    await post(app, '10.0.0.1  GET / 200');
    await post(app, 17); // schema: body.log must be string
    await app.http.inject({
      method: 'POST',
      url: '/api/data',
      payload: '{oops',
      headers: { 'content-type': 'application/json' },
    });

    const delta = async (s: string) => (await metric(app, s)) - before.get(s)!;
    expect(await delta(accepted)).toBe(3);
    expect(await delta(rejected('ip'))).toBe(1);
    expect(await delta(rejected('method'))).toBe(1);
    expect(await delta(rejected('uri'))).toBe(1);
    expect(await delta(rejected('status_code'))).toBe(1);
    expect(await delta(rejected('log'))).toBe(2);
    expect(await delta(rejected('body'))).toBe(1);
  });
});
