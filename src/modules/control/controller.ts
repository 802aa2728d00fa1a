/**
 * The decision loop. `tick(at)` is one step: become or stay leader, read the two windows that end at the
 * aligned time t_k <= at from the database, decide, store, then send the command without waiting for it.
 * The timer loop only calls tick at every t_k; tests call tick directly with a fake clock.
 *
 * Missed decision times: when the loop runs late by more than an interval (a blocked process, a database
 * outage, no leader for a while) it decides only for the latest t_k: commands for times already past
 * would reach the manipulator after a newer one. The decision records how many times were skipped
 * (`missed`), and the status simply carried on through them, which is also what the manipulator did.
 */
import type { Logger } from '../../platform/logger';
import type { Clock } from '../../platform/module';
import { type CreateClient, createCommandLink } from './command-link';
import { decisionRecord, memoryAfter } from './decision-record';
import type { DecisionsStore } from './decisions.store';
import { detect } from './detectors';
import type { IngestService } from './ingest.service';
import type { Leadership } from './leadership';
import type { AckMode, DetectorConfig, SendResult, StoredDecision } from './model';
import type { ReadingsStore } from './readings.store';
import { currentWindowStart, decisionWindows } from './windows';

export interface ControllerOptions {
  intervalMs: number;
  detector: DetectorConfig;
  manipulator: { host: string; port: number; ack?: AckMode };
  /** Upper bound on one command's delivery (default 1000 ms). */
  sendTimeoutMs?: number;
  /** Longest wait for this process's in-flight readings of the closed window (default min(25 ms, I/20)). */
  settleTimeoutMs?: number;
  /** Readings older than this are deleted after each decision. */
  retentionMs: number;
}

export interface ControllerDeps {
  store: Pick<ReadingsStore, 'windowStats' | 'deleteReadingsBefore'> &
    Pick<DecisionsStore, 'lastDecision' | 'insertDecision' | 'recordDelivery'>;
  ingest: Pick<IngestService, 'waitForWritesBefore'>;
  leadership: Leadership;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** Extra upkeep after deleting old readings (PGlite has no autovacuum). */
  maintain?: () => Promise<void>;
  createClient?: CreateClient;
  onDecision?: (d: StoredDecision) => void;
  onDelivery?: (d: StoredDecision, result: SendResult) => void;
  onLeadership?: (leading: boolean) => void;
}

export type TickOutcome = 'decided' | 'follower' | 'already_decided' | 'failed' | 'stopped';

export interface TickResult {
  outcome: TickOutcome;
  decidedAt: Date;
  decision?: StoredDecision;
  /** Resolves when the command's delivery is known and recorded. */
  delivery?: Promise<SendResult>;
  error?: unknown;
}

/** PGlite upkeep cadence: a VACUUM of ten minutes of readings takes ~0.1-0.3 s, right after a decision. */
const MAINTAIN_EVERY_MS = 60 * 1000;

export function createController(deps: ControllerDeps, opts: ControllerOptions) {
  const { store, leadership, clock, logger } = deps;
  const I = opts.intervalMs;
  const sendTimeoutMs = opts.sendTimeoutMs ?? 1000;
  // Bounded so that an overloaded writer delays the decision by at most this much (goal: within 50 ms).
  const settleTimeoutMs = opts.settleTimeoutMs ?? Math.min(25, I / 20);

  const link = createCommandLink({
    store,
    logger,
    manipulator: opts.manipulator,
    sendTimeoutMs,
    createClient: deps.createClient,
    onDelivery: deps.onDelivery,
  });
  let wasLeader = false;
  let stopped = false;
  /** Ticks run one at a time, whoever calls them. */
  let chain: Promise<unknown> = Promise.resolve();
  const background = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | null = null;
  let loopRunning = false;
  let lastLoopTk = Number.NEGATIVE_INFINITY;
  let lastMaintainedAt = clock.now();

  const track = <T>(p: Promise<T>): Promise<T> => {
    background.add(p);
    void p.finally(() => background.delete(p)).catch(() => {});
    return p;
  };

  const setLeading = (leading: boolean) => {
    if (leading === wasLeader) return;
    wasLeader = leading;
    if (leading) {
      logger.info({ leaderId: leadership.id }, 'This process now runs the controller decision loop (leader)');
      link.open();
    } else {
      logger.warn({ leaderId: leadership.id }, 'This process is no longer the controller leader');
      void track(link.close());
    }
    deps.onLeadership?.(leading);
  };

  const cleanUp = (tk: number) => {
    const cutoff = new Date(tk - opts.retentionMs);
    void track(
      (async () => {
        try {
          await store.deleteReadingsBefore(cutoff);
          if (deps.maintain && clock.now() - lastMaintainedAt >= MAINTAIN_EVERY_MS) {
            lastMaintainedAt = clock.now();
            await deps.maintain();
          }
        } catch (err) {
          logger.warn({ err }, 'Could not delete old readings');
        }
      })(),
    );
  };

  async function step(atMs: number): Promise<TickResult> {
    const tk = currentWindowStart(atMs, I).getTime();
    const decidedAt = new Date(tk);
    if (stopped) return { outcome: 'stopped', decidedAt };
    const startedAt = clock.now();
    const leading = await leadership.acquire();
    setLeading(leading);
    if (!leading) return { outcome: 'follower', decidedAt };
    try {
      const session = leadership.session;
      // Where the time between t_k and made_at went (ms since t_k), for the debug log.
      const timings: Record<string, number> = { started: startedAt - tk, leading: clock.now() - tk };
      const last = await store.lastDecision(session);
      if (last && last.decidedAt.getTime() >= tk) return { outcome: 'already_decided', decidedAt };
      timings.last = clock.now() - tk;
      // Readings this process accepted before t_k may still be in the batch writer; let them land.
      await deps.ingest.waitForWritesBefore(tk, settleTimeoutMs);
      timings.settled = clock.now() - tk;
      const windows = decisionWindows(tk, I);
      const { prev, curr } = await store.windowStats(windows.prev, windows.curr, session);
      timings.stats = clock.now() - tk;
      const memory = memoryAfter(last);
      const missed = last ? Math.max(0, Math.round((tk - last.decidedAt.getTime()) / I) - 1) : 0;
      const decision = decisionRecord(detect(opts.detector, prev, curr, memory), {
        decidedAt,
        madeAt: new Date(clock.now()),
        prev,
        curr,
        memory,
        missed,
        leaderId: leadership.id,
        delivery: 'pending',
      });
      if (!(await store.insertDecision(decision, session))) return { outcome: 'already_decided', decidedAt };

      if (missed > 0) {
        logger.warn(
          { decidedAt, missed },
          `Decided for ${decidedAt.toISOString()} after ${missed} decision time(s) without a decision`,
        );
      }
      if (decision.changed) {
        logger.info(
          { decidedAt, reason: decision.reason, p: decision.p },
          `Changing status from '${decision.previousStatus}' to '${decision.status}'`,
        );
      } else {
        logger.debug({ decidedAt, reason: decision.reason, timings }, `Status stays '${decision.status}'`);
      }
      deps.onDecision?.(decision);
      const delivery = track(link.deliver(decision));
      cleanUp(tk);
      return { outcome: 'decided', decidedAt, decision, delivery };
    } catch (error) {
      // The session may be gone (and the lock with it): step down; the next tick competes again.
      logger.error(
        { err: error, decidedAt },
        'Controller decision failed; stepping down until the next tick',
      );
      leadership.lose();
      setLeading(false);
      return { outcome: 'failed', decidedAt, error };
    }
  }

  const scheduleNext = () => {
    if (!loopRunning) return;
    const now = clock.now();
    const due = currentWindowStart(now, I).getTime();
    // A t_k that passed while the previous tick ran is decided at once (as the latest one).
    const delay = due > lastLoopTk ? 0 : due + I - now;
    timer = setTimeout(() => {
      timer = null;
      const at = clock.now();
      lastLoopTk = currentWindowStart(at, I).getTime();
      void tick(at).finally(scheduleNext);
    }, delay);
  };

  function tick(atMs: number): Promise<TickResult> {
    const run = chain.then(() => step(atMs));
    chain = run.catch(() => {});
    return run;
  }

  return {
    tick,

    /** Starts the timer loop: a tick at every aligned t_k after now. */
    start(): void {
      if (loopRunning || stopped) return;
      loopRunning = true;
      lastLoopTk = currentWindowStart(clock.now(), I).getTime();
      scheduleNext();
    },

    get leaderId() {
      return leadership.id;
    },
    get isLeader() {
      return wasLeader && leadership.isLeader;
    },
    get manipulatorConnected() {
      return link.connected;
    },
    /** What the manipulator turned out to be (auto mode learns it from the first command). */
    get manipulatorPeer() {
      return link.peer;
    },
    get loopRunning() {
      return loopRunning;
    },

    /** Stops the loop, waits for the running tick and command deliveries, closes the link, unlocks. */
    async stop(): Promise<void> {
      stopped = true;
      loopRunning = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await chain;
      await Promise.allSettled([...background]);
      await link.close();
      await Promise.allSettled([...background]);
      await leadership.release();
      if (wasLeader) {
        wasLeader = false;
        deps.onLeadership?.(false);
      }
    },
  };
}

export type Controller = ReturnType<typeof createController>;
