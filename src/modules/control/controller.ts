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
import type { ControlStore, StoredDecision } from './control.store';
import type { ControlStatus } from './decider';
import { type DetectorConfig, type DetectorMemory, detect } from './detectors';
import type { IngestService } from './ingest.service';
import type { Leadership } from './leadership';
import type { ControlLogger } from './manipulator';
import { type AckMode, ManipulatorClient, type SendResult } from './manipulator-client';
import { currentWindowStart, decisionWindows, formatTaskDatetime } from './windows';

export const INITIAL_STATUS: ControlStatus = 'down';

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
  store: ControlStore;
  ingest: Pick<IngestService, 'waitForWritesBefore'>;
  leadership: Leadership;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** Extra upkeep after deleting old readings (PGlite has no autovacuum). */
  maintain?: () => Promise<void>;
  createClient?: (opts: {
    host: string;
    port: number;
    ack: AckMode;
    logger: ControlLogger;
  }) => ManipulatorClient;
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

/** What a decision leaves for the next one (the status, the dwell count, a CUSUM's sums and baseline). */
export function memoryAfter(last: StoredDecision | null): DetectorMemory {
  return {
    status: last?.status ?? INITIAL_STATUS,
    sinceChange: last?.sinceChange ?? undefined,
    cusum: last?.detector === 'cusum' ? last.cusum : null,
  };
}

export function createController(deps: ControllerDeps, opts: ControllerOptions) {
  const { store, leadership, clock, logger } = deps;
  const I = opts.intervalMs;
  const sendTimeoutMs = opts.sendTimeoutMs ?? 1000;
  // Bounded so that an overloaded writer delays the decision by at most this much (goal: within 50 ms).
  const settleTimeoutMs = opts.settleTimeoutMs ?? Math.min(25, I / 20);

  let client: ManipulatorClient | null = null;
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

  const openClient = () => {
    const { host, port } = opts.manipulator;
    const ack = opts.manipulator.ack ?? 'auto';
    const clientLogger: ControlLogger = {
      info: (obj, msg) => logger.info(obj, msg),
      warn: (obj, msg) => logger.warn(obj, msg),
    };
    client = deps.createClient
      ? deps.createClient({ host, port, ack, logger: clientLogger })
      : new ManipulatorClient({ host, port, ack, logger: clientLogger, timeoutMs: sendTimeoutMs });
    client.start();
  };

  const closeClient = async () => {
    const c = client;
    client = null;
    await c?.close();
  };

  const setLeading = (leading: boolean) => {
    if (leading === wasLeader) return;
    wasLeader = leading;
    if (leading) {
      logger.info({ leaderId: leadership.id }, 'This process now runs the controller decision loop (leader)');
      openClient();
    } else {
      logger.warn({ leaderId: leadership.id }, 'This process is no longer the controller leader');
      void track(closeClient());
    }
    deps.onLeadership?.(leading);
  };

  const deliver = (d: StoredDecision): Promise<SendResult> => {
    const command = { datetime: formatTaskDatetime(d.decidedAt), status: d.status };
    const sending = client
      ? client.send(command, { timeoutMs: sendTimeoutMs })
      : Promise.resolve<SendResult>({
          delivered: false,
          outcome: 'failed',
          error: 'no manipulator connection',
        });
    return track(
      sending.then(async (result) => {
        d.delivered = result.delivered;
        d.delivery = result.outcome;
        d.deliveryError = result.error ?? null;
        if (!result.delivered) {
          logger.debug({ decidedAt: d.decidedAt, error: result.error }, 'Command not delivered');
        }
        try {
          await store.recordDelivery(d.decidedAt, result.outcome, result.error ?? null);
        } catch (err) {
          logger.warn({ err, decidedAt: d.decidedAt }, 'Could not record the delivery of a command');
        }
        deps.onDelivery?.(d, result);
        return result;
      }),
    );
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
      const previousStatus = last?.status ?? INITIAL_STATUS;
      const result = detect(opts.detector, prev, curr, memoryAfter(last));
      const missed = last ? Math.max(0, Math.round((tk - last.decidedAt.getTime()) / I) - 1) : 0;
      const decision: StoredDecision = {
        decidedAt,
        madeAt: new Date(clock.now()),
        prev,
        curr,
        t: result.t,
        df: result.df,
        p: result.p,
        previousStatus,
        status: result.status,
        changed: result.changed,
        reason: result.reason,
        detail: result.detail,
        sinceChange: result.changed ? 0 : last?.sinceChange == null ? null : last.sinceChange + 1,
        missed,
        delivered: null,
        delivery: 'pending',
        deliveryError: null,
        leaderId: leadership.id,
        detector: result.detector,
        cusum: result.cusum,
      };
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
          `Changing status from '${previousStatus}' to '${decision.status}'`,
        );
      } else {
        logger.debug({ decidedAt, reason: decision.reason, timings }, `Status stays '${decision.status}'`);
      }
      deps.onDecision?.(decision);
      const delivery = deliver(decision);
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
      return client?.connected ?? false;
    },
    /** What the manipulator turned out to be (auto mode learns it from the first command). */
    get manipulatorPeer() {
      return client?.peer ?? null;
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
      await closeClient();
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
