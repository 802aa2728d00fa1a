/** Experiment groups: both create forms, managing members together, membership, GroupStats. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelelabApp } from '../../app';
import { createLatencyHistogram, encodeHistogram, recordMs, summarizeHistogram } from '../../stats/histogram';
import { createRunsStore } from './runs.store';
import { addSecond, emptySummary, summarize, totalsOf } from './summary';
import { type LatencyTarget, startLatencyTarget } from './target';
import { call, experimentBody, latencyApp, manageOk, result, waitFor } from './test-support';

let target: LatencyTarget;
let app: TelelabApp;
beforeAll(async () => {
  target = await startLatencyTarget({ port: 0, delayMs: 5 });
  app = await latencyApp();
});
afterAll(() => target.close());

const short = { users: 2, duration_seconds: 1, interval_seconds: 0.05 };
const long = { users: 1, duration_seconds: 30, interval_seconds: 0.1 };

interface GroupJson {
  id: string;
  name: string;
  state: string;
  experiments: Record<string, { id: string; name: string; state: string }>;
  experiment_ids: string[];
}

async function createGroup(body: unknown, query = ''): Promise<string> {
  const res = await call(app, 'POST', `/create_experiment_group${query}`, body);
  expect(res.statusCode, res.body).toBe(201);
  expect(Object.keys(res.json())).toEqual(['group_id']);
  return res.json().group_id;
}

async function group(id: string): Promise<GroupJson> {
  const all = (await call(app, 'GET', '/list_groups')).json() as GroupJson[];
  return all.find((g) => g.id === id)!;
}

const manageGroup = (id: string, state: string) =>
  call(app, 'POST', `/manage_group?state=${state}&group_id=${id}`);

describe('create_experiment_group', () => {
  it('creates the group and its experiments from {name, experiments}', async () => {
    const id = await createGroup({
      name: 'pair',
      experiments: [
        { ...experimentBody(target.port, [short]), name: 'one' },
        { ...experimentBody(target.port, [short]), name: 'two' },
      ],
    });
    const g = await group(id);
    expect(g).toMatchObject({ id, name: 'pair', state: 'created' });
    expect(g.experiment_ids).toHaveLength(2);
    expect(g.experiment_ids.map((e) => g.experiments[e]!.name)).toEqual(['one', 'two']);
    expect(Object.values(g.experiments).every((e) => e.state === 'created')).toBe(true);
  });

  it("accepts the original's form: ?name= and a bare array of experiments", async () => {
    const id = await createGroup([experimentBody(target.port, [short])], '?name=original');
    expect(await group(id)).toMatchObject({ name: 'original', experiment_ids: [expect.any(String)] });
    const res = await call(app, 'POST', '/create_experiment_group', [experimentBody(target.port, [short])]);
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/^querystring\.name/);
  });

  it('names the field of an invalid member', async () => {
    const res = await call(app, 'POST', '/create_experiment_group', {
      name: 'bad',
      experiments: [
        experimentBody(target.port, [short]),
        experimentBody(target.port, [{ ...short, users: 1e6 }]),
      ],
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().detail).toMatch(/^experiments\[1\]\.load_profiles\[0\]\.users: /);
  });
});

describe('manage_group', () => {
  it('starts, pauses, resumes and stops every member together', async () => {
    const id = await createGroup({
      name: 'together',
      experiments: [experimentBody(target.port, [long]), experimentBody(target.port, [long])],
    });
    expect((await manageGroup(id, 'pause')).statusCode).toBe(409);
    const started = await manageGroup(id, 'start');
    expect(started.statusCode).toBe(200);
    const body = started.json();
    expect(body).toMatchObject({ group_id: id, state: 'running' });
    expect(Object.values(body.experiments)).toEqual(['running', 'running']);
    expect((await manageGroup(id, 'pause')).json()).toMatchObject({ state: 'paused' });
    const g = await group(id);
    expect(Object.values(g.experiments).map((e) => e.state)).toEqual(['paused', 'paused']);
    expect((await manageGroup(id, 'start')).json()).toMatchObject({ state: 'running' });
    const stopped = (await manageGroup(id, 'stop')).json();
    expect(stopped.state).toBe('stopped');
    expect(Object.values(stopped.experiments)).toEqual(['stopped', 'stopped']);
    expect((await manageGroup(id, 'start')).statusCode).toBe(409);
  });

  it('400 for a bad state value, 404 for an unknown group', async () => {
    expect((await manageGroup(randomUUID(), 'go')).statusCode).toBe(400);
    const res = await manageGroup(randomUUID(), 'start');
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('LATENCY_GROUP_NOT_FOUND');
  });

  it('a group whose members all finished is completed, and its stats add the members up', async () => {
    const id = await createGroup({
      name: 'run',
      experiments: [experimentBody(target.port, [short]), experimentBody(target.port, [short])],
    });
    // One member already runs on its own; starting the group starts the other and leaves it be.
    await manageOk(app, (await group(id)).experiment_ids[0]!, 'start');
    expect((await manageGroup(id, 'start')).statusCode).toBe(200);
    const [a, b] = (await group(id)).experiment_ids;
    for (const e of [a!, b!]) await waitFor(app, e, (r) => r.state === 'completed');
    const stats = (await call(app, 'GET', `/group_stats?group_id=${id}`)).json();
    expect(stats.state).toBe('completed');
    const ra = await result(app, a!);
    const rb = await result(app, b!);
    expect(stats.total_requests).toBe(ra.summary.requests + rb.summary.requests);
    expect(stats.success_rate).toBe(100);
    expect(stats.p50).toBeGreaterThanOrEqual(4);
    expect(Object.keys(stats.experiments_stats).sort()).toEqual([a, b].sort());
  });
});

describe('membership', () => {
  it('add_experiment_to_group creates a member, started at once in a running group', async () => {
    const id = await createGroup({ name: 'grow', experiments: [experimentBody(target.port, [long])] });
    const idle = await call(
      app,
      'POST',
      `/add_experiment_to_group?group_id=${id}`,
      experimentBody(target.port, [long]),
    );
    expect(idle.statusCode).toBe(200);
    expect(Object.keys(idle.json())).toEqual(['group_id', 'experiment_id']);
    expect((await result(app, idle.json().experiment_id)).state).toBe('created');

    await manageGroup(id, 'start');
    const added = await call(
      app,
      'POST',
      `/add_experiment_to_group?group_id=${id}`,
      experimentBody(target.port, [long]),
    );
    expect(added.json()).toEqual({ group_id: id, experiment_id: expect.any(String) });
    expect((await result(app, added.json().experiment_id)).state).toBe('running');
    expect((await group(id)).experiment_ids).toHaveLength(3);
    await manageGroup(id, 'stop');

    const missing = await call(
      app,
      'POST',
      `/add_experiment_to_group?group_id=${randomUUID()}`,
      experimentBody(target.port, [long]),
    );
    expect(missing.statusCode).toBe(404);
  });

  it('remove_experiment_from_group (DELETE) takes it out; the experiment stays', async () => {
    const id = await createGroup({
      name: 'shrink',
      experiments: [experimentBody(target.port, [short]), experimentBody(target.port, [short])],
    });
    const [first, second] = (await group(id)).experiment_ids;
    const res = await call(
      app,
      'DELETE',
      `/remove_experiment_from_group?group_id=${id}&experiment_id=${first}`,
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ group_id: id, experiment_id: first });
    expect((await group(id)).experiment_ids).toEqual([second]);
    expect((await result(app, first!)).id).toBe(first);
    const again = await call(
      app,
      'DELETE',
      `/remove_experiment_from_group?group_id=${id}&experiment_id=${first}`,
    );
    expect(again.statusCode).toBe(404);
    expect(again.json().code).toBe('LATENCY_NOT_A_MEMBER');
  });
});

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
    const runs = createRunsStore(quiet.db);
    const owner = 'test-runner';

    const record = async (id: string, latencies: number[], noAnswer: number) => {
      expect(await runs.claim(id, 0, owner, 60_000, 0)).not.toBeNull();
      const h = createLatencyHistogram();
      for (const ms of latencies) recordMs(h, ms);
      const second = {
        requests: latencies.length + noAnswer,
        successes: latencies.length,
        failures: noAnswer,
        failuresByKind: (noAnswer ? { connection_refused: noAnswer } : {}) as Record<string, number>,
        statusCodes: { '200': latencies.length },
        late: 0,
        dropped: 0,
      };
      const totals = totalsOf(emptySummary(), null, null, false);
      addSecond(totals, { ...second, histogram: h, rawHistogram: null });
      const cumulative = {
        profileIndex: 0,
        progressMs: 1000,
        summary: summarize(totals, 1000, null),
        histogram: encodeHistogram(totals.histogram),
        rawHistogram: null,
      };
      const point = {
        ...second,
        ts: new Date(),
        durationMs: 1000,
        profileIndex: 0,
        elapsedInProfileMs: 1000,
        latency: summarizeHistogram(h),
        rawLatency: null,
        histogram: encodeHistogram(h),
        rawHistogram: null,
      };
      expect(
        await runs.recordSecond({ id, segment: 0 }, owner, cumulative, () => cumulative, point, [], 0),
      ).toBe(true);
    };
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
