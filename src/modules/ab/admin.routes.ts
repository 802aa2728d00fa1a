/** Admin routes for experiments; all guarded by the API token when one is configured. */
import type { preHandlerAsyncHookHandler } from 'fastify';
import { Type } from 'typebox';
import { type App, problemResponses } from '../../platform/http';
import type { ExperimentsService } from './experiments.service';
import type { Experiment } from './model';
import {
  CreateExperimentBody,
  ExperimentListSchema,
  ExperimentSchema,
  type ExperimentView,
  NameParams,
  WeightsBody,
} from './schemas';

export function experimentView(e: Experiment): ExperimentView {
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
      schema: {
        ...common,
        operationId: 'abCreateExperiment',
        summary: 'Create an experiment; it starts now and takes new devices only',
        body: CreateExperimentBody,
        response: { 201: ExperimentSchema, ...problemResponses(400, 401, 409, 415, 422, 503) },
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

  app.get(
    `${BASE}/:name`,
    {
      preHandler: adminGuard,
      schema: {
        ...common,
        operationId: 'abGetExperiment',
        summary: 'One experiment',
        params: NameParams,
        response: { 200: ExperimentSchema, ...problemResponses(401, 404, 503) },
      },
    },
    async (req) => experimentView(await service.get(req.params.name)),
  );

  app.post(
    `${BASE}/:name/stop`,
    {
      preHandler: adminGuard,
      schema: {
        ...common,
        operationId: 'abStopExperiment',
        summary: 'Stop taking new devices; devices already in keep their values',
        params: NameParams,
        response: { 200: ExperimentSchema, ...problemResponses(401, 404, 503) },
      },
    },
    async (req) => experimentView(await service.stop(req.params.name)),
  );

  app.put(
    `${BASE}/:name/weights`,
    {
      preHandler: adminGuard,
      schema: {
        ...common,
        operationId: 'abChangeWeights',
        summary: 'New weights for devices entering from now on (a new deck version)',
        params: NameParams,
        body: WeightsBody,
        response: { 200: ExperimentSchema, ...problemResponses(400, 401, 404, 409, 415, 422, 503) },
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
