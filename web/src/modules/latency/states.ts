/**
 * Which control a state allows, for experiments and groups alike: the server's transition graph
 * (TRANSITIONS in src/modules/latency/model.ts), so a button is enabled only when the action cannot be
 * a 409 for its state.
 */
import type { State } from './types';

export type Action = 'start' | 'pause' | 'stop';

const ALLOWED_FROM: Record<Action, readonly State[]> = {
  start: ['created', 'paused'],
  pause: ['running'],
  stop: ['created', 'running', 'paused'],
};

export const canManage = (state: State | undefined, action: Action): boolean =>
  state !== undefined && ALLOWED_FROM[action].includes(state);
