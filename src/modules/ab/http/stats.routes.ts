/** The statistics page (HTML) and the same numbers as JSON, with the SRM check. */
import { Type } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { ExperimentsService } from '../experiments.service';
import { SRM_ALPHA } from '../sample-ratio';
import { StatsSchema } from './schemas';
import { renderStatsPage, STATS_PAGE_CSP } from './stats-page';
import { statisticsView } from './views';

/** As the original nginx kept the page: one minute. */
const STATS_CACHE_CONTROL = 'public, max-age=60';

export function registerStatsRoutes(app: App, service: Pick<ExperimentsService, 'statistics'>): void {
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
      const { generatedAt, experiments } = await service.statistics();
      return reply
        .header('cache-control', STATS_CACHE_CONTROL)
        .header('content-security-policy', STATS_PAGE_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .type('text/html; charset=utf-8')
        .send(renderStatsPage(experiments, generatedAt));
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
      const view = statisticsView(await service.statistics());
      reply.header('cache-control', STATS_CACHE_CONTROL);
      return view;
    },
  );
}
