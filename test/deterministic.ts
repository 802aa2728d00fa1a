/** Deterministic time and randomness for tests, so a failing run replays exactly. */
import type { Clock } from '../src/platform/module';

export { mulberry32 } from '../src/stats/random';

/** A clock that moves only when the test says so. */
export interface FakeClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

export function fakeClock(startMs: number): FakeClock {
  let t = startMs;
  return {
    now: () => t,
    set(ms) {
      t = ms;
    },
    advance(ms) {
      t += ms;
    },
  };
}
