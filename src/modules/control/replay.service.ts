/**
 * Replay: the decisions a detector would have made on the stored readings of a period, next to the ones
 * the live controller made. It runs the live loop's own code (detect() and memoryAfter()) on the same
 * aligned windows, so a replay of the live detector reproduces the live decisions. The live loop is not
 * touched: replay only reads, a page of windows per query (sized to about PAGE_ROWS readings), yielding
 * between pages so that ingest batches interleave with it on the single PGlite connection.
 */
import type { Clock } from '../../platform/module';
import { decisionRecord, memoryAfter } from './decision-record';
import type { DecisionsStore } from './decisions.store';
import { type DetectorMemory, detect } from './detectors';
import { buildHistory } from './history';
import type {
  ControlStatus,
  DetectorConfig,
  StatusPeriod,
  StatusPoint,
  StoredDecision,
  WindowStats,
} from './model';
import type { ReadingsStore, SlotStats } from './readings.store';
import { replayPeriod, stationaryDecisionTimes } from './replay-period';

export interface ReplayRequest {
  from: Date;
  to: Date;
  detector: DetectorConfig;
  /** A sub-period known to have no real change: switches there are false switches. */
  stationary?: { from: Date; to: Date };
}

export interface StationaryCount {
  from: Date;
  to: Date;
  /** Decisions whose two windows both lie inside the stationary period. */
  decisions: number;
  switches: number;
  /** switches / decisions. */
  falseSwitchRate: number;
}

export interface ReplaySummary {
  decisions: number;
  switches: number;
  /** Seconds in each status over [from, to] (the status before the first decision counts from `from`). */
  upSeconds: number;
  downSeconds: number;
  /**
   * Time with no status: before the live controller's first decision; in a replay that no live decision
   * precedes, before the first decision whose windows hold readings.
   */
  unknownSeconds: number;
  timeline: StatusPeriod[];
  stationary: StationaryCount | null;
}

export interface ReplayResult {
  from: Date;
  to: Date;
  intervalMs: number;
  detector: DetectorConfig;
  /** The status the replay started from: the live status in force at `from` (down before any decision). */
  startStatus: ControlStatus;
  decisions: StoredDecision[];
  replay: ReplaySummary;
  live: ReplaySummary;
}

export interface ReplayServiceDeps {
  store: Pick<ReadingsStore, 'slotStats'> & Pick<DecisionsStore, 'decisionBefore' | 'listDecisions'>;
  clock: Clock;
  intervalMs: number;
  retentionMs: number;
  /** Most decision times one replay may cover. */
  maxDecisions: number;
}

/** Readings per page query: ~20 ms on PGlite (measured, see README), so ingest waits about that long. */
const PAGE_ROWS = 20_000;
// Small first page: the readings per window are not known yet (8 x 300/s over 5 s is 12 000).
const FIRST_PAGE_WINDOWS = 2;
const MAX_PAGE_WINDOWS = 720;

export function createReplayService(deps: ReplayServiceDeps) {
  const { store, clock, intervalMs: I } = deps;

  /** Window statistics of slots [fromSlot, toSlot), page by page; yields after each page. */
  async function* windows(fromSlot: number, toSlot: number): AsyncGenerator<SlotStats[]> {
    let size = FIRST_PAGE_WINDOWS;
    for (let start = fromSlot; start < toSlot; ) {
      const end = Math.min(toSlot, start + size);
      const page = await store.slotStats(start, end, I);
      yield page;
      const rows = page.reduce((s, w) => s + w.n, 0);
      const perWindow = rows / (end - start);
      size = Math.max(1, Math.min(MAX_PAGE_WINDOWS, Math.floor(PAGE_ROWS / Math.max(1, perWindow))));
      start = end;
      await new Promise((r) => setImmediate(r));
    }
  }

  function summarise(
    from: Date,
    to: Date,
    start: StatusPoint | null,
    decisions: readonly StoredDecision[],
    stationary: ReplayRequest['stationary'],
    first: number,
    last: number,
    /** Decisions before this index leave the status unknown (no status to keep yet). */
    knownFrom = 0,
  ): ReplaySummary {
    const points: StatusPoint[] = start ? [start] : [];
    for (const d of decisions.slice(knownFrom)) points.push({ at: d.decidedAt, status: d.status });
    const timeline = buildHistory(points, { after: from, before: to, now: to });
    const seconds = (status: ControlStatus) =>
      timeline
        .filter((p) => p.status === status)
        .reduce((s, p) => s + (p.to.getTime() - p.from.getTime()) / 1000, 0);
    const upSeconds = seconds('up');
    const downSeconds = seconds('down');
    let stationaryCount: StationaryCount | null = null;
    if (stationary) {
      const times = new Set(stationaryDecisionTimes(stationary, first, last, I));
      const inside = decisions.filter((d) => times.has(d.decidedAt.getTime()));
      const switches = inside.filter((d) => d.changed).length;
      stationaryCount = {
        ...stationary,
        decisions: inside.length,
        switches,
        falseSwitchRate: inside.length > 0 ? switches / inside.length : 0,
      };
    }
    return {
      decisions: decisions.length,
      switches: decisions.filter((d) => d.changed).length,
      upSeconds,
      downSeconds,
      unknownSeconds: Math.max(0, (to.getTime() - from.getTime()) / 1000 - upSeconds - downSeconds),
      timeline,
      stationary: stationaryCount,
    };
  }

  return {
    async replay(req: ReplayRequest): Promise<ReplayResult> {
      const { first, last, to } = replayPeriod(req, {
        now: clock.now(),
        intervalMs: I,
        retentionMs: deps.retentionMs,
        maxDecisions: deps.maxDecisions,
      });
      const liveBefore = await store.decisionBefore(new Date(first));
      // The live status and dwell count at the start; a CUSUM starts afresh (its baseline from the first
      // decision's previous window), so the replay does not depend on what the live detector was.
      let memory: DetectorMemory = { ...memoryAfter(liveBefore), cusum: null };
      const startStatus = memory.status;
      const decisions: StoredDecision[] = [];

      // Decision t needs slots t/I - 2 and t/I - 1.
      const empty = (slot: number): WindowStats => ({
        n: 0,
        mean: Number.NaN,
        std: Number.NaN,
        start: new Date(slot * I),
        end: new Date((slot + 1) * I),
      });
      const firstSlot = first / I - 2;
      const endSlot = last / I; // exclusive
      let prev = empty(firstSlot);
      let expected = firstSlot;
      const decideAt = (curr: WindowStats) => {
        const d = decisionRecord(detect(req.detector, prev, curr, memory), {
          decidedAt: curr.end,
          madeAt: curr.end,
          prev,
          curr,
          memory,
          missed: 0,
          leaderId: 'replay',
          delivery: 'not_sent',
        });
        decisions.push(d);
        memory = memoryAfter(d);
      };
      const advance = (w: WindowStats) => {
        if (expected > firstSlot) decideAt(w);
        prev = w;
        expected++;
      };
      for await (const page of windows(firstSlot, endSlot)) {
        for (const s of page) {
          while (expected < s.slot) advance(empty(expected));
          advance({
            n: s.n,
            mean: s.mean,
            std: s.std,
            start: new Date(s.slot * I),
            end: new Date((s.slot + 1) * I),
          });
        }
      }
      while (expected < endSlot) advance(empty(expected));

      const live = await store.listDecisions({
        after: new Date(first - 1),
        before: new Date(last + 1),
        limit: deps.maxDecisions,
        order: 'asc',
      });
      const startPoint = (d: StoredDecision | null): StatusPoint | null =>
        d ? { at: req.from, status: d.status } : null;
      // With no live decision before the period, the replay has no status to keep until its windows hold
      // readings: a period before the first reading is unknown, as it is for the live controller, not
      // the initial status held since `from`.
      const knownFrom = liveBefore
        ? 0
        : (() => {
            const i = decisions.findIndex((d) => d.prev.n > 0 || d.curr.n > 0);
            return i < 0 ? decisions.length : i;
          })();
      return {
        from: req.from,
        to,
        intervalMs: I,
        detector: req.detector,
        startStatus,
        decisions,
        replay: summarise(
          req.from,
          to,
          liveBefore ? { at: req.from, status: startStatus } : null,
          decisions,
          req.stationary,
          first,
          last,
          knownFrom,
        ),
        live: summarise(req.from, to, startPoint(liveBefore), live, req.stationary, first, last),
      };
    },
  };
}

export type ReplayService = ReturnType<typeof createReplayService>;
