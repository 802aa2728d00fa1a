/** group_stats.rate: requests per second of the whole group over the last second, from known seconds. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelelabApp } from '../../app';
import { call, experimentBody, latencyApp, recordKnownSecond } from './test-support';

const profile = { users: 1, duration_seconds: 30, interval_seconds: 0.1 };
let app: TelelabApp;
// An API-only process: nothing runs these experiments; seconds are written as a runner would.
beforeAll(async () => {
  app = await latencyApp({ role: 'api' });
});
afterAll(() => app.close());

/** One recorded second of `requests` answers (1 ms each) lasting `durationMs`. */
const recordSecond = (id: string, requests: number, durationMs: number) =>
  recordKnownSecond(app.db, id, Array(requests).fill(1), 0, durationMs);

async function startedGroup(members: number): Promise<{ groupId: string; ids: string[] }> {
  const body = {
    name: 'rate',
    experiments: Array.from({ length: members }, () => experimentBody(1, [profile])),
  };
  const groupId = (await call(app, 'POST', '/create_experiment_group', body)).json().group_id as string;
  expect((await call(app, 'POST', `/manage_group?state=start&group_id=${groupId}`)).statusCode).toBe(200);
  const stats = (await call(app, 'GET', `/group_stats?group_id=${groupId}`)).json();
  return { groupId, ids: Object.keys(stats.experiments_stats) };
}

describe('group_stats rate', () => {
  it('is 0 before any second is recorded', async () => {
    const { groupId } = await startedGroup(2);
    expect((await call(app, 'GET', `/group_stats?group_id=${groupId}`)).json().rate).toBe(0);
  });

  it("adds up the running members' last seconds: 100 in 1 s + 60 in 0.5 s = 220 req/s", async () => {
    const { groupId, ids } = await startedGroup(2);
    await recordSecond(ids[0]!, 100, 1000);
    await recordSecond(ids[1]!, 60, 500);
    const stats = (await call(app, 'GET', `/group_stats?group_id=${groupId}`)).json();
    expect(stats.experiments_stats[ids[0]!].rate).toBe(100);
    expect(stats.experiments_stats[ids[1]!].rate).toBe(120);
    expect(stats.rate).toBe(220);
  });

  it('leaves out a member that is no longer running', async () => {
    const { groupId, ids } = await startedGroup(2);
    await recordSecond(ids[0]!, 100, 1000);
    await recordSecond(ids[1]!, 40, 1000);
    const stop = await call(app, 'POST', `/manage_experiment?state=stop&experiment_id=${ids[1]}`);
    expect(stop.statusCode, stop.body).toBe(200);
    const stats = (await call(app, 'GET', `/group_stats?group_id=${groupId}`)).json();
    expect(stats.rate).toBe(100);
    // The member says the same: it sends nothing now (its last second is history), so the rows add up.
    expect(stats.experiments_stats[ids[1]!].rate).toBe(0);
    const own = await call(app, 'GET', `/experiment_stats?experiment_id=${ids[1]}`);
    expect(own.json().rate).toBe(0);
  });
});
