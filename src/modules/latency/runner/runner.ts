/**
 * Executes experiment runs in background processes (`serve`, `worker`), exactly once across them.
 *
 * An experiment runs as `settings.segments` segments (default 1), each a share of its load. Starting it
 * sends one pg-boss job per segment (`latency-run`, one queued job per segment). The worker that
 * receives one claims that segment's lease (runs.store.ts) and runs the load engine in this process
 * (segment.ts); the job ends as soon as the claim is decided, so one process can run many segments at
 * once (a pg-boss worker handles one job at a time). A process that already runs a segment of the
 * experiment leaves the next to a live worker that runs none of it. Exactly once: only the lease holder
 * runs, and every write it makes is conditional on still holding the lease; a retried or duplicate job
 * finds the lease taken and does nothing.
 *
 * While running, the runner:
 *  - polls the rows of its runs every `pollMs` (100 ms) and applies what users asked through the API,
 *    from any process: pause (takes effect at once in the engine), resume, stop (supervision.ts);
 *  - renews its leases every `leaseMs / 5`, and stops a run itself when it could not for 0.6 × leaseMs;
 *  - writes every second the engine reports (recording.ts: series row, raw records up to the cap,
 *    cumulative summary and histogram, and the position) in one short transaction.
 * On shutdown it stops its runs, writes their position and releases the leases. Every `sweepMs` each
 * background process says it is alive and claims segments of `running` experiments nobody holds
 * (released at a shutdown, or whose runner died and let the lease lapse), resuming each from its stored
 * position.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Jobs } from '../../../platform/jobs';
import type { Logger } from '../../../platform/logger';
import type { TargetGuard } from '../allowlist';
import type { LoadProgress, SecondBucket } from '../engine';
import type { ClaimedSegment, RunsStore, SegmentRef } from '../runs.store';
import { segmentCountOf } from '../settings';
import { type ActiveRun, keyOf, type StopReason } from './active-run';
import { createRecording } from './recording';
import { createSegmentRun } from './segment';
import { createSupervision } from './supervision';

export const RUN_JOB = 'latency-run';

export interface RunnerOptions {
  /** A segment whose lease is not renewed for this long is taken over by another process. */
  leaseMs: number;
  /** How often a runner reads the state of its runs (pause/stop latency across processes). */
  pollMs: number;
  /** How often background processes look for segments nobody holds (and say they are alive). */
  sweepMs: number;
  /** Raw per-request records kept per experiment. */
  rawCap: number;
}

export const DEFAULT_RUNNER_OPTIONS: Omit<RunnerOptions, 'rawCap'> = {
  leaseMs: 10_000,
  pollMs: 100,
  sweepMs: 2_000,
};

export interface RunnerDeps {
  runs: RunsStore;
  jobs: Pick<Jobs, 'define' | 'send'>;
  guard: Pick<TargetGuard, 'lookup'>;
  logger: Logger;
  options: RunnerOptions;
  onSecond?: (bucket: SecondBucket) => void;
}

export function createRunner(deps: RunnerDeps) {
  const { runs, logger, options } = deps;
  const owner = `${hostname().slice(0, 40)}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const active = new Map<string, ActiveRun>();
  /**
   * A worker whose heartbeat (every sweep) is older than this no longer counts as free to take a
   * segment. One lease: a worker stalled a few seconds still counts, and a dead one stops counting about
   * when its leases lapse.
   */
  const aliveWithinMs = options.leaseMs;
  let stopping = false;
  let sweepTimer: NodeJS.Timeout | null = null;

  deps.jobs.define<{ experiment_id: string; segment?: number }>({
    name: RUN_JOB,
    // 'short': at most one queued job per segment (the singleton key), however often it is requested.
    policy: 'short',
    retryLimit: 3,
    expireInSeconds: 60,
    handler: async ({ experiment_id, segment }) => ({
      claimed: await claim({ id: experiment_id, segment: segment ?? 0 }),
      owner,
    }),
  });

  const supervision = createSupervision({
    runs,
    logger,
    owner,
    options,
    active,
    lose,
    stopEngine,
    savePosition: (run, p) => recording.savePosition(run, p),
  });
  const recording = createRecording({
    runs,
    logger,
    owner,
    rawCap: options.rawCap,
    onSecond: deps.onSecond,
    lose,
    ended(run, end) {
      active.delete(run.key);
      if (active.size === 0) supervision.clear();
      logger.info(
        { experiment: run.id, segment: run.segment, end: end ?? 'lost', requests: run.totals.requests },
        'latency run ended',
      );
      run.finished();
    },
  });

  function begin(c: ClaimedSegment, claimedAt: number): void {
    const run = createSegmentRun(c, claimedAt, {
      runs,
      guard: deps.guard,
      logger,
      owner,
      rawCap: options.rawCap,
      recording,
      lose,
    });
    active.set(run.key, run);
    logger.info(
      {
        experiment: run.id,
        segment: c.segment,
        segments: segmentCountOf(run.settings),
        owner,
        profile: c.position.profileIndex,
        progressMs: c.position.progressMs,
        startInMs: Math.round(c.startInMs),
      },
      'latency run claimed',
    );
    // Segments of one experiment start at one shared time (stored with the experiment), so their
    // profiles change together; a segment resumed later starts at once.
    const start = () => {
      run.startTimer = null;
      if (run.reason === null && run.engine.state === 'idle') void run.engine.start();
    };
    if (c.startInMs > 0) run.startTimer = setTimeout(start, c.startInMs);
    else start();
    supervision.arm();
  }

  async function claim(ref: SegmentRef): Promise<boolean> {
    if (stopping || active.has(keyOf(ref))) return false;
    const claimedAt = performance.now();
    const c = await runs.claim(ref.id, ref.segment, owner, options.leaseMs, aliveWithinMs);
    if (!c) return false;
    if (stopping) {
      // This process began shutting down while claiming: leave the run to another one.
      await runs.finish(ref, owner, 'released', null, null);
      return false;
    }
    try {
      begin(c, claimedAt);
    } catch (err) {
      // Settings the engine refuses (they were checked at creation) would fail on every retry.
      logger.error({ err, experiment: ref.id }, 'latency run could not start; the experiment is stopped');
      await runs.finish(ref, owner, 'abandoned', null, null);
      return false;
    }
    return true;
  }

  function lose(run: ActiveRun): void {
    if (run.reason === 'lost') return;
    logger.warn(
      { experiment: run.id, segment: run.segment, owner },
      'latency run: lease lost; another process owns it now',
    );
    run.reason = 'lost';
    if (run.startTimer) clearTimeout(run.startTimer);
    void run.engine.stop();
  }

  function stopEngine(run: ActiveRun, reason: StopReason): void {
    if (run.reason !== null) return;
    run.reason = reason;
    if (run.startTimer) clearTimeout(run.startTimer);
    void run.engine.stop();
  }

  /** Says this process is alive, then claims segments nobody runs (released, or their runner died). */
  async function sweep(): Promise<void> {
    try {
      await runs.heartbeat(owner);
      for (const ref of await runs.orphans(50)) if (!active.has(keyOf(ref))) await claim(ref);
    } catch (err) {
      logger.warn({ err }, 'latency runner: the sweep for unowned runs failed');
    }
  }

  /** Asks the background workers to run (or resume) every segment; at most one queued job each. */
  async function request(id: string, segments = 1): Promise<void> {
    for (let segment = 0; segment < segments; segment++) {
      await deps.jobs.send(RUN_JOB, { experiment_id: id, segment }, { singletonKey: `${id}:${segment}` });
    }
  }

  return {
    owner,
    request,
    /** Applies a state change made in this process at once, without waiting for the next poll. */
    nudge(id: string): void {
      for (const run of active.values()) {
        if (run.id === id) {
          void supervision.poll();
          return;
        }
      }
    },
    /** Background processes: resume what nobody runs now, then keep looking. */
    async start(): Promise<void> {
      await sweep();
      sweepTimer = setInterval(() => void sweep(), options.sweepMs);
    },
    /** Stops every local run, records where each is, and releases the leases. */
    async stop(): Promise<void> {
      stopping = true;
      if (sweepTimer) clearInterval(sweepTimer);
      sweepTimer = null;
      const runsNow = [...active.values()];
      for (const run of runsNow) stopEngine(run, 'released');
      await Promise.all(runsNow.map((r) => r.done));
      supervision.clear();
      await runs.heartbeat(owner, true).catch(() => undefined);
    },
    /** Runs (segments) this process executes now. */
    activeCount(): number {
      return active.size;
    },
    /** Live numbers of the segments of an experiment this process holds (empty elsewhere). */
    localProgress(id: string): LoadProgress[] {
      return [...active.values()].filter((r) => r.id === id).map((r) => r.engine.progress());
    },
  };
}

export type Runner = ReturnType<typeof createRunner>;
