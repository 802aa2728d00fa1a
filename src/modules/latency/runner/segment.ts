/**
 * Builds the run of a claimed segment: its engine (the load engine on the segment's share of the
 * profiles, resumed at the stored position, or a capacity search) wired to the recording.
 */

import type { Logger } from '../../../platform/logger';
import type { TargetGuard } from '../allowlist';
import { CapacityRun } from '../capacity.run';
import { LoadRun } from '../engine';
import type { ClaimedSegment, RunsStore } from '../runs.store';
import { segmentProfiles } from '../segments';
import { loadOptionsOf, segmentCountOf } from '../settings';
import { emptySummary, totalsOf } from '../summary';
import { type ActiveRun, keyOf, positionOf } from './active-run';
import type { Recording } from './recording';

export interface SegmentDeps {
  runs: Pick<RunsStore, 'saveCapacity'>;
  guard: Pick<TargetGuard, 'lookup'>;
  logger: Logger;
  owner: string;
  rawCap: number;
  recording: Recording;
  lose: (run: ActiveRun) => void;
}

/** The run of a claimed segment, its engine wired but not started (throws on settings it refuses). */
export function createSegmentRun(c: ClaimedSegment, claimedAt: number, deps: SegmentDeps): ActiveRun {
  const { recording } = deps;
  const e = c.experiment;
  const settings = e.settings;
  const open = settings.model === 'arrival-rate';
  let finished!: () => void;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const run: ActiveRun = {
    id: e.id,
    segment: c.segment,
    key: keyOf({ id: e.id, segment: c.segment }),
    settings,
    engine: null as unknown as LoadRun,
    totals: totalsOf(c.totals.summary ?? emptySummary(), c.totals.histogram, c.totals.rawHistogram, open),
    rawRoom: Math.max(0, deps.rawCap - c.rawResultsCount),
    raw: [],
    reason: null,
    unrecorded: 0,
    renewedAt: claimedAt,
    startTimer: null,
    writes: Promise.resolve(),
    finished,
    done,
  };
  if (settings.model === 'capacity') {
    run.engine = new CapacityRun({
      settings,
      record: e.capacity,
      lookup: deps.guard.lookup,
      save: (record) => deps.runs.saveCapacity(run.id, deps.owner, record),
      onLost: () => deps.lose(run),
      onEnd: (ended, final, error) => {
        if (error) {
          deps.logger.error({ err: error, experiment: e.id }, 'capacity search could not run; stopped');
          run.reason ??= 'abandoned';
        }
        recording.onEnd(run, ended, null, final);
      },
    });
  } else {
    const profiles = segmentProfiles(
      settings.load_profiles,
      settings.model,
      segmentCountOf(settings),
      c.segment,
    );
    const engine = new LoadRun({
      ...loadOptionsOf({ ...settings, load_profiles: profiles }),
      lookup: deps.guard.lookup,
      startAt: { stageIndex: c.position.profileIndex, elapsedMs: c.position.progressMs },
      onResult: (r) => {
        if (run.raw.length < run.rawRoom) run.raw.push(r);
      },
    });
    run.engine = engine;
    engine.on('second', (b) => recording.onSecond(run, b));
    // A new profile shows in current_profile_index at once, not at the next second.
    engine.on('stage', (index) => {
      if (index === c.position.profileIndex || run.reason === 'lost') return;
      recording.savePosition(run, { profileIndex: index, progressMs: 0 });
    });
    engine.on('end', (result) =>
      recording.onEnd(run, result.summary.state === 'completed', positionOf(result.summary.progress)),
    );
  }
  return run;
}
