import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../../test/deterministic';
import { buildTestApp } from '../../../../test/helpers';
import { generateLogLine } from '../log-traffic';
import { type BatchResult, batch, count, expectProblem, list, logsOnly, reset } from './test-support';

const app = await buildTestApp(logsOnly);

describe('POST /api/data/batch', () => {
  it('JSON array: stores the valid items, lists the rejected ones by index', async () => {
    await reset(app);
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
    await reset(app);
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
    await reset(app);
    const rng = mulberry32(11);
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
