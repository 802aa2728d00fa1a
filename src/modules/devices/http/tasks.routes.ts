/** The background recalculation: start it, follow it, read what it stored. */
import type { preHandlerAsyncHookHandler } from 'fastify';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { RecalcService } from '../recalc.service';
import {
  PageQuery,
  RecalcBody,
  RecalcQuery,
  StoredAggregatesResponse,
  TaskParams,
  TaskResponse,
} from './schemas';
import { storedAggregatesJson, taskJson } from './views';

export function tasksRoutes(app: App, service: RecalcService, adminGuard: preHandlerAsyncHookHandler): void {
  app.post(
    '/tasks/recalculate',
    {
      preHandler: adminGuard,
      // The body is optional: a request without one is `{}`.
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: {
        operationId: 'recalculateDeviceAggregates',
        tags: ['devices'],
        summary: 'Queue a recalculation of the devices’ stored all-time aggregates',
        description:
          'Recomputes the devices that received readings since their stored result (progress counts ' +
          'those); `full=true` rebuilds every device’s hourly rollups from its readings and recomputes ' +
          'every device (`{"full": true}` in a JSON body does the same). At most one recalculation runs at a time (across all processes); one requested ' +
          'meanwhile is queued and runs after it. Follow it at GET /tasks/{task_id}.',
        security: [{ bearer: [] }],
        querystring: RecalcQuery,
        body: RecalcBody,
        response: { 202: TaskResponse, ...problemResponses(400, 401, 503) },
      },
    },
    async (req, reply) => {
      const full = req.query.full || req.body.full === true;
      return reply.code(202).send(taskJson(await service.request({ full })));
    },
  );

  app.get(
    '/tasks/:task_id',
    {
      schema: {
        operationId: 'getRecalculationTask',
        tags: ['devices'],
        summary: 'Status and progress of a recalculation',
        params: TaskParams,
        response: { 200: TaskResponse, ...problemResponses(400, 404, 503) },
      },
    },
    async (req) => taskJson(await service.status(req.params.task_id)),
  );

  app.get(
    '/devices/aggregates',
    {
      schema: {
        operationId: 'listStoredAggregates',
        tags: ['devices'],
        summary: 'All-time aggregates stored by the last recalculation, per device, with computation time',
        querystring: PageQuery,
        response: { 200: StoredAggregatesResponse, ...problemResponses(400, 503) },
      },
    },
    async (req) => {
      const page = await service.listStored({ after: req.query.after ?? null, limit: req.query.limit });
      return { items: page.items.map(storedAggregatesJson), next_after: page.nextAfter };
    },
  );
}
