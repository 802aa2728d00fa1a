/**
 * Experiment groups: both create forms, managing members together, membership. GroupStats:
 * group-stats.test.ts; which group states take new members and can start: group-states.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startLatencyTarget } from './engine/target';
import {
  appWithTarget,
  call,
  createGroupIn,
  experimentBody,
  type GroupJson,
  manageOk,
  result,
  waitFor,
} from './test-support';

const { target, app } = await appWithTarget(startLatencyTarget({ port: 0, delayMs: 5 }));

const short = { users: 2, duration_seconds: 1, interval_seconds: 0.05 };
const long = { users: 1, duration_seconds: 30, interval_seconds: 0.1 };

const createGroup = (body: unknown, query = '') => createGroupIn(app, body, query);

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
