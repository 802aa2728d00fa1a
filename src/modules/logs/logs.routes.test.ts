import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, onPostgres, openSecondHandle, type TestApp } from '../../../test/helpers';
import type { Db } from '../../platform/db';
import { createLogsModule } from './index';
import { generateInvalidLine, generateLogLine, INVALID_LINE_KINDS, type Rng } from './log-line';
import { createLogsStore } from './logs.store';

interface Created {
  id: string;
  created: string;
}

interface Rec {
  id: string;
  created: string;
  log: { ip: string; method: string; uri: string; status_code: number };
}

interface BatchResult {
  accepted: number;
  ids: string[];
  rejected: { index: number; detail: string }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Deterministic lines, so a failure can be reproduced. */
function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const logsOnly = { modules: [createLogsModule] };

async function post(app: TestApp, log: unknown) {
  return app.http.inject({ method: 'POST', url: '/api/data', payload: { log } });
}

async function postOk(app: TestApp, log: string): Promise<Created> {
  const res = await post(app, log);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Created>();
}

async function batch(app: TestApp, items: unknown[]): Promise<BatchResult> {
  const res = await app.http.inject({ method: 'POST', url: '/api/data/batch', payload: items });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<BatchResult>();
}

async function list(app: TestApp, query = ''): Promise<Rec[]> {
  const res = await app.http.inject({ method: 'GET', url: `/api/data${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Rec[]>();
}

async function count(db: Db): Promise<number> {
  const rows = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM logs.entries');
  return rows[0]!.n;
}

/** The value of one sample of the app's /metrics, 0 when absent. */
async function metric(app: TestApp, sample: string): Promise<number> {
  const res = await app.http.inject({ method: 'GET', url: '/metrics' });
  const line = res.body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

function expectProblem(
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

describe('logs routes', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await buildTestApp(logsOnly);
  });

  const reset = () => app.db.query('TRUNCATE logs.entries, logs.syncers');

  it('POST /api/data stores a line and answers 201 {id, created}', async () => {
    await reset();
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
        detail: /^body: must be object/,
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
      const rng = seeded(4);
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

  describe('GET /api/data', () => {
    it('malformed id -> 400, unknown id -> 404, bad limit -> 400', async () => {
      for (const id of ['abc', '123', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', '%27%3B--']) {
        const res = await app.http.inject({ method: 'GET', url: `/api/data?id=${id}` });
        expect(expectProblem(res, 400).detail).toMatch(/^querystring\.id: /);
      }
      const unknown = await app.http.inject({
        method: 'GET',
        url: '/api/data?id=00000000-0000-4000-8000-000000000000',
      });
      expect(expectProblem(unknown, 404).detail).toMatch(/^id: no record/);
      for (const limit of ['0', '-1', 'abc', '1.5']) {
        const res = await app.http.inject({ method: 'GET', url: `/api/data?limit=${limit}` });
        expect(expectProblem(res, 400).detail).toMatch(/^querystring\.limit: /);
      }
    });

    it('the database-built record JSON is byte for byte what JSON.stringify makes of the record', async () => {
      await reset();
      const lines = [
        "2001:db8::ff00:42:8329 PATCH http://example.com:8080/a%20b?x=[1]&y='q'&z=$*+,;=@!~ 599",
        "10.0.0.1 GET /it's/(fine)?a=b:c 100",
        '255.255.255.255 OPTIONS / 204',
      ];
      const created = [];
      for (const line of lines) created.push({ ...(await postOk(app, line)), line });
      const res = await app.http.inject({ method: 'GET', url: '/api/data' });
      const expected = created.map(({ id, created: at, line }) => {
        const [ip, method, uri, status] = line.split(' ');
        return { id, created: at, log: { ip, method, uri, status_code: Number(status) } };
      });
      expect(res.body).toBe(JSON.stringify(expected));
    });

    it('returns every record in insertion order; limit and id page through them', async () => {
      await reset();
      const rng = seeded(7);
      const sent: { id: string; line: string }[] = [];
      for (let i = 0; i < 12; i++) {
        if (i % 3 === 2) {
          const lines = [generateLogLine(rng), generateLogLine(rng), generateLogLine(rng)];
          const r = await batch(
            app,
            lines.map((log) => ({ log })),
          );
          for (const [k, id] of r.ids.entries()) sent.push({ id, line: lines[k]! });
        } else {
          const line = generateLogLine(rng);
          sent.push({ id: (await postOk(app, line)).id, line });
        }
      }
      const all = await list(app);
      expect(all.map((r) => r.id)).toEqual(sent.map((s) => s.id));
      for (const [k, r] of all.entries()) {
        const { ip, method, uri, status_code } = r.log;
        expect(`${ip} ${method} ${uri} ${status_code}`).toBe(sent[k]!.line);
        expect(r.created).toMatch(ISO_UTC);
      }

      expect((await list(app, '?limit=5')).map((r) => r.id)).toEqual(sent.slice(0, 5).map((s) => s.id));
      // Walk with ?id=&limit= like a syncer: every record once, in the same order.
      const walked: string[] = [];
      let last: string | undefined;
      for (;;) {
        const page = await list(app, last ? `?id=${last}&limit=4` : '?limit=4');
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(4);
        walked.push(...page.map((r) => r.id));
        last = page.at(-1)!.id;
      }
      expect(walked).toEqual(sent.map((s) => s.id));
      expect(await list(app, `?id=${sent.at(-1)!.id}`)).toEqual([]);
    });

    it('streams a large table in order, without a Content-Length', async () => {
      await reset();
      const n = onPostgres ? 200_000 : 50_000; // PGlite streams ~10k rows/s
      // Directly in SQL (the fast path for volume); the order is the cursor order of the rows.
      await app.db.query(
        `INSERT INTO logs.entries (id, ip, method, uri, status_code)
         SELECT gen_random_uuid(), '10.0.' || (i % 256) || '.' || (i % 200 + 1), 'GET', '/p/' || i, 200
         FROM generate_series(1, $1::int) AS i`,
        [n],
      );
      // A second transaction, through the writer lane.
      await batch(app, [{ log: '10.9.9.9 POST /tail 201' }]);
      const expected = (await app.db.query<{ id: string }>('SELECT id FROM logs.entries ORDER BY seq')).map(
        (r) => r.id,
      );
      expect(expected.length).toBe(n + 1);

      const res = await app.http.inject({ method: 'GET', url: '/api/data' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBeUndefined();
      const body = res.json<Rec[]>();
      expect(body.length).toBe(n + 1);
      expect(body.map((r) => r.id)).toEqual(expected);
      expect(body[0]!.log).toEqual({ ip: '10.0.1.2', method: 'GET', uri: '/p/1', status_code: 200 });
      expect(body.at(-1)!.log.uri).toBe('/tail');

      const page = await list(app, `?id=${expected[1000]}&limit=1000`);
      expect(page.map((r) => r.id)).toEqual(expected.slice(1001, 2001));
    }, 60_000);

    it.runIf(onPostgres)(
      'a record is readable as soon as its POST is answered, whatever else runs on the server (PostgreSQL)',
      async () => {
        await reset();
        // An unrelated open transaction holding an xid must not delay visibility.
        const other = await openSecondHandle(app.db);
        const client = await other.pool!.connect();
        try {
          await client.query('BEGIN');
          await client.query('SELECT pg_current_xact_id()');
          const { id } = await postOk(app, '10.0.0.1 GET /late 200');
          expect((await list(app)).map((r) => r.id)).toEqual([id]);
          await client.query('COMMIT');
        } finally {
          client.release();
          await other.close();
        }
      },
    );
  });

  describe('POST /api/data/batch', () => {
    it('JSON array: stores the valid items, lists the rejected ones by index', async () => {
      await reset();
      const items = [
        { log: '192.168.0.1 GET /index.html 200' },
        { log: '192.168.0.1 FETCH /index.html 200' },
        'a string',
        { log: 42 },
        { line: '192.168.0.1 GET / 200' },
        { log: '::1 DELETE /items/7 204', extra: true },
        null,
        { log: '::1 PUT http://example.com/a?b=c 500' },
      ];
      const r = await batch(app, items);
      expect(r.accepted).toBe(2);
      expect(r.ids).toHaveLength(2);
      expect(r.rejected.map((x) => x.index)).toEqual([1, 2, 3, 4, 5, 6]);
      const details = r.rejected.map((x) => x.detail);
      expect(details[0]).toMatch(/^log: method "FETCH"/);
      expect(details[1]).toMatch(/^body: expected a JSON object/);
      expect(details[2]).toMatch(/^log: must be a string, got number/);
      expect(details[3]).toMatch(/^log: required field is missing/);
      expect(details[4]).toMatch(/^body\.extra: unknown field/);
      expect(details[5]).toMatch(/^body: expected a JSON object/);
      expect((await list(app)).map((x) => x.id)).toEqual(r.ids);
      expect((await list(app)).map((x) => x.log.uri)).toEqual(['/index.html', 'http://example.com/a?b=c']);
    });

    it('NDJSON: a line that is not JSON is rejected by index, the rest stored', async () => {
      await reset();
      const body = [
        '{"log": "10.1.1.1 GET /a 200"}',
        '{"log": "10.1.1.1 GET /b 200"',
        '{"log": "10.1.1.1 GET /c 999"}',
        '',
        '{"log": "10.1.1.1 GET /d 302"}\r',
        '',
      ].join('\n');
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/data/batch',
        payload: body,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      expect(res.statusCode, res.body).toBe(201);
      const r = res.json<BatchResult>();
      expect(r.accepted).toBe(2);
      expect(r.rejected.map((x) => x.index)).toEqual([1, 2, 3]);
      expect(r.rejected[0]!.detail).toMatch(/^body: .*JSON/);
      expect(r.rejected[1]!.detail).toMatch(/^log: status_code "999"/);
      expect(r.rejected[2]!.detail).toMatch(/^body: .*JSON/);
      expect((await list(app)).map((x) => x.log.uri)).toEqual(['/a', '/d']);
    });

    it('a body that is not an array -> 418, nothing stored', async () => {
      const before = await count(app.db);
      for (const payload of ['{"log": "10.0.0.1 GET / 200"}', '"x"', '[', '']) {
        const res = await app.http.inject({
          method: 'POST',
          url: '/api/data/batch',
          payload,
          headers: { 'content-type': 'application/json' },
        });
        expect(expectProblem(res, 418).detail).toMatch(/^body/);
      }
      expect(await count(app.db)).toBe(before);
    });

    it('stores a batch larger than one statement in one transaction', async () => {
      await reset();
      const rng = seeded(11);
      const items = Array.from({ length: 12_345 }, () => ({ log: generateLogLine(rng) }));
      const r = await batch(app, items);
      expect(r.accepted).toBe(items.length);
      // xmin of a row is the transaction that inserted it.
      const txids = await app.db.query<{ n: number }>(
        'SELECT count(DISTINCT xmin::text)::int8 AS n FROM logs.entries',
      );
      expect(txids[0]!.n).toBe(1);
      expect((await list(app)).map((x) => x.id)).toEqual(r.ids);
    });
  });

  it('syncers report their position; GET /api/data/syncers shows it with the lag', async () => {
    await reset();
    const ids = (
      await batch(
        app,
        Array.from({ length: 10 }, () => ({ log: '10.0.0.1 GET / 200' })),
      )
    ).ids;
    const put = (name: string, payload: unknown) =>
      app.http.inject({ method: 'PUT', url: `/api/data/syncers/${name}`, payload: payload as object });
    expect(
      (
        await put('logs.ndjson-1000ms', {
          target_file: '/data/logs.ndjson',
          last_id: ids[6],
          records_written: 7,
        })
      ).statusCode,
    ).toBe(204);
    expect(
      (await put('fresh', { target_file: 'x.ndjson', last_id: null, records_written: 0 })).statusCode,
    ).toBe(204);
    expect(
      (
        await put('gone', {
          target_file: 'y.ndjson',
          last_id: '00000000-0000-4000-8000-000000000000',
          records_written: 3,
        })
      ).statusCode,
    ).toBe(204);

    const res = await app.http.inject({ method: 'GET', url: '/api/data/syncers' });
    expect(res.statusCode).toBe(200);
    const rows =
      res.json<
        {
          name: string;
          last_id: string | null;
          lag: number | null;
          records_written: number;
          reported_at: string;
          target_file: string;
        }[]
      >();
    expect(rows.map((r) => [r.name, r.target_file, r.last_id, r.records_written, r.lag])).toEqual([
      ['fresh', 'x.ndjson', null, 0, 10],
      ['gone', 'y.ndjson', '00000000-0000-4000-8000-000000000000', 3, null],
      ['logs.ndjson-1000ms', '/data/logs.ndjson', ids[6], 7, 3],
    ]);
    for (const r of rows) expect(r.reported_at).toMatch(ISO_UTC);

    // A report that moves on replaces the previous one.
    await put('logs.ndjson-1000ms', {
      target_file: '/data/logs.ndjson',
      last_id: ids[9],
      records_written: 10,
    });
    const after = (await app.http.inject({ method: 'GET', url: '/api/data/syncers' })).json<
      { name: string; lag: number }[]
    >();
    expect(after.find((r) => r.name === 'logs.ndjson-1000ms')!.lag).toBe(0);
    expect(await metric(app, 'telelab_logs_syncer_lag_records{syncer="logs.ndjson-1000ms"}')).toBe(0);
    expect(await metric(app, 'telelab_logs_syncer_lag_records{syncer="fresh"}')).toBe(10);

    const bad: [string, unknown][] = [
      ['has space', { target_file: 'f', last_id: null, records_written: 0 }],
      ['ok', { target_file: 'f', last_id: 'nope', records_written: 0 }],
      ['ok', { target_file: 'f', last_id: null, records_written: -1 }],
      ['ok', { target_file: '', last_id: null, records_written: 0 }],
      ['ok', { target_file: 'f', last_id: null }],
      ['ok', { target_file: 'f', last_id: null, records_written: 0, extra: 1 }],
    ];
    for (const [name, payload] of bad) {
      const r = await put(encodeURIComponent(name), payload);
      expectProblem(r, 400);
    }
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

/**
 * Issue 3's cursor proof. Writers go through two apps on two database handles (on PostgreSQL two
 * pools: transactions of both commit concurrently and out of sequence order); readers poll
 * `?id=<last id seen>&limit=` all along. Every reader must end with exactly the acknowledged ids,
 * each once, all in the same order.
 */
describe('cursor under concurrent writers (issue 3)', () => {
  const WRITERS = 20;
  const LINES = 500;
  const READERS = 3;
  const LIMIT = 250;

  it.runIf(onPostgres)(
    'a transaction committing after a later one never lands behind a cursor (PostgreSQL, deterministic)',
    async () => {
      const app = await buildTestApp(logsOnly);
      const other = await openSecondHandle(app.db);
      const client = await other.pool!.connect();
      const tx = {
        query: async <R>(text: string, params?: readonly unknown[]) =>
          (await client.query(text, params as unknown[])).rows as R[],
      };
      try {
        const first = await postOk(app, '10.0.0.1 GET /first 200');
        // T1 takes its sequence number first, then stays open...
        await client.query('BEGIN');
        const early = '00000000-0000-4000-8000-00000000e001';
        await createLogsStore(other).insert(
          [{ id: early, log: { ip: '10.0.0.2', method: 'GET', uri: '/early', status_code: 200 } }],
          tx,
        );
        // ...so a later writer waits in the lane instead of committing a higher seq before it.
        let lateDone = false;
        const latePost = postOk(app, '10.0.0.3 GET /late 200').then((r) => {
          lateDone = true;
          return r;
        });
        await new Promise((r) => setTimeout(r, 300));
        expect(lateDone).toBe(false);
        // A reader polling now sees nothing new: nothing after `first` has committed.
        expect(await list(app, `?id=${first.id}`)).toEqual([]);
        await client.query('COMMIT');
        const late = await latePost;
        // T1's row comes first, then the waiting writer's.
        expect((await list(app, `?id=${first.id}`)).map((r) => r.id)).toEqual([early, late.id]);
      } finally {
        client.release();
        await other.close();
      }
    },
  );

  it(`${WRITERS} writers x ${LINES} lines through two apps, ${READERS} readers polling ?id=`, async () => {
    const a = await buildTestApp(logsOnly);
    const db2 = await openSecondHandle(a.db);
    try {
      const b = await buildTestApp({ ...logsOnly, db: db2 });
      const apps = [a, b];
      const acknowledged: string[] = [];
      let writersDone = false;

      async function writer(w: number): Promise<void> {
        const app = apps[w % 2]!;
        const rng = seeded(1000 + w);
        let left = LINES;
        while (left > 0) {
          // Half single POSTs (through the batch writer), half small batches (one transaction each).
          const n = rng() < 0.5 ? 1 : Math.min(left, 2 + Math.floor(rng() * 7));
          if (n === 1) acknowledged.push((await postOk(app, generateLogLine(rng))).id);
          else {
            const r = await batch(
              app,
              Array.from({ length: n }, () => ({ log: generateLogLine(rng) })),
            );
            expect(r.accepted).toBe(n);
            acknowledged.push(...r.ids);
          }
          left -= n;
        }
      }

      async function reader(r: number): Promise<string[]> {
        const app = apps[r % 2]!;
        const seen: string[] = [];
        let last: string | undefined;
        let deadline = Number.POSITIVE_INFINITY;
        for (;;) {
          const page = await list(app, last ? `?id=${last}&limit=${LIMIT}` : `?limit=${LIMIT}`);
          for (const rec of page) seen.push(rec.id);
          if (page.length > 0) last = page.at(-1)!.id;
          if (writersDone) {
            if (seen.length >= WRITERS * LINES) break;
            if (deadline === Number.POSITIVE_INFINITY) deadline = Date.now() + 20_000;
            if (Date.now() > deadline) break;
          }
          if (page.length < LIMIT) await sleep(Math.floor(Math.random() * 4));
        }
        // Caught up: nothing may turn up behind the cursor afterwards.
        if (last) seen.push(...(await list(app, `?id=${last}`)).map((rec) => rec.id));
        return seen;
      }

      const readers = Array.from({ length: READERS }, (_, r) => reader(r));
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      writersDone = true;
      const results = await Promise.all(readers);

      expect(acknowledged.length).toBe(WRITERS * LINES);
      expect(new Set(acknowledged).size).toBe(WRITERS * LINES);
      const expected = new Set(acknowledged);
      for (const [r, seen] of results.entries()) {
        const dupes = seen.length - new Set(seen).size;
        const seenSet = new Set(seen);
        const missing = acknowledged.filter((id) => !seenSet.has(id)).length;
        expect({ reader: r, count: seen.length, dupes, missing }).toEqual({
          reader: r,
          count: WRITERS * LINES,
          dupes: 0,
          missing: 0,
        });
        expect(seen.every((id) => expected.has(id))).toBe(true);
      }
      for (let r = 1; r < READERS; r++) expect(results[r], `reader ${r} order`).toEqual(results[0]);
      expect((await list(a)).map((rec) => rec.id)).toEqual(results[0]);
      await b.close();
    } finally {
      await db2.close();
    }
  }, 120_000);
});
