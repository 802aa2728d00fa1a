/** Reading the controller: decisions, merged history, status, and the dashboard's live stream. */
import { Type } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import { sseStream } from '../../../platform/sse';
import type { DecisionsService } from '../decisions.service';
import type { LiveHub } from '../live.service';
import { DecisionJson, DecisionsQuery, HistoryPeriodJson, HistoryQuery, StatusJson } from './schemas';
import { decisionJson, historyRange, liveEventJson, periodJson, queryDatetime, statusJson } from './views';

export function controlRoutes(app: App, decisions: DecisionsService, live: LiveHub): void {
  app.get(
    '/decisions',
    {
      config: { serviceInput: 'querystring' },
      schema: {
        operationId: 'controlListDecisions',
        tags: ['control'],
        summary: 'Stored decisions with their windows, t-test and delivery',
        description:
          'Every decision explains itself: both windows (bounds, n, mean, std), t, df, p, the status before ' +
          'and after, the reason, and whether the manipulator acknowledged the command.',
        querystring: DecisionsQuery,
        response: { 200: Type.Array(DecisionJson), ...problemResponses(400, 503) },
      },
    },
    async (req) => {
      const rows = await decisions.list({
        after: queryDatetime('after', req.query.after),
        before: queryDatetime('before', req.query.before),
        limit: req.query.limit,
        order: req.query.order,
      });
      return rows.map(decisionJson);
    },
  );

  app.get(
    '/history',
    {
      config: { serviceInput: 'querystring' },
      schema: {
        operationId: 'controlHistory',
        tags: ['control'],
        summary: 'Command history as merged status periods',
        description:
          'Consecutive decisions with the same status are merged into one period. Periods overlapping ' +
          '[after, before] are included and clipped to it; the current one ends at `before` or now. ' +
          '`from`/`to` are aliases of `after`/`before`; after > before answers 400.',
        querystring: HistoryQuery,
        response: { 200: Type.Array(HistoryPeriodJson), ...problemResponses(400, 503) },
      },
    },
    async (req) => {
      const { after, before } = historyRange(req.query);
      return (await decisions.history(after, before)).map(periodJson);
    },
  );

  app.get(
    '/control/status',
    {
      schema: {
        operationId: 'controlStatus',
        tags: ['control'],
        summary: 'Current status, leader, manipulator link and the last decision',
        response: { 200: StatusJson, ...problemResponses(503) },
      },
    },
    async () => statusJson(await decisions.status()),
  );

  app.get(
    '/control/stream',
    {
      schema: {
        operationId: 'controlStream',
        tags: ['control'],
        summary: 'Server-sent events: decisions, deliveries, live window means every second',
        description:
          'Events: `decision` (the latest one on connect, then each new one), `delivery` (a decision once its ' +
          'command was acknowledged or not; from the leader process), and `live` every second: n, mean and ' +
          'std of the window being filled and of the previous one.',
        produces: ['text/event-stream'],
        response: {
          200: Type.String({ description: 'text/event-stream', contentMediaType: 'text/event-stream' }),
          ...problemResponses(503),
        },
      },
    },
    async (req, reply) => {
      sseStream(req, reply, (send) =>
        live.subscribe((e) => {
          const { event, data } = liveEventJson(e);
          send(event, data);
        }),
      );
    },
  );
}
