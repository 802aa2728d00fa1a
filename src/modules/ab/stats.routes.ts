/** The seed's statistics page (HTML) and the same numbers as JSON, with the SRM check. */
import { Type } from 'typebox';
import type { App } from '../../platform/http';
import { problemResponses } from '../../platform/http';
import type { ExperimentsStore } from './experiments.store';
import { StatsSchema } from './schemas';
import {
  type ExperimentStats,
  experimentStats,
  formatShare,
  SRM_ALPHA,
  SRM_MIN_EXPECTED,
  srmVerdict,
} from './stats';
import { renderStatsPage, STATS_PAGE_CSP } from './stats.page';

/** As the seed's nginx kept the page: one minute. */
export const STATS_CACHE_CONTROL = 'public, max-age=60';

async function collect(store: ExperimentsStore): Promise<ExperimentStats[]> {
  const [experiments, versions, counts] = await Promise.all([store.list(), store.versions(), store.counts()]);
  return experiments.map((e) => experimentStats(e, versions, counts));
}

export function registerStatsRoutes(app: App, store: ExperimentsStore, now: () => Date): void {
  app.get(
    '/pages/experiment-stats',
    {
      schema: {
        operationId: 'abStatsPage',
        tags: ['ab'],
        summary: 'Statistics page: devices per experiment and option (HTML)',
        response: {
          200: { description: 'An HTML page', content: { 'text/html': { schema: Type.String() } } },
          ...problemResponses(503),
        },
      },
    },
    async (_req, reply) => {
      const html = renderStatsPage(await collect(store), now());
      return reply
        .header('cache-control', STATS_CACHE_CONTROL)
        .header('content-security-policy', STATS_PAGE_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .type('text/html; charset=utf-8')
        .send(html);
    },
  );

  app.get(
    '/api/v1/experiments/stats',
    {
      schema: {
        operationId: 'abStats',
        tags: ['ab'],
        summary: 'Devices per experiment and option, with a sample-ratio-mismatch check',
        description: `Chi-square goodness of fit of the counts against the weights; mismatch when p < ${SRM_ALPHA}.`,
        response: { 200: StatsSchema, ...problemResponses(503) },
      },
    },
    async (_req, reply) => {
      const stats = await collect(store);
      reply.header('cache-control', STATS_CACHE_CONTROL);
      return {
        generated_at: now().toISOString(),
        srm_alpha: SRM_ALPHA,
        srm_min_expected: SRM_MIN_EXPECTED,
        experiments: stats.map((s) => ({
          name: s.name,
          status: s.status,
          started_at: s.startedAt.toISOString(),
          stopped_at: s.stoppedAt?.toISOString() ?? null,
          version: s.version,
          devices: s.devices,
          options: s.options.map((o) => ({ ...o, percent: formatShare(o.share) })),
          srm: {
            chi_square: s.srm.chiSquare,
            df: s.srm.df,
            p_value: s.srm.pValue,
            testable: s.srm.testable,
            mismatch: s.srm.mismatch,
            ...srmVerdict(s),
          },
        })),
      };
    },
  );
}
