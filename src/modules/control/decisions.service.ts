/**
 * Reading what the controller did: stored decisions, the merged status history, and the state of the
 * loop. Works in every process (leader or not): it reads the database, not the loop's memory.
 */
import { invalidInput } from '../../platform/errors';
import type { Clock } from '../../platform/module';
import { INITIAL_STATUS } from './decision-record';
import type { DecisionsStore } from './decisions.store';
import { buildHistory } from './history';
import type {
  ControlSettings,
  ControlStatus,
  DecisionQuery,
  PeerKind,
  StatusPeriod,
  StoredDecision,
} from './model';
import { nextDecisionAt } from './windows';

export interface LoopView {
  readonly isLeader: boolean;
  readonly loopRunning: boolean;
  readonly manipulatorConnected: boolean;
  /** Null in a process that holds no manipulator link (not the leader). */
  readonly manipulatorPeer: PeerKind | null;
  currentLeader(): Promise<string | null>;
}

export interface ControlStatusView {
  status: ControlStatus;
  isLeader: boolean;
  leaderId: string | null;
  loopRunning: boolean;
  manipulatorConnected: boolean;
  manipulatorPeer: PeerKind | null;
  nextDecisionAt: Date;
  lastDecision: StoredDecision | null;
  settings: ControlSettings;
}

export interface DecisionsServiceDeps {
  store: Pick<DecisionsStore, 'listDecisions' | 'statusPoints' | 'lastDecision'>;
  clock: Clock;
  loop: LoopView;
  settings: ControlSettings;
}

function checkRange(after: Date | undefined, before: Date | undefined): void {
  if (after && before && after.getTime() > before.getTime()) {
    throw invalidInput(
      'after',
      `${after.toISOString()} is later than before (${before.toISOString()})`,
      'CONTROL_INVALID_RANGE',
    );
  }
}

export function createDecisionsService(deps: DecisionsServiceDeps) {
  const { store, clock } = deps;
  return {
    list(q: DecisionQuery): Promise<StoredDecision[]> {
      checkRange(q.after, q.before);
      return store.listDecisions(q);
    },

    /** Merged status periods overlapping [after, before], clipped to it; the open one ends at before or now. */
    async history(after: Date | undefined, before: Date | undefined): Promise<StatusPeriod[]> {
      checkRange(after, before);
      const now = new Date(clock.now());
      const end = before && before.getTime() < now.getTime() ? before : now;
      const points = await store.statusPoints(after, end);
      return buildHistory(points, { after, before, now });
    },

    async status(): Promise<ControlStatusView> {
      const [lastDecision, leaderId] = await Promise.all([store.lastDecision(), deps.loop.currentLeader()]);
      return {
        status: lastDecision?.status ?? INITIAL_STATUS,
        isLeader: deps.loop.isLeader,
        leaderId,
        loopRunning: deps.loop.loopRunning,
        manipulatorConnected: deps.loop.manipulatorConnected,
        manipulatorPeer: deps.loop.manipulatorPeer,
        nextDecisionAt: nextDecisionAt(clock.now(), deps.settings.intervalMs),
        lastDecision,
        settings: deps.settings,
      };
    },
  };
}

export type DecisionsService = ReturnType<typeof createDecisionsService>;
