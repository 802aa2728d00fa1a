/**
 * Executes experiment runs in background processes (`serve`, `worker`), exactly once across them.
 *
 * Starting an experiment sends a pg-boss job (`latency-run`, one queued job per experiment). The worker
 * that receives it claims the run's lease on the experiment row (runs.store.ts) and runs the load engine
 * in this process; the job ends as soon as the claim is decided, so one process can run many experiments
 * at once (a pg-boss worker handles one job at a time). Exactly once: only the lease holder runs, and
 * every write it makes is conditional on still holding the lease; a retried or duplicate job finds the
 * lease taken and does nothing.
 *
 * While running, the runner:
 *  - polls the rows of its runs every `pollMs` (100 ms) and applies what users asked through the API,
 *    from any process: pause (takes effect at once in the engine), resume, stop;
 *  - renews its leases every `leaseMs / 5`, and stops a run itself when it could not for 0.6 × leaseMs;
 *  - writes every second the engine reports (series row, raw records up to the cap, cumulative summary
 *    and histogram, and the position: profile index + active ms spent in it) in one short transaction.
 * On shutdown it stops its runs, writes their position and releases the leases. Every `sweepMs` each
 * background process re-enqueues `running` experiments nobody holds (released at a shutdown, or whose
 * runner died and let the lease lapse); the next claim resumes them from the stored position.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Jobs } from '../../platform/jobs';
import type { Logger } from '../../platform/logger';
import { encodeHistogram } from '../../stats/histogram';
import type { TargetGuard } from './allowlist';
import { type LoadProgress, type LoadResult, LoadRun, type SecondBucket } from './engine';
import type { Experiment, ExperimentSettings, ExperimentState, RawResult } from './model';
import type { Cumulative, Position, RunEnd, RunsStore } from './runs.store';
import { loadOptionsOf } from './settings';
import { activeMsAt, addSecond, summarize, type Totals, totalsOf } from './summary';

export const RUN_JOB = 'latency-run';

export interface RunnerOptions {
  /** A run whose lease is not renewed for this long is taken over by another process. */
  leaseMs: number;
  /** How often a runner reads the state of its runs (pause/stop latency across processes). */
  pollMs: number;
  /** How often background processes look for runs nobody holds. */
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

/** Why this process stopped the engine, when it was not the profiles running out. */
type StopReason = 'stopped' | 'released' | 'lost';

interface ActiveRun {
  id: string;
  settings: ExperimentSettings;
  engine: LoadRun;
  totals: Totals;
  /** Raw records this run may still keep (the cap minus what is stored). */
  rawRoom: number;
  raw: RawResult[];
  reason: StopReason | null;
  /** When the last successful claim or renewal was sent (performance.now()). */
  renewedAt: number;
  writes: Promise<void>;
  done: Promise<void>;
}

export function createRunner(deps: RunnerDeps) {
  const { runs, logger, options } = deps;
  const owner = `${hostname().slice(0, 40)}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const active = new Map<string, ActiveRun>();
  let stopping = false;
  let pollTimer: NodeJS.Timeout | null = null;
  let renewTimer: NodeJS.Timeout | null = null;
  let sweepTimer: NodeJS.Timeout | null = null;
  let polling = false;

  deps.jobs.define<{ experiment_id: string }>({
    name: RUN_JOB,
    // 'short': at most one queued job per experiment (the singleton key), however often it is requested.
    policy: 'short',
    retryLimit: 3,
    expireInSeconds: 60,
    handler: async ({ experiment_id }) => ({ claimed: await claim(experiment_id), owner }),
  });

  const enqueue = (run: ActiveRun, write: () => Promise<unknown>) => {
    run.writes = run.writes.then(write).then(
      () => undefined,
      (err) => logger.error({ err, experiment: run.id }, 'latency run: a write failed'),
    );
  };

  const positionOf = (p: Pick<LoadProgress, 'stageIndex' | 'elapsedInStageMs'>): Position => ({
    profileIndex: p.stageIndex,
    progressMs: p.elapsedInStageMs,
  });

  function cumulative(run: ActiveRun, p: Position): Cumulative {
    const activeMs = activeMsAt(run.settings.load_profiles, p.profileIndex, p.progressMs);
    return {
      ...p,
      summary: summarize(run.totals, activeMs, run.settings.thresholds),
      histogram: encodeHistogram(run.totals.histogram),
      rawHistogram: run.totals.rawHistogram ? encodeHistogram(run.totals.rawHistogram) : null,
    };
  }

  /** Everything is captured when the engine reports the second; the write itself may run later. */
  function onSecond(run: ActiveRun, b: SecondBucket): void {
    deps.onSecond?.(b);
    if (run.reason === 'lost') return;
    addSecond(run.totals, b);
    const raw = run.raw.splice(0);
    run.rawRoom -= raw.length;
    const totals = cumulative(run, positionOf(b));
    const point = {
      ts: new Date(b.timestamp),
      durationMs: b.durationMs,
      profileIndex: b.stageIndex,
      elapsedInProfileMs: b.elapsedInStageMs,
      requests: b.requests,
      successes: b.successes,
      failures: b.failures,
      late: b.late,
      dropped: b.dropped,
      statusCodes: b.statusCodes,
      failuresByKind: b.failuresByKind,
      latency: b.latency,
      rawLatency: b.rawLatency,
      histogram: encodeHistogram(b.histogram),
      rawHistogram: b.rawHistogram ? encodeHistogram(b.rawHistogram) : null,
    };
    enqueue(run, async () => {
      if (!(await runs.recordSecond(run.id, owner, totals, point, raw))) lose(run);
    });
  }

  function onEnd(run: ActiveRun, result: LoadResult, finished: () => void): void {
    const end: RunEnd | null =
      run.reason === 'lost'
        ? null
        : run.reason === null
          ? result.summary.state === 'completed'
            ? 'completed'
            : 'released'
          : run.reason;
    if (end) {
      const totals = cumulative(run, positionOf(result.summary.progress));
      enqueue(run, () => runs.finish(run.id, owner, end, totals));
    }
    run.writes.then(() => {
      active.delete(run.id);
      if (active.size === 0) clearRunTimers();
      logger.info(
        { experiment: run.id, end: end ?? 'lost', requests: run.totals.requests },
        'latency run ended',
      );
      finished();
    });
  }

  function begin(e: Experiment, claimedAt: number): void {
    const open = e.settings.model === 'arrival-rate';
    let finished!: () => void;
    const run: ActiveRun = {
      id: e.id,
      settings: e.settings,
      engine: null as unknown as LoadRun,
      totals: totalsOf(e.summary, e.histogram, e.rawHistogram, open),
      rawRoom: Math.max(0, options.rawCap - e.rawResultsCount),
      raw: [],
      reason: null,
      renewedAt: claimedAt,
      writes: Promise.resolve(),
      done: new Promise<void>((resolve) => {
        finished = resolve;
      }),
    };
    run.engine = new LoadRun({
      ...loadOptionsOf(e.settings),
      lookup: deps.guard.lookup,
      startAt: { stageIndex: e.currentProfileIndex, elapsedMs: e.progressMs },
      onResult: (r) => {
        if (run.raw.length < run.rawRoom) run.raw.push(r);
      },
    });
    run.engine.on('second', (b) => onSecond(run, b));
    // A new profile shows in current_profile_index at once, not at the next second.
    run.engine.on('stage', (index) => {
      if (index === e.currentProfileIndex || run.reason === 'lost') return;
      const p = { profileIndex: index, progressMs: 0 };
      enqueue(run, () => runs.savePosition(run.id, owner, p));
    });
    run.engine.on('end', (result) => onEnd(run, result, finished));
    active.set(e.id, run);
    logger.info(
      { experiment: e.id, owner, profile: e.currentProfileIndex, progressMs: e.progressMs },
      'latency run claimed',
    );
    void run.engine.start();
    armRunTimers();
  }

  async function claim(id: string): Promise<boolean> {
    if (stopping || active.has(id)) return false;
    const claimedAt = performance.now();
    const e = await runs.claim(id, owner, options.leaseMs);
    if (!e) return false;
    if (stopping) {
      // This process began shutting down while claiming: leave the run to another one.
      await runs.finish(id, owner, 'released', null);
      return false;
    }
    try {
      begin(e, claimedAt);
    } catch (err) {
      // Settings the engine refuses (they were checked at creation) would fail on every retry.
      logger.error({ err, experiment: id }, 'latency run could not start; the experiment is stopped');
      await runs.finish(id, owner, 'abandoned', null);
      return false;
    }
    return true;
  }

  function lose(run: ActiveRun): void {
    if (run.reason === 'lost') return;
    logger.warn({ experiment: run.id, owner }, 'latency run: lease lost; another process owns it now');
    run.reason = 'lost';
    void run.engine.stop();
  }

  function stopEngine(run: ActiveRun, reason: StopReason): void {
    if (run.reason !== null) return;
    run.reason = reason;
    void run.engine.stop();
  }

  function apply(run: ActiveRun, state: ExperimentState): void {
    if (run.reason !== null) return;
    const engine = run.engine;
    if (state === 'paused' && engine.state === 'running') {
      engine.pause();
      const p = positionOf(engine.progress());
      enqueue(run, () => runs.savePosition(run.id, owner, p));
    } else if (state === 'running' && engine.state === 'paused') {
      engine.resume();
    } else if (state !== 'running' && state !== 'paused') {
      stopEngine(run, 'stopped');
    }
  }

  async function poll(): Promise<void> {
    if (polling || active.size === 0) return;
    polling = true;
    try {
      const states = await runs.states([...active.keys()]);
      for (const run of active.values()) {
        // A run already ending writes conditionally on its lease; its release must not look like a loss.
        if (run.reason !== null) continue;
        const s = states.get(run.id);
        if (!s || s.leaseOwner !== owner) lose(run);
        else apply(run, s.state);
      }
    } catch (err) {
      logger.warn({ err }, 'latency runner: could not read the state of its runs');
    } finally {
      polling = false;
    }
  }

  async function renew(): Promise<void> {
    const ids = [...active.values()].filter((r) => r.reason !== 'lost').map((r) => r.id);
    const sentAt = performance.now();
    try {
      const held = await runs.renew(ids, owner, options.leaseMs);
      for (const id of ids) {
        const run = active.get(id);
        if (!run) continue;
        if (held.has(id)) run.renewedAt = sentAt;
        else if (run.reason === null) lose(run);
      }
    } catch (err) {
      logger.warn({ err }, 'latency runner: could not renew its leases');
    }
  }

  /**
   * Cut off from the database (renewals failing or hanging), this process cannot know whether another
   * one took over: it stops a run well before the lease can have lapsed, so no run executes twice at
   * once. Runs without touching the database, so a hanging query cannot delay it.
   */
  function fence(): void {
    const now = performance.now();
    for (const run of active.values()) {
      if (run.reason === null && now - run.renewedAt > options.leaseMs * 0.6) lose(run);
    }
  }

  function armRunTimers(): void {
    if (!pollTimer) {
      const tick = () => {
        void poll().finally(() => {
          if (pollTimer) pollTimer = setTimeout(tick, options.pollMs);
        });
      };
      pollTimer = setTimeout(tick, options.pollMs);
    }
    renewTimer ??= setInterval(
      () => {
        fence();
        void renew();
      },
      Math.max(100, options.leaseMs / 5),
    );
  }

  function clearRunTimers(): void {
    if (pollTimer) clearTimeout(pollTimer);
    if (renewTimer) clearInterval(renewTimer);
    pollTimer = null;
    renewTimer = null;
  }

  async function sweep(): Promise<void> {
    try {
      for (const id of await runs.orphans(50)) if (!active.has(id)) await request(id);
    } catch (err) {
      logger.warn({ err }, 'latency runner: the sweep for unowned runs failed');
    }
  }

  /** Asks the background workers to run (or resume) an experiment; at most one queued job each. */
  async function request(id: string): Promise<void> {
    await deps.jobs.send(RUN_JOB, { experiment_id: id }, { singletonKey: id });
  }

  return {
    owner,
    request,
    /** Applies a state change made in this process at once, without waiting for the next poll. */
    nudge(id: string): void {
      if (active.has(id)) void poll();
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
      clearRunTimers();
    },
    /** Runs this process executes now. */
    activeCount(): number {
      return active.size;
    },
    /** Live numbers of a run this process holds (null elsewhere). */
    localProgress(id: string): LoadProgress | null {
      return active.get(id)?.engine.progress() ?? null;
    },
  };
}

export type Runner = ReturnType<typeof createRunner>;
