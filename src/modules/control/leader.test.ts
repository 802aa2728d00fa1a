import { afterEach, describe, expect, it } from 'vitest';
import { onPostgres, openSecondHandle, openTestDb, type TestApp } from '../../../test/helpers';
import type { Db } from '../../platform/db';
import { startManipulator } from './cli/manipulator';
import type { ControlModule } from './index';
import { createLeadership } from './leadership';
import { controlApp, waitFor } from './test-support';

const INTERVAL_MS = 400;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Instance {
  app: TestApp;
  control: ControlModule;
}

async function instance(db: Db, id: string, manipulatorPort: number): Promise<Instance> {
  const { app, control } = await controlApp({
    db,
    env: { CONTROL_DECISION_INTERVAL: String(INTERVAL_MS / 1000), MANIPULATOR_PORT: String(manipulatorPort) },
    module: { loop: 'timer', leaderId: id },
  });
  cleanups.push(() => app.close());
  return { app, control };
}

async function status(i: Instance) {
  const res = await i.app.http.inject({ method: 'GET', url: '/control/status' });
  return res.json<{ leader: { this_process: boolean; id: string | null } }>();
}

interface DecisionRow {
  decided_at: Date;
  leader_id: string;
  missed: number;
}

const decisionsOf = (db: Db) =>
  db.query<DecisionRow>('SELECT decided_at, leader_id, missed FROM control.decisions ORDER BY decided_at');

async function twoControllers() {
  const m = await startManipulator({ port: 0 });
  cleanups.push(() => m.close());
  const db = await openTestDb();
  cleanups.push(() => db.close());
  const second = await openSecondHandle(db);
  cleanups.push(() => second.close());
  const a = await instance(db, 'controller-a', m.port);
  const b = await instance(second, 'controller-b', m.port);
  await waitFor(async () => (await decisionsOf(db)).length >= 2, 5000);
  const [sa, sb] = [await status(a), await status(b)];
  const [leader, follower] = sa.leader.this_process ? [a, b] : [b, a];
  return { m, db, a, b, sa, sb, leader, follower };
}

describe('leadership on the embedded database', () => {
  it('a started controller alone on PGlite or PostgreSQL leads', async () => {
    const db = await openTestDb();
    cleanups.push(() => db.close());
    const solo = await instance(db, 'solo', 1);
    await waitFor(async () => (await status(solo)).leader.this_process, 3000);
    expect((await status(solo)).leader.id).toBe('solo');
  });
});

// PGlite serves one process per data directory (the dir lock refuses a second), so there is no second
// controller to elect against; these run with DATABASE_URL set.
describe.skipIf(!onPostgres)('leader election: two controllers on one PostgreSQL', () => {
  it('exactly one leads, both name it, and only it decides and talks to the manipulator', async () => {
    const { m, db, sa, sb, leader } = await twoControllers();
    expect([sa.leader.this_process, sb.leader.this_process].filter(Boolean)).toHaveLength(1);
    expect(sa.leader.id).toBe(leader.control.controller.leaderId);
    expect(sb.leader.id).toBe(leader.control.controller.leaderId);

    await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS));
    const rows = await decisionsOf(db);
    expect(new Set(rows.map((r) => r.leader_id))).toEqual(new Set([leader.control.controller.leaderId]));
    // One decision per aligned time; a gap (a timer late by more than an interval on a loaded machine)
    // is accounted for in `missed`.
    for (let i = 1; i < rows.length; i++) {
      const gap = rows[i]!.decided_at.getTime() - rows[i - 1]!.decided_at.getTime();
      expect(gap).toBe((rows[i]!.missed + 1) * INTERVAL_MS);
    }
    expect(m.connections).toBe(1);
  });

  it('when the leader stops, the other takes over within one interval', async () => {
    const { db, leader, follower } = await twoControllers();
    await leader.app.close(); // releases the lock
    const stoppedAt = Date.now();
    const lastOfOld = (await decisionsOf(db)).at(-1)!;

    await waitFor(async () => (await status(follower)).leader.this_process, 3 * INTERVAL_MS);
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(INTERVAL_MS + 300);
    await waitFor(
      async () => (await decisionsOf(db)).at(-1)!.leader_id === follower.control.controller.leaderId,
    );
    const rows = await decisionsOf(db);
    const firstOfNew = rows.find((r) => r.leader_id === follower.control.controller.leaderId)!;
    expect(firstOfNew.decided_at.getTime()).toBe(
      lastOfOld.decided_at.getTime() + (firstOfNew.missed + 1) * INTERVAL_MS,
    );
    expect(firstOfNew.missed).toBeLessThanOrEqual(1);
  });

  it('when the leader loses its database session, it steps down and the other takes over', async () => {
    const { db, leader, follower } = await twoControllers();
    const killedAt = Date.now();
    const killed = await db.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = $1`,
      [`telelab-control:${leader.control.controller.leaderId}`],
    );
    expect(killed).toEqual([{ ok: true }]);

    await waitFor(async () => (await status(follower)).leader.this_process, 3 * INTERVAL_MS);
    expect(Date.now() - killedAt).toBeLessThanOrEqual(INTERVAL_MS + 300);
    await waitFor(async () => !(await status(leader)).leader.this_process, 3 * INTERVAL_MS);
    expect((await status(leader)).leader.id).toBe(follower.control.controller.leaderId);
    const rows = await decisionsOf(db);
    expect(new Set(rows.map((r) => r.decided_at.getTime())).size).toBe(rows.length);
  });

  it('a process that lost its session gives way to the others once, and leads again when alone', async () => {
    const db = await openTestDb();
    cleanups.push(() => db.close());
    const second = await openSecondHandle(db);
    cleanups.push(() => second.close());
    const opts = { queryTimeoutMs: 2000, yieldMs: 100 };
    const a = createLeadership(db, { ...opts, id: 'lost-a' });
    const b = createLeadership(second, { ...opts, id: 'other-b' });
    cleanups.push(
      () => a.release(),
      () => b.release(),
    );
    expect(await a.acquire()).toBe(true);
    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'telelab-control:lost-a'`,
    );
    await expect(a.session.query('SELECT 1')).rejects.toThrow();
    a.lose();
    await waitFor(async () => (await a.currentLeader()) === null); // the server freed the lock

    // Both try at the same decision time: a gives way, b takes the lock.
    expect(await Promise.all([a.acquire(), b.acquire()])).toEqual([false, true]);
    expect(await a.currentLeader()).toBe('other-b');
    // Once only: when b lets go, a leads again at its next attempt.
    await b.release();
    expect(await a.acquire()).toBe(true);
    expect(await b.currentLeader()).toBe('lost-a');
  });
});
