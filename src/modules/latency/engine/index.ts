/**
 * The load engine's public entry points (README.md): `LoadRun` / `run()` for a staged run,
 * `measureOnce()` for one request, `evaluateThresholds()` for pass/fail limits.
 */

export { addCounters } from './bucket';
export {
  LoadOptionsError,
  /** @public `start()` called twice; nothing in telelab does. */
  LoadStateError,
} from './errors';
export { LoadRun } from './load-run';
export { measureOnce } from './measure';
export { run } from './run';
export { evaluateThresholds } from './thresholds';
export {
  /** @public The counter name of a transport error (`failuresByKind`). */
  errorKind,
  resolveTarget,
} from './transport';
export * from './types';
