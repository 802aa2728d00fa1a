/**
 * One latency experiment split into segments across `telelab worker` processes on one PostgreSQL:
 * - many short runs of 2 segments on 2 workers: every request the target answered is recorded exactly
 *   once (0 differences), the two segments of each run always ran in different workers, nothing is
 *   counted as interrupted;
 * - `kill -9` of the worker running a segment: a live worker takes the segment over within the lease
 *   time and continues it from its stored position; nothing is counted twice (the killed worker's last
 *   unrecorded second is the only thing the target counted and nobody recorded, and it is bounded).
 * PostgreSQL only: PGlite is one process per data directory.
 * Server: RELIABILITY_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLatencyTarget } from '../../src/modules/latency/engine/target';
import { bySize, figure } from './support/mode';
import { postgresUnreachable, type ScratchDatabase, scratchDatabase } from './support/postgres';
import {
  eventually,
  http,
  killAll,
  runToCompletion,
  startServer,
  startWorker,
  type Telelab,
} from './support/processes';

const PG_URL =
  process.env.RELIABILITY_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';

const skipReason = await postgresUnreachable(PG_URL);
if (skipReason) {
  figure('segments', {
    skipped: true,
    reason: JSON.stringify(`${skipReason}; PGlite is one process per data directory`),
  });
}

/** The runner's default lease and sweep period (src/modules/latency/runner/runner.ts). */
const LEASE_MS = 10_000;
const SWEEP_MS = 2_000;

interface SegmentJson {
  index: number;
  worker: string | null;
  state: string;
  requests: number;
  run_attempts: number;
}
interface ResultJson {
  state: string;
  finished_at: string | null;
  summary: { requests: number; interrupted: number; active_ms: number };
  segments: SegmentJson[];
}

const pidOf = (worker: string | null) => Number(worker?.split(':').at(-2));

let db: ScratchDatabase;
let apiUrl = '';
let env: Record<string, string> = {};
const workers: Telelab[] = [];
const figures: Record<string, string | number | boolean> = {};

describe.skipIf(skipReason !== null)('segments across worker processes on one PostgreSQL', () => {
  beforeAll(async () => {
    db = await scratchDatabase(PG_URL);
    env = { DATABASE_URL: db.url, LATENCY_ALLOWED_TARGETS: 'loopback', DB_POOL_SIZE: '6' };
    await runToCompletion('migrate', ['migrate'], env);
    const [api, w1, w2] = await Promise.all([
      startServer('api', env, { apiOnly: true }),
      startWorker('worker-1', env),
      startWorker('worker-2', env),
    ]);
    apiUrl = api.url;
    workers.push(w1, w2);
  }, 180_000);

  afterAll(async () => {
    figure('segments', figures);
    await killAll();
    await db?.drop();
  });

  async function startExperiment(port: number, profile: object, segments: number): Promise<string> {
    const created = await http<{ experiment_id: string }>(apiUrl, 'POST', '/create_experiment', {
      body: { name: 'segments', host: '127.0.0.1', port, load_profiles: [profile], segments },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.experiment_id;
    const started = await http(apiUrl, 'POST', `/manage_experiment?state=start&experiment_id=${id}`);
    expect(started.status, started.text).toBe(200);
    return id;
  }

  const resultOf = async (id: string) =>
    (await http<ResultJson>(apiUrl, 'GET', `/result_experiment?experiment_id=${id}&limit=0`)).body;

  const finished = (id: string, timeoutMs: number) =>
    eventually(
      `experiment ${id} finished`,
      async () => {
        const r = await resultOf(id);
        return r.finished_at !== null ? r : undefined;
      },
      timeoutMs,
      200,
    );

  it('records every answered request exactly once over many runs of 2 segments on 2 workers', async () => {
    const runs = bySize({ short: 16, full: 50 });
    const atOnce = 4;
    let counted = 0;
    let recorded = 0;
    let differences = 0;
    for (let first = 0; first < runs; first += atOnce) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(atOnce, runs - first) }, async () => {
          const target = await startLatencyTarget({ port: 0, delayMs: 2 });
          const id = await startExperiment(
            target.port,
            { users: 3, duration_seconds: 1, interval_seconds: 0.02 },
            2,
          );
          return { id, target };
        }),
      );
      const results = [];
      for (const { id } of batch) results.push(await finished(id, 60_000));
      // Let any straggling (duplicate) runner show itself on the targets: >= 300 ms after each finished.
      await sleep(300);
      for (const [k, { target }] of batch.entries()) {
        const r = results[k]!;
        await target.close();
        expect(r.state).toBe('completed');
        expect(r.summary.interrupted).toBe(0);
        expect(r.segments.map((s) => [s.state, s.run_attempts])).toEqual([
          ['done', 1],
          ['done', 1],
        ]);
        // Two live workers: the segments of one experiment never share a process.
        expect(pidOf(r.segments[0]!.worker)).not.toBe(pidOf(r.segments[1]!.worker));
        expect(r.segments[0]!.requests + r.segments[1]!.requests).toBe(r.summary.requests);
        if (target.served !== r.summary.requests) differences++;
        counted += target.served;
        recorded += r.summary.requests;
      }
    }
    figures.runs = runs;
    figures.target_counted = counted;
    figures.recorded = recorded;
    figures.differences = differences;
    expect(differences).toBe(0);
    expect(recorded).toBe(counted);
  }, 600_000);

  it('a live worker takes over the segment of a worker killed with -9, from its stored position', async () => {
    workers.push(await startWorker('worker-3', env));
    // Let the third worker's heartbeat land, so it counts as free.
    await sleep(SWEEP_MS + 500);
    const target = await startLatencyTarget({ port: 0, delayMs: 2 });
    // Segment 1 must still be running when segment 0 is taken over (up to LEASE_MS + 2 * SWEEP_MS +
    // 3 s after the kill, which comes >= 3 s into the run), or its worker is free too and may take it.
    const durationS = bySize({ short: 26, full: 30 });
    const users = 4;
    const intervalMs = 50;
    const id = await startExperiment(
      target.port,
      { users, duration_seconds: durationS, interval_seconds: intervalMs / 1000 },
      2,
    );
    const running = await eventually(
      'both segments running',
      async () => {
        const r = await resultOf(id);
        return r.segments.every((s) => s.state === 'running') && r.summary.requests > 0 ? r : undefined;
      },
      30_000,
      100,
    );
    const [pid0, pid1] = running.segments.map((s) => pidOf(s.worker));
    expect(pid0).not.toBe(pid1);
    await sleep(3000);
    const victim = workers.find((w) => w.pid === pid0)!;
    expect(victim, `segment 0 runs in one of the workers ${workers.map((w) => w.pid)}`).toBeDefined();
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    const takenOver = await eventually(
      'segment 0 taken over',
      async () => {
        const r = await resultOf(id);
        const s0 = r.segments[0]!;
        return s0.run_attempts === 2 && s0.state !== 'pending' ? r : undefined;
      },
      LEASE_MS + SWEEP_MS + 15_000,
      100,
    );
    const takeoverMs = Date.now() - killedAt;
    const newPid = pidOf(takenOver.segments[0]!.worker);
    expect(newPid).not.toBe(pid0);
    // The free third worker took it: the survivors do not double up while one of them runs none.
    const story = workers
      .flatMap((w) =>
        w.output
          .split('\n')
          .filter((l) => l.includes(id) || l.includes('sweep'))
          .map((l) => `${w.name} (${w.pid}): ${l.slice(0, 400)}`),
      )
      .join('\n');
    expect(newPid, story).not.toBe(pid1);
    const r = await finished(id, durationS * 1000 + LEASE_MS + 30_000);
    await sleep(300);
    await target.close();
    expect(r.state).toBe('completed');
    // Segment 0 continued from its stored position: the experiment ran its whole duration, once.
    expect(r.summary.active_ms).toBe(durationS * 1000);
    expect(r.segments.map((s) => [s.state, s.run_attempts])).toEqual([
      ['done', 2],
      ['done', 1],
    ]);
    // Nothing counted twice; what the target answered and nobody recorded is at most the killed
    // worker's last unrecorded second (2 users, one request per >= 50 ms) plus its requests in flight.
    const lost = target.served - r.summary.requests;
    const bound = (users / 2) * (1000 / intervalMs + 2);
    figures.takeover_ms = takeoverMs;
    figures.takeover_target_counted = target.served;
    figures.takeover_recorded = r.summary.requests;
    figures.takeover_unrecorded_last_second = lost;
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(lost).toBeLessThanOrEqual(bound);
    // The lease lapses, the dead worker's heartbeat ages out (one lease, up to a sweep behind), and the
    // next sweep of a live worker claims the segment.
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_MS + 2 * SWEEP_MS + 3000);
  }, 300_000);
});
