/**
 * Keeps the runs of this process in line with the database while they run: polls their rows every
 * `pollMs` and applies what users asked through the API, from any process (pause, resume, stop); renews
 * their leases every `leaseMs / 5`, and stops a run itself when it could not for 0.6 × leaseMs.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../../platform/logger';
import type { ExperimentState } from '../model';
import type { Position, RunsStore } from '../runs.store';
import { type ActiveRun, positionOf, type StopReason } from './active-run';

export interface SupervisionDeps {
  runs: Pick<RunsStore, 'states' | 'renew'>;
  logger: Logger;
  owner: string;
  options: { leaseMs: number; pollMs: number };
  /** The runs this process executes now, by key. */
  active: ReadonlyMap<string, ActiveRun>;
  lose: (run: ActiveRun) => void;
  stopEngine: (run: ActiveRun, reason: StopReason) => void;
  savePosition: (run: ActiveRun, p: Position) => void;
}

export function createSupervision(deps: SupervisionDeps) {
  const { runs, logger, owner, options, active, lose, stopEngine } = deps;
  let pollTimer: NodeJS.Timeout | null = null;
  let renewTimer: NodeJS.Timeout | null = null;
  let polling = false;

  function apply(run: ActiveRun, state: ExperimentState): void {
    if (run.reason !== null) return;
    const engine = run.engine;
    if (state === 'paused' && engine.state === 'running') {
      engine.pause();
      if (run.settings.model !== 'capacity') deps.savePosition(run, positionOf(engine.progress()));
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

  function arm(): void {
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

  function clear(): void {
    if (pollTimer) clearTimeout(pollTimer);
    if (renewTimer) clearInterval(renewTimer);
    pollTimer = null;
    renewTimer = null;
  }

  return { poll, arm, clear };
}
