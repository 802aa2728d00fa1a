/**
 * Executes experiment runs in background processes (`serve`, `worker`), exactly once across them.
 *
 * An experiment runs as `settings.segments` segments (default 1), each a share of its load. Starting it
 * sends one pg-boss job per segment (`latency-run`, one queued job per segment). The worker that
 * receives one claims that segment's lease (runs.store.ts) and runs the load engine in this process; the
 * job ends as soon as the claim is decided, so one process can run many segments at once (a pg-boss
 * worker handles one job at a time). A process that already runs a segment of the experiment leaves
 * the next to a live worker that runs none of it. Exactly once: only the lease holder runs, and every
 * write it makes is conditional on still holding the lease; a retried or duplicate job finds the lease
 * taken and does nothing.
 *
 * While running, the runner:
 *  - polls the rows of its runs every `pollMs` (100 ms) and applies what users asked through the API,
 *    from any process: pause (takes effect at once in the engine), resume, stop;
 *  - renews its leases every `leaseMs / 5`, and stops a run itself when it could not for 0.6 × leaseMs;
 *  - writes every second the engine reports (series row, raw records up to the cap, cumulative summary
 *    and histogram, and the position: profile index + active ms spent in it) in one short transaction.
 * On shutdown it stops its runs, writes their position and releases the leases. Every `sweepMs` each
 * background process says it is alive and claims segments of `running` experiments nobody holds
 * (released at a shutdown, or whose runner died and let the lease lapse), resuming each from its stored
 * position.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Jobs } from '../../platform/jobs';
import type { Logger } from '../../platform/logger';
import { encodeHistogram } from '../../stats/histogram';
import type { TargetGuard } from './allowlist';
import { type LoadProgress, type LoadResult, LoadRun, type SecondBucket } from './engine';
import type { ExperimentSettings, ExperimentState, RawResult } from './model';
import type { ClaimedSegment, Cumulative, Position, RunEnd, RunsStore, SegmentRef } from './runs.store';
import { segmentProfiles } from './segments';
import { loadOptionsOf, segmentCountOf } from './settings';
import {
  activeMsAt,
  addSecond,
  emptySummary,
  experimentMerge,
  summarize,
  type Totals,
  totalsOf,
} from './summary';

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

/** Why this process stopped the engine, when it was not the profiles running out. */
type StopReason = 'stopped' | 'released' | 'lost';

interface ActiveRun extends SegmentRef {
  key: string;
  settings: ExperimentSettings;
  engine: LoadRun;
  /** This segment's own cumulative numbers (the experiment's merge lives in the database). */
  totals: Totals;
  /** Raw records this run may still keep (the cap minus what was stored when it was claimed). */
  rawRoom: number;
  raw: RawResult[];
  reason: StopReason | null;
  /** Requests that ended after the lease was lost (or in a second whose write found it lost). */
  unrecorded: number;
  /** When the last successful claim or renewal was sent (performance.now()). */
  renewedAt: number;
  startTimer: NodeJS.Timeout | null;
  writes: Promise<void>;
  done: Promise<void>;
}

const keyOf = (r: SegmentRef) => `${r.id}:${r.segment}`;

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
  let pollTimer: NodeJS.Timeout | null = null;
  let renewTimer: NodeJS.Timeout | null = null;
  let sweepTimer: NodeJS.Timeout | null = null;
  let polling = false;

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

  const enqueue = (run: ActiveRun, write: () => Promise<unknown>) => {
    run.writes = run.writes.then(write).then(
      () => undefined,
      (err) => logger.error({ err, experiment: run.id, segment: run.segment }, 'latency run: a write failed'),
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
      summary: summarize(run.totals, activeMs, null),
      histogram: encodeHistogram(run.totals.histogram),
      rawHistogram: run.totals.rawHistogram ? encodeHistogram(run.totals.rawHistogram) : null,
    };
  }

  /** Everything is captured when the engine reports the second; the write itself may run later. */
  function onSecond(run: ActiveRun, b: SecondBucket): void {
    deps.onSecond?.(b);
    if (run.reason === 'lost') {
      run.unrecorded += b.requests;
      return;
    }
    addSecond(run.totals, b);
    const raw = run.raw.splice(0);
    run.rawRoom -= raw.length;
    // The run's position now; the point is labelled with the profile its requests were sent in.
    const position = positionOf(run.engine.progress());
    const totals = cumulative(run, position);
    const merge = experimentMerge(run.settings, b, position);
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
      if (await runs.recordSecond(run, owner, totals, merge, point, raw, options.rawCap)) return;
      run.unrecorded += point.requests;
      lose(run);
    });
  }

  function savePosition(run: ActiveRun, p: Position): void {
    enqueue(run, () => runs.savePosition(run, owner, p, experimentMerge(run.settings, null, p)));
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
      const p = positionOf(result.summary.progress);
      const totals = cumulative(run, p);
      enqueue(run, () => runs.finish(run, owner, end, totals, experimentMerge(run.settings, null, p)));
    } else {
      enqueue(run, async () => {
        if (run.unrecorded === 0) return;
        logger.warn(
          { experiment: run.id, segment: run.segment, owner, requests: run.unrecorded },
          'latency run: requests answered after the lease was lost are counted as interrupted',
        );
        await runs.addInterrupted(run.id, run.unrecorded);
      });
    }
    run.writes.then(() => {
      active.delete(run.key);
      if (active.size === 0) clearRunTimers();
      logger.info(
        { experiment: run.id, segment: run.segment, end: end ?? 'lost', requests: run.totals.requests },
        'latency run ended',
      );
      finished();
    });
  }

  function begin(c: ClaimedSegment, claimedAt: number): void {
    const e = c.experiment;
    const settings = e.settings;
    const count = segmentCountOf(settings);
    const open = settings.model === 'arrival-rate';
    const profiles = segmentProfiles(settings.load_profiles, settings.model, count, c.segment);
    let finished!: () => void;
    const run: ActiveRun = {
      id: e.id,
      segment: c.segment,
      key: keyOf({ id: e.id, segment: c.segment }),
      settings,
      engine: null as unknown as LoadRun,
      totals: totalsOf(c.totals.summary ?? emptySummary(), c.totals.histogram, c.totals.rawHistogram, open),
      rawRoom: Math.max(0, options.rawCap - c.rawResultsCount),
      raw: [],
      reason: null,
      unrecorded: 0,
      renewedAt: claimedAt,
      startTimer: null,
      writes: Promise.resolve(),
      done: new Promise<void>((resolve) => {
        finished = resolve;
      }),
    };
    run.engine = new LoadRun({
      ...loadOptionsOf({ ...settings, load_profiles: profiles }),
      lookup: deps.guard.lookup,
      startAt: { stageIndex: c.position.profileIndex, elapsedMs: c.position.progressMs },
      onResult: (r) => {
        if (run.raw.length < run.rawRoom) run.raw.push(r);
      },
    });
    run.engine.on('second', (b) => onSecond(run, b));
    // A new profile shows in current_profile_index at once, not at the next second.
    run.engine.on('stage', (index) => {
      if (index === c.position.profileIndex || run.reason === 'lost') return;
      savePosition(run, { profileIndex: index, progressMs: 0 });
    });
    run.engine.on('end', (result) => onEnd(run, result, finished));
    active.set(run.key, run);
    logger.info(
      {
        experiment: e.id,
        segment: c.segment,
        segments: count,
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
    armRunTimers();
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

  function apply(run: ActiveRun, state: ExperimentState): void {
    if (run.reason !== null) return;
    const engine = run.engine;
    if (state === 'paused' && engine.state === 'running') {
      engine.pause();
      savePosition(run, positionOf(engine.progress()));
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
      // Judge only the runs this read asked about: one claimed while it was under way is not in its
      // answer, and reading that absence as a lost lease stopped fresh runs 27 ms after their claim.
      const polled = [...active.values()];
      const states = await runs.states(polled);
      for (const run of polled) {
        // A run already ending writes conditionally on its lease; its release must not look like a loss.
        if (run.reason !== null || active.get(run.key) !== run) continue;
        const s = states.get(run.key);
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
    const asked = [...active.values()].filter((r) => r.reason !== 'lost');
    const sentAt = performance.now();
    try {
      const held = await runs.renew(asked, owner, options.leaseMs);
      for (const run of asked) {
        if (active.get(run.key) !== run) continue;
        if (held.has(run.key)) run.renewedAt = sentAt;
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
          void poll();
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
      clearRunTimers();
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
