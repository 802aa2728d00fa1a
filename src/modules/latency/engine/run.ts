import { LoadRun } from './load-run';
import type { LoadOptions, LoadResult } from './types';

/** Runs to the end (or until `signal` aborts, which stops the run) and returns the result. */
export function run(opts: LoadOptions, signal?: AbortSignal): Promise<LoadResult> {
  const r = new LoadRun(opts);
  if (signal) {
    if (signal.aborted) return r.stop();
    signal.addEventListener('abort', () => void r.stop(), { once: true });
  }
  return r.start();
}
