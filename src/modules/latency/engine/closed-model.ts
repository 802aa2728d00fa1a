import { performance } from 'node:perf_hooks';
import { Exchange, type ExchangeOwner } from './exchange';
import type { Http1Pool } from './http1';
import type { RunState } from './run-state';
import type { LoadStage } from './types';

/** Virtual users started in one turn of the event loop (LATENCY_MAX_USERS' default: one batch). */
export const START_BATCH = 1000;

/**
 * The closed model: each stage's `users` virtual users send one request at a time, waiting
 * `intervalSeconds` after each answer (none: the next request goes at once).
 */
export class ClosedModel {
  private users: Exchange[] = [];
  private parked: Exchange[] = [];

  constructor(
    private readonly s: RunState,
    private readonly stages: readonly LoadStage[],
    private readonly pool: Http1Pool,
    private readonly owner: ExchangeOwner,
  ) {}

  /**
   * Starts the current stage's virtual users, START_BATCH at a time with a turn of the event loop between
   * batches: tens of thousands started in one go (each opening its connection) would hold the process for
   * seconds, deaf to signals and timers. A batch left for a stage that has ended, or a run that is
   * finishing, is not started.
   */
  enterStage(stage: LoadStage): void {
    const users: Exchange[] = [];
    this.users = users;
    const generation = this.s.generation;
    const startFrom = (from: number) => {
      if (generation !== this.s.generation || this.s.finishing) return;
      const to = Math.min(stage.users, from + START_BATCH);
      for (let i = from; i < to; i++) {
        const u = new Exchange(this.owner);
        u.generation = generation;
        users.push(u);
        this.send(u);
      }
      if (to < stage.users) setImmediate(startFrom, to);
    };
    startFrom(0);
  }

  /** A virtual user's next request, unless its stage is over or the run is paused. */
  send(u: Exchange): void {
    if (u.generation !== this.s.generation || this.s.finishing) return;
    if (this.s.state === 'paused') {
      this.parked.push(u);
      return;
    }
    u.status = 0;
    u.stage = this.s.stageIndex;
    u.startedAt = performance.now();
    u.sentAt = u.startedAt;
    this.s.inFlight++;
    this.pool.dispatch(u);
  }

  /** A user's request ended: its next one, after the stage's interval. */
  next(u: Exchange, failed: boolean): void {
    if (u.generation !== this.s.generation || this.s.finishing) return;
    const intervalMs = this.stages[this.s.stageIndex]!.intervalSeconds * 1000;
    if (intervalMs > 0) {
      // One timer per user, re-armed with refresh(): no allocation per request.
      if (u.timer) u.timer.refresh();
      else u.timer = setTimeout(u.fire, intervalMs);
    } else if (failed) {
      // An error can be reported synchronously from dispatch(); never recurse into it.
      setImmediate(u.fire);
    } else {
      this.send(u);
    }
  }

  /** Users that woke while the run was paused send now. */
  resume(): void {
    const parked = this.parked;
    this.parked = [];
    for (const u of parked) this.send(u);
  }

  /** The stage or the run ends: sleeping users stay asleep, parked ones are forgotten. */
  stop(): void {
    for (const u of this.users) if (u.timer) clearTimeout(u.timer);
    this.parked = [];
  }
}
