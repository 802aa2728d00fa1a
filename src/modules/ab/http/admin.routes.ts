/** Admin routes for experiments; all guarded by the API token when one is configured. */
import type { preHandlerAsyncHookHandler } from 'fastify';
import { Type } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { ExperimentsService } from '../experiments.service';
import {
  CreateExperimentBody,
  ExperimentListSchema,
  ExperimentSchema,
  NameParams,
  WeightsBody,
} from './schemas';
import { experimentView } from './views';

/** The service's consistency checks (distinct values, deck size, matching options) answer 422. */
const INCONSISTENT_INPUT_STATUS = 422;

const BASE = '/api/v1/admin/experiments';

export function registerAdminRoutes(
  app: App,
  service: ExperimentsService,
  adminGuard: preHandlerAsyncHookHandler,
): void {
  const common = { tags: ['ab'], security: [{ bearer: [] }] };

  app.post(
    BASE,
    {
      preHandler: adminGuard,
      config: { serviceInput: 'body', serviceInputStatus: INCONSISTENT_INPUT_STATUS },
      schema: {
        ...common,
        operationId: 'abCreateExperiment',
        summary: 'Create an experiment; it starts now and takes new devices only',
        body: CreateExperimentBody,
        response: {
          201: ExperimentSchema,
          ...problemResponses(400, 401, 409, 415, INCONSISTENT_INPUT_STATUS, 503),
        },
      },
    },
    async (req, reply) => {
      const created = await service.create(req.body.name, req.body.options);
      reply.code(201).header('location', `${BASE}/${encodeURIComponent(created.name)}`);
      return experimentView(created);
    },
  );

  app.get(
    BASE,
    {
      preHandler: adminGuard,
      schema: {
        ...common,
        operationId: 'abListExperiments',
        summary: 'Every experiment with its current weights',
        response: { 200: ExperimentListSchema, ...problemResponses(401, 503) },
      },
    },
    async () => (await service.list()).map(experimentView),
  );

  /** Options of a route on one experiment, by name, that answers with the experiment. */
  const onExperiment = (operationId: string, summary: string) => ({
    preHandler: adminGuard,
    schema: {
      ...common,
      operationId,
      summary,
      params: NameParams,
      response: { 200: ExperimentSchema, ...problemResponses(401, 404, 503) },
    },
  });

  app.get(`${BASE}/:name`, onExperiment('abGetExperiment', 'One experiment'), async (req) =>
    experimentView(await service.get(req.params.name)),
  );

  app.post(
    `${BASE}/:name/stop`,
    onExperiment('abStopExperiment', 'Stop taking new devices; devices already in keep their values'),
    async (req) => experimentView(await service.stop(req.params.name)),
  );

  app.put(
    `${BASE}/:name/weights`,
    {
      preHandler: adminGuard,
      config: { serviceInput: 'body', serviceInputStatus: INCONSISTENT_INPUT_STATUS },
      schema: {
        ...common,
        operationId: 'abChangeWeights',
        summary: 'New weights for devices entering from now on (a new deck version)',
        params: NameParams,
        body: WeightsBody,
        response: {
          200: ExperimentSchema,
          ...problemResponses(400, 401, 404, 409, 415, INCONSISTENT_INPUT_STATUS, 503),
        },
      },
    },
    async (req) => experimentView(await service.changeWeights(req.params.name, req.body.options)),
  );

  app.delete(
    `${BASE}/:name`,
    {
      preHandler: adminGuard,
      schema: {
        ...common,
        operationId: 'abDeleteExperiment',
        summary: "Delete an experiment and every device's value in it",
        params: NameParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 404, 503) },
      },
    },
    async (req, reply) => {
      await service.delete(req.params.name);
      return reply.code(204).send(null);
    },
  );
}
