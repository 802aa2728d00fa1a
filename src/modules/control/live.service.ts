/**
 * Live events for the dashboard, shared by every open stream of this process: decisions (pushed by the
 * leader the moment they are stored, and found by polling on the other processes), delivery outcomes,
 * and once a second the running statistics of the window being filled and the one before it.
 * The poller runs only while someone listens.
 */
import type { Logger } from '../../platform/logger';
import type { Clock } from '../../platform/module';
import type { DecisionsStore } from './decisions.store';
import type { StoredDecision, WindowStats } from './model';
import type { ReadingsStore } from './readings.store';
import { currentWindowStart } from './windows';

export type LiveEvent =
  | { type: 'decision'; decision: StoredDecision }
  | { type: 'delivery'; decision: StoredDecision }
  | { type: 'live'; at: Date; current: WindowStats; previous: WindowStats };

export type LiveListener = (event: LiveEvent) => void;

export interface LiveHubDeps {
  store: Pick<ReadingsStore, 'windowStats'> & Pick<DecisionsStore, 'listDecisions' | 'lastDecision'>;
  clock: Clock;
  logger: Pick<Logger, 'warn'>;
  intervalMs: number;
  pollMs?: number;
}

export function createLiveHub(deps: LiveHubDeps) {
  const { store, clock, intervalMs: I } = deps;
  const listeners = new Set<LiveListener>();
  let timer: NodeJS.Timeout | null = null;
  let polling = false;
  /** decided_at (ms) of the newest decision sent to listeners. */
  let lastSentMs = Number.NEGATIVE_INFINITY;

  const emit = (event: LiveEvent) => {
    for (const l of listeners) l(event);
  };

  const publishDecision = (d: StoredDecision) => {
    if (d.decidedAt.getTime() <= lastSentMs) return;
    lastSentMs = d.decidedAt.getTime();
    emit({ type: 'decision', decision: d });
  };

  const poll = async () => {
    if (polling) return; // a slow database must not pile up queries
    polling = true;
    try {
      const now = clock.now();
      const start = currentWindowStart(now, I).getTime();
      const { prev, curr } = await store.windowStats(
        { start: new Date(start - I), end: new Date(start) },
        { start: new Date(start), end: new Date(start + I) },
      );
      emit({ type: 'live', at: new Date(now), current: curr, previous: prev });
      // Decisions made by a leader in another process.
      const known = Number.isFinite(lastSentMs);
      const fresh = await store.listDecisions({
        after: known ? new Date(lastSentMs) : undefined,
        limit: known ? 10 : 1,
        order: known ? 'asc' : 'desc',
      });
      for (const d of fresh.sort((a, b) => a.decidedAt.getTime() - b.decidedAt.getTime())) publishDecision(d);
    } catch (err) {
      deps.logger.warn({ err }, 'Live control statistics failed');
    } finally {
      polling = false;
    }
  };

  return {
    /** Adds a listener; it gets the latest decision soon after, then everything new. Returns the remover. */
    subscribe(listener: LiveListener): () => void {
      listeners.add(listener);
      void store.lastDecision().then(
        (d) => {
          if (!d) return;
          lastSentMs = Math.max(lastSentMs, d.decidedAt.getTime());
          if (listeners.has(listener)) listener({ type: 'decision', decision: d });
        },
        () => {},
      );
      if (!timer) {
        timer = setInterval(() => void poll(), deps.pollMs ?? 1000);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
      };
    },
    publishDecision,
    publishDelivery(d: StoredDecision): void {
      emit({ type: 'delivery', decision: d });
    },
    get listeners() {
      return listeners.size;
    },
    stop(): void {
      listeners.clear();
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

export type LiveHub = ReturnType<typeof createLiveHub>;
