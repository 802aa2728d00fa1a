/**
 * Which group states take new members and which groups can start: a member is never stranded in a
 * group that cannot start again, and no group shows running with nothing running.
 */
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

const short = { users: 1, duration_seconds: 0.5, interval_seconds: 0.05 };
const long = { users: 1, duration_seconds: 30, interval_seconds: 0.1 };

async function group(id: string): Promise<GroupJson> {
  const all = (await call(app, 'GET', '/list_groups')).json() as GroupJson[];
  return all.find((g) => g.id === id)!;
}

const manageGroup = (id: string, state: string) =>
  call(app, 'POST', `/manage_group?state=${state}&group_id=${id}`);

const addMember = (id: string, profile = long) =>
  call(app, 'POST', `/add_experiment_to_group?group_id=${id}`, experimentBody(target.port, [profile]));

async function expectConflict(res: Awaited<ReturnType<typeof call>>, code: string, detail: RegExp) {
  expect(res.statusCode, res.body).toBe(409);
  expect(res.json()).toMatchObject({ code, detail: expect.stringMatching(detail) });
}

describe('add_experiment_to_group by group state', () => {
  it('409 on a stopped group, which can never start again; nothing is added', async () => {
    const id = await createGroup([long]);
    expect((await manageGroup(id, 'stop')).statusCode).toBe(200);
    const before = (await group(id)).experiment_ids;
    await expectConflict(await addMember(id), 'LATENCY_GROUP_FINISHED', /stopped.*create a new group/);
    expect((await group(id)).experiment_ids).toEqual(before);
  });

  it('409 on a completed group', async () => {
    const id = await createGroup([short]);
    expect((await manageGroup(id, 'start')).statusCode).toBe(200);
    await waitFor(app, (await group(id)).experiment_ids[0]!, (r) => r.state === 'completed');
    expect((await group(id)).state).toBe('completed');
    await expectConflict(await addMember(id), 'LATENCY_GROUP_FINISHED', /completed/);
    expect((await group(id)).experiment_ids).toHaveLength(1);
  });

  it('a member added to a paused group waits, and starts when the group resumes', async () => {
    const id = await createGroup([long]);
    await manageGroup(id, 'start');
    await manageGroup(id, 'pause');
    const added = await addMember(id);
    expect(added.statusCode, added.body).toBe(200);
    const member = added.json().experiment_id as string;
    expect((await result(app, member)).state).toBe('created');
    expect((await manageGroup(id, 'start')).json().experiments[member]).toBe('running');
    await manageGroup(id, 'stop');
  });
});

describe('a group without experiments', () => {
  it('is created, but start is a 409 until a member is added', async () => {
    const id = await createGroupIn(app, { name: 'empty', experiments: [] });
    await expectConflict(
      await manageGroup(id, 'start'),
      'LATENCY_GROUP_EMPTY',
      /no experiments; add one with POST \/add_experiment_to_group/,
    );
    expect((await group(id)).state).toBe('created');

    expect((await addMember(id)).statusCode).toBe(200);
    const started = await manageGroup(id, 'start');
    expect(started.json()).toMatchObject({ state: 'running' });
    expect(Object.values(started.json().experiments)).toEqual(['running']);
    await manageGroup(id, 'stop');
  });

  it('a running group whose members were all removed shows completed, not running', async () => {
    const id = await createGroup([long]);
    await manageGroup(id, 'start');
    const [member] = (await group(id)).experiment_ids;
    const removed = await call(
      app,
      'DELETE',
      `/remove_experiment_from_group?group_id=${id}&experiment_id=${member}`,
    );
    expect(removed.statusCode).toBe(200);
    expect((await group(id)).state).toBe('completed');
    expect((await call(app, 'GET', `/group_stats?group_id=${id}`)).json().state).toBe('completed');
    expect((await manageGroup(id, 'start')).statusCode).toBe(409);
    await manageOk(app, member!, 'stop');
  });
});

function createGroup(profiles: (typeof long)[]): Promise<string> {
  return createGroupIn(app, {
    name: 'states',
    experiments: profiles.map((p) => experimentBody(target.port, [p])),
  });
}
