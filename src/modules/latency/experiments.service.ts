/**
 * Experiments: create (checked against the allowlist and the caps), read, change state, live stats,
 * and the single measurement of `/test-latency`. Runs themselves happen in the runner (runner/runner.ts);
 * this service only moves states and asks the background workers to run.
 */
import { randomUUID } from 'node:crypto';
import { conflict, notFound, unprocessable } from '../../platform/errors';
import type { Clock } from '../../platform/module';
import type { TargetGuard } from './allowlist';
import { LoadOptionsError, measureOnce, type RequestResult, resolveTarget } from './engine';
import type { ExperimentsStore } from './experiments.store';
import { type ExperimentStats, experimentStats } from './live-stats';
import {
  type Action,
  type Experiment,
  type ExperimentSettings,
  type ExperimentSpec,
  type Page,
  type RawResult,
  type Segment,
  type SeriesPoint,
  TRANSITIONS,
} from './model';
import type { Runner } from './runner/runner';
import { mergeSeries } from './series-merge';
import { type Caps, DEFAULT_PATH, segmentCountOf, settingsFromSpec } from './settings';
import { emptySummary } from './summary';

export interface ExperimentsServiceDeps {
  experiments: ExperimentsStore;
  guard: Pick<TargetGuard, 'check' | 'lookup'>;
  caps: Caps;
  runner: Pick<Runner, 'request' | 'nudge'>;
  clock: Clock;
  /** How far ahead the shared start of several segments is set; default SEGMENTS_START_DELAY_MS. */
  segmentsStartDelayMs?: number | undefined;
}

export interface ExperimentResult {
  experiment: Experiment;
  series: SeriesPoint[];
  results: RawResult[];
  segments: Segment[];
}

/**
 * How far ahead the shared start of an experiment of several segments is set when it starts: time for
 * each worker to claim its segment (a job pick-up, or the next sweep of a worker that runs none).
 */
export const SEGMENTS_START_DELAY_MS = 3000;

export const TEST_LATENCY_TIMEOUT_MS = 10_000;

export const experimentNotFound = (id: string) =>
  notFound('LATENCY_EXPERIMENT_NOT_FOUND', `experiment_id: no experiment '${id}'`);

export function createExperimentsService(deps: ExperimentsServiceDeps) {
  const { experiments: store, guard, caps, runner } = deps;
  const startDelayMs = deps.segmentsStartDelayMs ?? SEGMENTS_START_DELAY_MS;

  async function get(id: string): Promise<Experiment> {
    const e = await store.get(id);
    if (!e) throw experimentNotFound(id);
    return e;
  }

  /** Defaults, checks and caps (`at` prefixes the field names, e.g. inside a group). */
  async function prepare(spec: ExperimentSpec, at = ''): Promise<ExperimentSettings> {
    const settings = settingsFromSpec(spec, caps, at);
    await guard.check(settings.host, `${at}host`);
    return settings;
  }

  /**
   * Applies `action` to an experiment in a known state. Null when it is not allowed from that state or
   * the state changed meanwhile (the caller decides whether that is a 409).
   */
  async function transition(e: Experiment, action: Action): Promise<Experiment | null> {
    const to = TRANSITIONS[action][e.state];
    if (!to) return null;
    // The allowlist may have changed since the experiment was created.
    if (to === 'running') await guard.check(e.settings.host);
    const segments = segmentCountOf(e.settings);
    const out = await store.transition(e.id, e.state, to, segments > 1 ? startDelayMs : 0);
    if (!out) return null;
    // Runners that hold segments (e.g. paused in them) see the new state at their next poll; ask the
    // background workers for the others (a job for a segment that is held does nothing).
    if (to === 'running' && (!out.leased || segments > 1)) await runner.request(e.id, segments);
    runner.nudge(e.id);
    return out.experiment;
  }

  return {
    get,
    prepare,
    transition,

    async create(spec: ExperimentSpec): Promise<Experiment> {
      const settings = await prepare(spec);
      return store.insert({ id: randomUUID(), name: spec.name, settings, summary: emptySummary() });
    },

    list(limit: number, offset: number): Promise<Page<Experiment>> {
      return store.list(limit, offset);
    },

    async result(id: string, page: { limit: number; offset: number }): Promise<ExperimentResult> {
      const experiment = await get(id);
      const [series, results, segments] = await Promise.all([
        segmentCountOf(experiment.settings) > 1
          ? store.segmentPoints(id).then((points) => mergeSeries(points, experiment.runStartAt))
          : store.series(id),
        store.results(id, page.limit, page.offset),
        store.segments(id),
      ]);
      return { experiment, series, results, segments };
    },

    /** start | pause | stop; 404 unknown id, 409 when the state does not allow it. */
    async manage(id: string, action: Action): Promise<Experiment> {
      // A concurrent change between the read and the conditional update: read again and decide anew.
      for (let attempt = 0; attempt < 3; attempt++) {
        const e = await get(id);
        if (!TRANSITIONS[action][e.state]) {
          throw conflict(
            'LATENCY_TRANSITION_NOT_ALLOWED',
            `state: cannot ${action} an experiment that is ${e.state}`,
          );
        }
        const moved = await transition(e, action);
        if (moved) return moved;
      }
      throw conflict(
        'LATENCY_TRANSITION_NOT_ALLOWED',
        'state: the experiment changed concurrently; try again',
      );
    },

    /** Series points after `afterSecond`, oldest first, a bounded page at a time (for the stream). */
    seriesAfter(id: string, afterSecond: number): Promise<SeriesPoint[]> {
      return store.series(id, afterSecond, 600);
    },

    /** Live stats of one experiment, with the experiment and its segments. */
    async stats(
      id: string,
    ): Promise<{ experiment: Experiment; stats: ExperimentStats; segments: Segment[] }> {
      const e = await get(id);
      const [last, segments] = await Promise.all([store.lastSeconds([id]), store.segments(id)]);
      return { experiment: e, stats: experimentStats(e, last.get(id) ?? null), segments };
    },

    /** One request to host:port (the original API's `/test-latency`); refused targets throw 403. */
    async testLatency(q: {
      host: string;
      port: number;
      path?: string;
      scheme?: 'http' | 'https';
    }): Promise<RequestResult> {
      const target = { host: q.host, port: q.port, path: q.path ?? DEFAULT_PATH, scheme: q.scheme ?? 'http' };
      try {
        resolveTarget(target);
      } catch (e) {
        if (e instanceof LoadOptionsError)
          throw unprocessable('LATENCY_INVALID_SETTINGS', `path: ${e.message}`);
        throw e;
      }
      await guard.check(q.host);
      return measureOnce(target, TEST_LATENCY_TIMEOUT_MS, { lookup: guard.lookup });
    },
  };
}

export type ExperimentsService = ReturnType<typeof createExperimentsService>;
