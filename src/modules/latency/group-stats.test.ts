/** GroupStats: members' histograms merged exactly, failures in success_rate only, nulls before any request. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLatencyHistogram, recordMs, summarizeHistogram } from '../../stats/histogram';
import { startLatencyTarget } from './engine/target';
import {
  appWithTarget,
  call,
  createGroupIn,
  experimentBody,
  type GroupJson,
  latencyApp,
  recordKnownSecond,
} from './test-support';

const { target, app } = await appWithTarget(startLatencyTarget({ port: 0, delayMs: 5 }));

const short = { users: 2, duration_seconds: 1, interval_seconds: 0.05 };
const createGroup = (body: unknown, query = '') => createGroupIn(app, body, query);

describe('group_stats merging', () => {
  /** Member A: 100 answers of 1..100 ms. Member B: 100 answers of 101..200 ms and 20 with no answer. */
  it('merges the members’ histograms exactly and counts failures in success_rate only', async () => {
    // An API-only process: nothing runs these experiments; the numbers are written as a runner would.
    const quiet = await latencyApp({ role: 'api' });
    const created = await call(quiet, 'POST', '/create_experiment_group', {
      name: 'known',
      experiments: [experimentBody(target.port, [short]), experimentBody(target.port, [short])],
    });
    const groupId = created.json().group_id;
    await call(quiet, 'POST', `/manage_group?state=start&group_id=${groupId}`);
    const ids = ((await call(quiet, 'GET', '/list_groups')).json() as GroupJson[])[0]!.experiment_ids;
    const record = (id: string, latencies: number[], noAnswer: number) =>
      recordKnownSecond(quiet.db, id, latencies, noAnswer);
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    await record(ids[0]!, range(1, 100), 0);
    await record(ids[1]!, range(101, 200), 20);

    const stats = (await call(quiet, 'GET', `/group_stats?group_id=${groupId}`)).json();
    expect(Object.keys(stats).sort()).toEqual(
      [
        'group_id',
        'name',
        'state',
        'experiments_stats',
        'total_requests',
        'average_latency',
        'success_rate',
        'p50',
        'p90',
        'p99',
        'rate',
        'timestamp',
      ].sort(),
    );
    // By hand: 220 requests, 200 answered; the 200 latencies are 1..200 ms.
    expect(stats.total_requests).toBe(220);
    expect(stats.success_rate).toBeCloseTo((200 / 220) * 100, 2);
    // HDR with 3 significant digits: each value within 0.1 %.
    const within = (actual: number, expected: number) =>
      expect(Math.abs(actual - expected) / expected).toBeLessThan(0.001);
    within(stats.p50, 100);
    within(stats.p90, 180);
    within(stats.p99, 198);
    within(stats.average_latency, 100.5);
    // The merge is exact: the same as one histogram of all 200 latencies.
    const union = createLatencyHistogram();
    for (const ms of range(1, 200)) recordMs(union, ms);
    const u = summarizeHistogram(union);
    expect([stats.p50, stats.p90, stats.p99, stats.average_latency]).toEqual([u.p50, u.p90, u.p99, u.mean]);

    const [a, b] = [stats.experiments_stats[ids[0]!], stats.experiments_stats[ids[1]!]];
    within(a.p50, 50);
    within(b.p50, 150);
    expect(a.success_rate).toBe(100);
    expect(b.success_rate).toBeCloseTo((100 / 120) * 100, 2);
    expect(b.total_requests).toBe(120);
    expect(stats.state).toBe('running');
    expect(stats.timestamp).toMatch(/Z$/);
  });

  it('a group with no requests yet has nulls, not zeros', async () => {
    const id = await createGroup({ name: 'empty', experiments: [experimentBody(target.port, [short])] });
    expect((await call(app, 'GET', `/group_stats?group_id=${id}`)).json()).toMatchObject({
      total_requests: 0,
      average_latency: null,
      success_rate: null,
      p50: null,
      p90: null,
      p99: null,
    });
    expect((await call(app, 'GET', `/group_stats?group_id=${randomUUID()}`)).statusCode).toBe(404);
  });
});
