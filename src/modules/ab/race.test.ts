/** Concurrent first requests for one new token: one device, one assignment per experiment, one answer. */
import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../test/helpers';
import type { TelelabApp } from '../../app';
import { createAbModule } from './index';
import { newToken, twoApps } from './test-support';

async function rowsFor(app: TelelabApp, token: string) {
  const devices = await app.db.query<{ id: number }>(`SELECT id FROM ab.devices WHERE token = $1`, [token]);
  const assignments = await app.db.query<{ experiment_id: number }>(
    `SELECT a.experiment_id FROM ab.assignments a JOIN ab.devices d ON d.id = a.device_id WHERE d.token = $1`,
    [token],
  );
  return { devices: devices.length, assignments: assignments.length };
}

const fire = (app: TelelabApp, token: string, n: number) =>
  Array.from({ length: n }, () =>
    app.http.inject({ method: 'GET', url: '/api/v1/experiments', headers: { 'device-token': token } }),
  );

describe('50 concurrent first requests with the same new token', () => {
  it('record one device with one assignment per experiment, and all 50 answers agree', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    const token = newToken();
    const responses = await Promise.all(fire(app, token, 50));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(200));
    expect(new Set(responses.map((r) => r.body)).size).toBe(1);
    expect(await rowsFor(app, token)).toEqual({ devices: 1, assignments: 2 });
  });

  it('hold across two app instances on one database (25 requests each, no shared memory)', async () => {
    const [a, b] = await twoApps();
    for (let round = 0; round < 5; round++) {
      const token = newToken();
      const responses = await Promise.all([...fire(a, token, 25), ...fire(b, token, 25)]);
      expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(200));
      expect(new Set(responses.map((r) => r.body)).size).toBe(1);
      expect(await rowsFor(a, token)).toEqual({ devices: 1, assignments: 2 });
    }
    // Every losing request consumed no slot: the counters equal the devices entered.
    const counters = await a.db.query<{ next_k: number }>(
      `SELECT next_k FROM ab.decks ORDER BY experiment_id`,
    );
    expect(counters.map((c) => Number(c.next_k))).toEqual([5, 5]);
  });
});
