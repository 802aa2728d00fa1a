import type { LoadState } from './types';

/** The state a run shares with its scheduler (closed-model.ts, open-model.ts); LoadRun owns it. */
export interface RunState {
  state: LoadState;
  /** The run is ending: nothing new is sent. */
  finishing: boolean;
  stageIndex: number;
  /** Active ms of the current stage before the current running segment began. */
  stageActiveBefore: number;
  /** When (performance.now()) the current running segment began. */
  segmentStart: number;
  /** Bumped at every stage start: a virtual user of an earlier stage sends nothing more. */
  generation: number;
  /** Requests sent and not yet ended. */
  inFlight: number;
}

export const initialRunState = (): RunState => ({
  state: 'idle',
  finishing: false,
  stageIndex: 0,
  stageActiveBefore: 0,
  segmentStart: 0,
  generation: 0,
  inFlight: 0,
});
