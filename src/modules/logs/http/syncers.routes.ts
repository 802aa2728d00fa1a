/** Syncer positions: reported by `telelab log-sync`, listed with their lag for the dashboard. */
import { Type } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { LogsService } from '../logs.service';
import { SyncerParams, SyncerPositionSchema, SyncerReportBody } from './schemas';
import { syncerPositionView, syncerReport } from './views';

export function syncersRoutes(app: App, service: LogsService): void {
  app.put(
    '/api/data/syncers/:name',
    {
      schema: {
        operationId: 'logsReportSyncer',
        tags: ['logs'],
        summary: 'A syncer reports its position (used by `telelab log-sync`)',
        params: SyncerParams,
        body: SyncerReportBody,
        response: { 204: Type.Null(), ...problemResponses(400) },
      },
    },
    async (req, reply) => {
      await service.reportSyncer(syncerReport(req.params.name, req.body));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/data/syncers',
    {
      schema: {
        operationId: 'logsListSyncers',
        tags: ['logs'],
        summary: 'Syncer positions and their lag in records',
        response: { 200: Type.Array(SyncerPositionSchema) },
      },
    },
    async () => (await service.syncers()).map(syncerPositionView),
  );
}
