/** GET /devices/{id}/series: a period in N buckets for charts (one request, empty buckets included). */
import { Type } from 'typebox';
import type { App } from '../../platform/http';
import { problemResponses } from '../../platform/http';
import { DeviceId, SeriesQuery, SeriesResponse, timestampField } from './api.schemas';
import type { SeriesService } from './series.service';

export function seriesRoutes(app: App, service: SeriesService): void {
  app.get(
    '/devices/:device_id/series',
    {
      schema: {
        operationId: 'getDeviceSeries',
        tags: ['devices'],
        summary: 'A device’s period in equal buckets: count, min, max, mean and exact median per bucket',
        description:
          'Value (x + y + z) and each axis. Empty buckets are returned with count 0 and null statistics; ' +
          'an open side of the period is the first/last reading.',
        params: Type.Object({ device_id: DeviceId }),
        querystring: SeriesQuery,
        response: { 200: SeriesResponse, ...problemResponses(400, 404, 503) },
      },
    },
    async (req) => {
      const period = {
        start: timestampField('querystring.start_date', req.query.start_date) ?? null,
        end: timestampField('querystring.end_date', req.query.end_date) ?? null,
      };
      const s = await service.series(req.params.device_id, period, req.query.buckets);
      return {
        device_id: req.params.device_id,
        period: s.period && { start: s.period.start.toISOString(), end: s.period.end.toISOString() },
        buckets: s.buckets.map((b) => ({
          start: b.start.toISOString(),
          end: b.end.toISOString(),
          count: b.count,
          value: b.stats?.value ?? null,
          x: b.stats?.x ?? null,
          y: b.stats?.y ?? null,
          z: b.stats?.z ?? null,
        })),
      };
    },
  );
}
