/**
 * The original API's experiment routes, exactly as the original named them, plus live stats and a stream.
 * Registered twice by index.ts: at the root (documented) and under /api (the original's mount point).
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { badRequest } from '../../../platform/errors';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import { sseStream } from '../../../platform/sse';
import { recordJson } from '../capacity.record';
import type { ExperimentsService } from '../experiments.service';
import { isFinal } from '../model';
import {
  ExperimentCreated,
  ExperimentManaged,
  ExperimentOut,
  ExperimentStatsOut,
  RequestResultOut,
  ResultOut,
} from './response-schemas';
import {
  CreateExperimentBody,
  CreateExperimentQuery,
  ExperimentIdQuery,
  type ExperimentInput,
  ListQuery,
  ManageExperimentQuery,
  ResultQuery,
  TestLatencyQuery,
} from './schemas';
import { experimentJson, experimentStatsJson, segmentJson, seriesJson } from './views';

export interface RouteScope {
  /** '' (documented) or '/api' (the same routes, hidden from /docs). */
  prefix: string;
}

/** operationId, tag and visibility: the /api copies get their own ids and stay out of /docs. */
export const docOf = (scope: RouteScope, operationId: string) => ({
  operationId: scope.prefix ? `${operationId}Api` : operationId,
  tags: ['latency'],
  hide: scope.prefix !== '',
});

const STREAM_POLL_MS = 500;

/** The original's form: `?name=&host=&port=` with a bare JSON array of load profiles as the body. */
export function queryField(req: FastifyRequest, name: string, form: string): string {
  const value = (req.query as Record<string, unknown>)[name];
  if (typeof value !== 'string' || value === '') {
    throw badRequest('VALIDATION_FAILED', `querystring.${name}: required when the body is ${form}`);
  }
  return value;
}

function originalExperimentForm(req: FastifyRequest): void {
  if (!Array.isArray(req.body)) return;
  const form = 'a list of load profiles';
  const port = queryField(req, 'port', form);
  if (!/^\d{1,5}$/.test(port))
    throw badRequest('VALIDATION_FAILED', 'querystring.port: must be an integer 1-65535');
  req.body = {
    name: queryField(req, 'name', form),
    host: queryField(req, 'host', form),
    port: Number(port),
    load_profiles: req.body,
  };
}

export function experimentsRoutes(app: App, service: ExperimentsService, scope: RouteScope): void {
  app.get(
    '/test-latency',
    {
      schema: {
        ...docOf(scope, 'latencyTest'),
        summary: 'Measure one request to host:port (the seed’s ExperimentResult)',
        description:
          'GET `{scheme}://{host}:{port}{path}` once (path default `/api/latency`, as the original). ' +
          'A failed request is `status_code` 0, `latency_ms` null and `error` saying why. Targets outside ' +
          'LATENCY_ALLOWED_TARGETS are refused with 403. Redirects are not followed.',
        querystring: TestLatencyQuery,
        response: { 200: RequestResultOut, ...problemResponses(400, 403, 422) },
      },
    },
    async (req) => service.testLatency(req.query),
  );

  app.post(
    '/create_experiment',
    {
      preValidation: async (req) => originalExperimentForm(req),
      // The spec's shape errors (400) name their field in the body; caps and targets (422, 403) do not.
      config: { serviceInput: 'body' },
      schema: {
        ...docOf(scope, 'latencyCreateExperiment'),
        summary: 'Create an experiment (state `created`; start it with manage_experiment)',
        description:
          'Body: an experiment, or — the original’s form — `?name=&host=&port=` with a bare JSON array of ' +
          'load profiles. The target must match LATENCY_ALLOWED_TARGETS (403); users, rate and total ' +
          'duration are capped (422 naming the field).',
        querystring: CreateExperimentQuery,
        body: CreateExperimentBody,
        response: { 201: ExperimentCreated, ...problemResponses(400, 403, 422) },
      },
    },
    async (req, reply) => {
      const e = await service.create(req.body as ExperimentInput);
      return reply.code(201).send({ experiment_id: e.id });
    },
  );

  app.get(
    '/list_experiments',
    {
      schema: {
        ...docOf(scope, 'latencyListExperiments'),
        summary: 'Every experiment, oldest first, with its settings, state and summary',
        querystring: ListQuery,
        response: { 200: Type.Array(ExperimentOut), ...problemResponses(400) },
      },
    },
    async (req) => (await service.list(req.query.limit, req.query.offset)).items.map(experimentJson),
  );

  app.get(
    '/result_experiment',
    {
      schema: {
        ...docOf(scope, 'latencyResultExperiment'),
        summary: 'An experiment with its summary, per-second series and raw results (paged)',
        description:
          'Raw per-request records are kept up to LATENCY_RAW_RESULTS_CAP per experiment (`results_total`); ' +
          'the summary and the series always cover every request. `passed` says whether the thresholds held.',
        querystring: ResultQuery,
        response: { 200: ResultOut, ...problemResponses(400, 404) },
      },
    },
    async (req) => {
      const { limit, offset, experiment_id } = req.query;
      const r = await service.result(experiment_id, { limit, offset });
      return {
        ...experimentJson(r.experiment),
        series: r.series.map(seriesJson),
        results: r.results,
        results_total: r.experiment.rawResultsCount,
        segments: r.segments.map((s) => segmentJson(s, r.experiment.settings.load_profiles.length)),
        capacity: r.experiment.capacity && recordJson(r.experiment.capacity),
        limit,
        offset,
      };
    },
  );

  app.post(
    '/manage_experiment',
    {
      schema: {
        ...docOf(scope, 'latencyManageExperiment'),
        summary: 'start | pause | stop an experiment',
        description:
          'created → running → paused → running → completed; stop → stopped from any unfinished state. ' +
          '400: not one of start/pause/stop; 404: unknown id; 409: not possible from the current state.',
        querystring: ManageExperimentQuery,
        response: { 200: ExperimentManaged, ...problemResponses(400, 403, 404, 409) },
      },
    },
    async (req) => {
      const e = await service.manage(req.query.experiment_id, req.query.state);
      return { experiment_id: e.id, state: e.state };
    },
  );

  app.get(
    '/experiment_stats',
    {
      schema: {
        ...docOf(scope, 'latencyExperimentStats'),
        summary: 'Live stats: current profile, users, rate, latency percentiles, success rate',
        querystring: ExperimentIdQuery,
        response: { 200: ExperimentStatsOut, ...problemResponses(400, 404) },
      },
    },
    async (req) => {
      const { experiment: e, stats, segments } = await service.stats(req.query.experiment_id);
      return {
        ...experimentStatsJson(stats),
        segments: segments.map((s) => segmentJson(s, e.settings.load_profiles.length)),
        capacity: e.capacity && recordJson(e.capacity),
      };
    },
  );

  app.get(
    '/experiment_stream',
    {
      schema: {
        ...docOf(scope, 'latencyExperimentStream'),
        summary: 'Server-sent events: the experiment, then every recorded second, until it finishes',
        description:
          'Events: `experiment` (on connect), `second` (each per-second series point, history first), ' +
          '`state` (on every change), `end` (the final experiment; then the stream closes).',
        querystring: ExperimentIdQuery,
        produces: ['text/event-stream'],
        response: {
          200: Type.String({ description: 'text/event-stream', contentMediaType: 'text/event-stream' }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req, reply) => {
      const id = req.query.experiment_id;
      const first = await service.get(id);
      sseStream(req, reply, (send) => {
        let lastSecond = -1;
        let state = first.state;
        let timer: NodeJS.Timeout | undefined;
        let closed = false;
        send('experiment', experimentJson(first));
        const tick = async () => {
          try {
            for (const p of await service.seriesAfter(id, lastSecond)) {
              send('second', seriesJson(p));
              lastSecond = p.second;
            }
            const now = await service.get(id);
            if (now.state !== state) {
              state = now.state;
              send('state', { experiment_id: id, state });
            }
            // Finished and no runner still writing its last numbers: nothing more will come.
            if (isFinal(now.state) && now.leasedSegments === 0) {
              send('end', experimentJson(now));
              closed = true;
              reply.raw.end();
              return;
            }
          } catch (err) {
            req.log.warn({ err, experiment: id }, 'experiment stream: read failed');
          }
          if (!closed) timer = setTimeout(tick, STREAM_POLL_MS);
        };
        void tick();
        return () => {
          closed = true;
          clearTimeout(timer);
        };
      });
    },
  );
}
