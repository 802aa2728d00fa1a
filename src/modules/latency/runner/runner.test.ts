/** The runner on its own: a real database and target, a stand-in for pg-boss that hands over the handler. */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb } from '../../../../test/helpers';
import type { Db } from '../../../platform/db';
import type { JobDefinition } from '../../../platform/jobs';
import { createLogger } from '../../../platform/logger';
import { createTargetGuard, parseAllowlist } from '../allowlist';
import { type LatencyTarget, startLatencyTarget } from '../engine/target';
import { createExperimentsStore } from '../experiments.store';
import { createRunsStore, type RunsStore } from '../runs.store';
import { settingsFromSpec } from '../settings';
import { emptySummary } from '../summary';
import { createRunner, type Runner } from './runner';

let target: LatencyTarget;
let db: Db;
const runners: Runner[] = [];
beforeAll(async () => {
  target = await startLatencyTarget({ port: 0 });
  db = await openTestDb();
});
afterAll(async () => {
  for (const r of runners) await r.stop();
  await db.close();
  await target.close();
});

const caps = { maxUsers: 100, maxRate: 1000, maxDurationSeconds: 600 };

function runnerWith(runs: RunsStore, leaseMs: number) {
  let handler!: JobDefinition<{ experiment_id: string }>['handler'];
  const runner = createRunner({
    runs,
    jobs: {
      define: (def) => {
        handler = def.handler as typeof handler;
      },
      send: async () => null,
    },
    guard: createTargetGuard(parseAllowlist('loopback')),
    logger: createLogger('silent'),
    options: { leaseMs, pollMs: 50, sweepMs: 60_000, rawCap: 0 },
  });
  runners.push(runner);
  const job = (id: string) =>
    handler({ experiment_id: id }, { jobId: randomUUID() }) as Promise<{ claimed: boolean }>;
  return { runner, job };
}

async function runningExperiment(
  on: LatencyTarget = target,
  profile = { users: 1, duration_seconds: 30, interval_seconds: 0.02 },
): Promise<string> {
  const settings = settingsFromSpec(
    { name: 'r', host: '127.0.0.1', port: on.port, load_profiles: [profile] },
    caps,
  );
  const e = await createExperimentsStore(db).insert({
    id: randomUUID(),
    name: 'r',
    settings,
    summary: emptySummary(),
  });
  await db.query(`UPDATE latency.experiments SET state = 'running' WHERE id = $1`, [e.id]);
  return e.id;
}

describe('runner', () => {
  it('a second job for a run that is held does nothing', async () => {
    const { job } = runnerWith(createRunsStore(db), 10_000);
    const other = runnerWith(createRunsStore(db), 10_000);
    const id = await runningExperiment();
    expect((await job(id)).claimed).toBe(true);
    expect((await job(id)).claimed).toBe(false);
    expect((await other.job(id)).claimed).toBe(false);
    await db.query(`UPDATE latency.experiments SET state = 'stopped' WHERE id = $1`, [id]);
  });

  it('stops a run it cannot renew before its lease could lapse', async () => {
    const real = createRunsStore(db);
    const failing: RunsStore = {
      ...real,
      renew: async () => {
        throw new Error('database unreachable');
      },
    };
    const leaseMs = 1000;
    const { job } = runnerWith(failing, leaseMs);
    const id = await runningExperiment();
    const claimedAt = Date.now();
    expect((await job(id)).claimed).toBe(true);
    await sleep(200);
    expect(target.served).toBeGreaterThan(0);
    // Fenced by 0.6 × lease plus one renewal period, well before the lease ends.
    await sleep(Math.max(0, claimedAt + leaseMs * 0.8 + 50 - Date.now()));
    const served = target.served;
    await sleep(leaseMs);
    expect(target.served).toBe(served);
    const [row] = await db.query<{ lease_expires_at: Date }>(
      'SELECT lease_expires_at FROM latency.segments WHERE experiment_id = $1',
      [id],
    );
    // Nothing was written after the fence, not even a release: the lease simply lapses.
    expect(row!.lease_expires_at.getTime()).toBeLessThan(Date.now());
  });

  it('a run claimed while a poll of the other runs is under way keeps its fresh lease', async () => {
    const real = createRunsStore(db);
    let hold: Promise<void> | null = null;
    const slowPolls: RunsStore = {
      ...real,
      // The answer of a poll arrives after the next claim committed (a slow read, a busy pool).
      states: async (ids) => {
        const answer = await real.states(ids);
        if (hold) await hold;
        return answer;
      },
    };
    const { runner, job } = runnerWith(slowPolls, 10_000);
    const first = await runningExperiment();
    expect((await job(first)).claimed).toBe(true);
    let release!: () => void;
    hold = new Promise((resolve) => {
      release = resolve;
    });
    // Let a poll (every 50 ms) start and wait on `hold` with only the first run in its question.
    await sleep(150);
    const second = await runningExperiment();
    expect((await job(second)).claimed).toBe(true);
    hold = null;
    release();
    await sleep(1300);
    // Both still run, and the second recorded its first second under its lease.
    expect(runner.activeCount()).toBe(2);
    const rows = await db.query<{ lease_owner: string; seconds_recorded: number }>(
      'SELECT lease_owner, seconds_recorded FROM latency.segments WHERE experiment_id = ANY($1::uuid[])',
      [[first, second]],
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.lease_owner).toBe(runner.owner);
      expect(Number(r.seconds_recorded)).toBeGreaterThan(0);
    }
    await db.query(`UPDATE latency.experiments SET state = 'stopped' WHERE id = ANY($1::uuid[])`, [
      [first, second],
    ]);
  });

  it('requests answered after the lease was lost are counted as interrupted, never dropped', async () => {
    const slow = await startLatencyTarget({ port: 0, delayMs: 400 });
    try {
      const { runner, job } = runnerWith(createRunsStore(db), 10_000);
      const id = await runningExperiment(slow, { users: 3, duration_seconds: 30, interval_seconds: 0 });
      expect((await job(id)).claimed).toBe(true);
      await sleep(1500);
      // Another process takes the run over (as after a stall past the lease): this runner must stop,
      // and the requests it had in flight (answered after the loss) cannot be recorded as its own.
      await db.query(`UPDATE latency.segments SET lease_owner = 'other-process' WHERE experiment_id = $1`, [
        id,
      ]);
      for (let i = 0; i < 100 && runner.activeCount() > 0; i++) await sleep(50);
      expect(runner.activeCount()).toBe(0);
      const [row] = await db.query<{ summary: { requests: number }; interrupted: number }>(
        'SELECT summary, interrupted FROM latency.experiments WHERE id = $1',
        [id],
      );
      expect(Number(row!.interrupted)).toBeGreaterThan(0);
      expect(row!.summary.requests + Number(row!.interrupted)).toBe(slow.served);
      await db.query(`UPDATE latency.experiments SET state = 'stopped' WHERE id = $1`, [id]);
    } finally {
      await slow.close();
    }
  });
});
