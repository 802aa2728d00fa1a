/**
 * Keeps median indexes current in processes that do background work (serve, worker): every
 * `intervalMs`, the devices whose index misses readings are brought up to date, one transaction each
 * (devices' advisory locks keep two processes off the same device). Answers never wait for it: a
 * reading the index does not hold yet is read raw (median.query.ts), so the lag costs time, not
 * exactness. Finding those devices scans the rollups (one row per device and hour), so the next run
 * waits at least ten times as long as the last scan took: the search stays under a tenth of a core
 * however many devices and hours there are.
 */
import type { Logger } from '../../platform/logger';
import type { MedianIndex } from './median.index';

export function createMedianIndexer(deps: { index: MedianIndex; logger: Logger; intervalMs: number }) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopping = false;
  let scanMs = 0;

  async function runOnce(): Promise<number> {
    let readings = 0;
    const t0 = performance.now();
    const stale = await deps.index.staleDevices();
    scanMs = performance.now() - t0;
    for (const id of stale) {
      if (stopping) break;
      readings += await deps.index.update(id);
      // Let requests in between devices (on PGlite a run can otherwise proceed in microtasks alone).
      await new Promise((resolve) => setImmediate(resolve));
    }
    return readings;
  }

  function schedule() {
    if (stopping) return;
    timer = setTimeout(
      () => {
        running = runOnce()
          .then(() => undefined)
          .catch((err) => deps.logger.error({ err }, 'devices median index update failed'))
          .finally(() => {
            running = null;
            schedule();
          });
      },
      Math.max(deps.intervalMs, 10 * scanMs),
    );
    timer.unref();
  }

  return {
    runOnce,
    start(): void {
      stopping = false;
      schedule();
    },
    async stop(): Promise<void> {
      stopping = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
