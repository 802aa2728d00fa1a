/** GET /devices/{id}/series: a period in N buckets for charts (one request, empty buckets included). */
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { SeriesService } from '../series.service';
import { DeviceParams, SeriesQuery, SeriesResponse } from './schemas';
import { periodOf, seriesJson } from './views';

export function seriesRoutes(app: App, service: SeriesService): void {
  app.get(
    '/devices/:device_id/series',
    {
      // The service names its own input (`buckets`); on the wire it is a query parameter.
      config: { serviceInput: 'querystring' },
      schema: {
        operationId: 'getDeviceSeries',
        tags: ['devices'],
        summary: 'A device’s period in equal buckets: count, min, max, mean and exact median per bucket',
        description:
          'Value (x + y + z) and each axis. Empty buckets are returned with count 0 and null statistics; ' +
          'an open side of the period is the first/last reading.',
        params: DeviceParams,
        querystring: SeriesQuery,
        response: { 200: SeriesResponse, ...problemResponses(400, 404, 503) },
      },
    },
    async (req) => {
      const s = await service.series(req.params.device_id, periodOf(req.query), req.query.buckets);
      return seriesJson(req.params.device_id, s);
    },
  );
}
