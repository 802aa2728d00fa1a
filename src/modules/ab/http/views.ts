/** Maps the ab domain (camelCase, Date) to its wire shapes (snake_case, ISO 8601). */
import type { Static } from 'typebox';
import type { Experiment, Explanation } from '../model';
import { type ExperimentStats, formatShare, SRM_ALPHA, SRM_MIN_EXPECTED, srmVerdict } from '../sample-ratio';
import type { ExperimentSchema, ExplainSchema, StatsSchema } from './schemas';

export function experimentView(e: Experiment): Static<typeof ExperimentSchema> {
  return {
    name: e.name,
    status: e.stoppedAt ? 'stopped' : 'running',
    started_at: e.startedAt.toISOString(),
    stopped_at: e.stoppedAt?.toISOString() ?? null,
    version: e.version,
    deck_size: e.deckSize,
    options: e.values.map((value, i) => ({ value, weight: e.weights[i]! })),
  };
}

export function explanationView(e: Explanation): Static<typeof ExplainSchema> {
  return {
    known: e.known,
    first_seen_at: e.firstSeenAt?.toISOString() ?? null,
    experiments: e.experiments.map((x) => ({
      name: x.name,
      participating: x.participating,
      value: x.value,
      reason: x.reason,
      detail: x.detail,
      assignment: x.assignment,
    })),
  };
}

export function statisticsView(s: {
  generatedAt: Date;
  experiments: ExperimentStats[];
}): Static<typeof StatsSchema> {
  return {
    generated_at: s.generatedAt.toISOString(),
    srm_alpha: SRM_ALPHA,
    srm_min_expected: SRM_MIN_EXPECTED,
    experiments: s.experiments.map((x) => ({
      name: x.name,
      status: x.status,
      started_at: x.startedAt.toISOString(),
      stopped_at: x.stoppedAt?.toISOString() ?? null,
      version: x.version,
      devices: x.devices,
      options: x.options.map((o) => ({ ...o, percent: formatShare(o.share) })),
      srm: {
        chi_square: x.srm.chiSquare,
        df: x.srm.df,
        p_value: x.srm.pValue,
        testable: x.srm.testable,
        mismatch: x.srm.mismatch,
        ...srmVerdict(x),
      },
    })),
  };
}
