/**
 * What a running segment writes: every second the engine reports (series row, raw records up to the
 * cap, cumulative summary and histogram, and the position) in one short transaction, the position when
 * a profile changes or the run pauses, and the end. Writes are queued per run, in order, and every one
 * is conditional on the run's lease (runs.store.ts).
 */
import type { Logger } from '../../../platform/logger';
import { encodeHistogram } from '../../../stats/histogram';
import type { SecondBucket } from '../engine';
import type { CapacityRecord } from '../model';
import type { Cumulative, Position, RunEnd, RunsStore } from '../runs.store';
import { activeMsAt, addSecond, experimentMerge, summarize } from '../summary';
import { type ActiveRun, positionOf } from './active-run';

export interface RecordingDeps {
  runs: RunsStore;
  logger: Logger;
  /** The lease holder's name. */
  owner: string;
  /** Raw per-request records kept per experiment. */
  rawCap: number;
  onSecond?: (bucket: SecondBucket) => void;
  /** A write found the lease gone: stop the run. */
  lose: (run: ActiveRun) => void;
  /** The run's last write has ended (the runner forgets it). */
  ended: (run: ActiveRun, end: RunEnd | null) => void;
}

export function createRecording(deps: RecordingDeps) {
  const { runs, logger, owner } = deps;

  const enqueue = (run: ActiveRun, write: () => Promise<unknown>) => {
    run.writes = run.writes.then(write).then(
      () => undefined,
      (err) => logger.error({ err, experiment: run.id, segment: run.segment }, 'latency run: a write failed'),
    );
  };

  function cumulative(run: ActiveRun, p: Position): Cumulative {
    const activeMs = activeMsAt(run.settings.load_profiles, p.profileIndex, p.progressMs);
    return {
      ...p,
      summary: summarize(run.totals, activeMs, null),
      histogram: encodeHistogram(run.totals.histogram),
      rawHistogram: run.totals.rawHistogram ? encodeHistogram(run.totals.rawHistogram) : null,
    };
  }

  /** Everything is captured when the engine reports the second; the write itself may run later. */
  function onSecond(run: ActiveRun, b: SecondBucket): void {
    deps.onSecond?.(b);
    if (run.reason === 'lost') {
      run.unrecorded += b.requests;
      return;
    }
    addSecond(run.totals, b);
    const raw = run.raw.splice(0);
    run.rawRoom -= raw.length;
    // The run's position now; the point is labelled with the profile its requests were sent in.
    const position = positionOf(run.engine.progress());
    const totals = cumulative(run, position);
    const merge = experimentMerge(run.settings, b, position);
    const point = {
      ts: new Date(b.timestamp),
      durationMs: b.durationMs,
      profileIndex: b.stageIndex,
      elapsedInProfileMs: b.elapsedInStageMs,
      requests: b.requests,
      successes: b.successes,
      failures: b.failures,
      late: b.late,
      dropped: b.dropped,
      statusCodes: b.statusCodes,
      failuresByKind: b.failuresByKind,
      latency: b.latency,
      rawLatency: b.rawLatency,
      histogram: encodeHistogram(b.histogram),
      rawHistogram: b.rawHistogram ? encodeHistogram(b.rawHistogram) : null,
    };
    enqueue(run, async () => {
      if (await runs.recordSecond(run, owner, totals, merge, point, raw, deps.rawCap)) return;
      run.unrecorded += point.requests;
      deps.lose(run);
    });
  }

  function savePosition(run: ActiveRun, p: Position): void {
    enqueue(run, () => runs.savePosition(run, owner, p, experimentMerge(run.settings, null, p)));
  }

  /**
   * `p`: the load engine's last position (null for a capacity search, which stores its steps itself,
   * `capacity` its final record when it ended or a user stopped it).
   */
  function onEnd(run: ActiveRun, completed: boolean, p: Position | null, capacity?: CapacityRecord): void {
    const end: RunEnd | null =
      run.reason === 'lost'
        ? null
        : run.reason === null
          ? completed
            ? 'completed'
            : 'released'
          : run.reason;
    if (end) {
      if (capacity && (end === 'completed' || end === 'stopped'))
        enqueue(run, () => runs.saveCapacity(run.id, owner, capacity));
      const totals = p ? cumulative(run, p) : null;
      const merge = p ? experimentMerge(run.settings, null, p) : null;
      enqueue(run, () => runs.finish(run, owner, end, totals, merge));
    } else {
      enqueue(run, async () => {
        if (run.unrecorded === 0) return;
        logger.warn(
          { experiment: run.id, segment: run.segment, owner, requests: run.unrecorded },
          'latency run: requests answered after the lease was lost are counted as interrupted',
        );
        await runs.addInterrupted(run.id, run.unrecorded);
      });
    }
    run.writes.then(() => deps.ended(run, end));
  }

  return { onSecond, savePosition, onEnd };
}

export type Recording = ReturnType<typeof createRecording>;
