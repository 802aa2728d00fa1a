import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../../test/deterministic';
import { buildTestApp, onPostgres, openSecondHandle } from '../../../../test/helpers';
import { generateLogLine } from '../log-traffic';
import { batch, expectProblem, ISO_UTC, list, logsOnly, postOk, type Rec, reset } from './test-support';

const app = await buildTestApp(logsOnly);

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
    await reset(app);
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
    await reset(app);
    const rng = mulberry32(7);
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
    await reset(app);
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
      await reset(app);
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
