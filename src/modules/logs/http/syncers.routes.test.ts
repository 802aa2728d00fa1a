import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers';
import { batch, expectProblem, ISO_UTC, logsOnly, metric } from './test-support';

describe('syncer positions', () => {
  it('syncers report their position; GET /api/data/syncers shows it with the lag', async () => {
    const app = await buildTestApp(logsOnly);
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
      ['ok', { target_file: 'f', last_id: null, records_written: 2 ** 53 }],
      ['ok', { target_file: '', last_id: null, records_written: 0 }],
      ['ok', { target_file: 'f', last_id: null }],
      ['ok', { target_file: 'f', last_id: null, records_written: 0, extra: 1 }],
    ];
    for (const [name, payload] of bad) {
      const r = await put(encodeURIComponent(name), payload);
      expectProblem(r, 400);
    }

    // A syncer running for months passes 2^31 records.
    expect(
      (await put('long-run', { target_file: 'f', last_id: null, records_written: 3e9 })).statusCode,
    ).toBe(204);
    const listed = (await app.http.inject({ method: 'GET', url: '/api/data/syncers' })).json<
      { name: string; records_written: number }[]
    >();
    expect(listed.find((r) => r.name === 'long-run')!.records_written).toBe(3e9);
  });
});
