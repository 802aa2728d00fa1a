/** The original API's experiment-group routes (at the root and under /api, like experiments.routes.ts). */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { GroupsService } from '../groups.service';
import { docOf, queryField, type RouteScope } from './experiments.routes';
import { GroupCreated, GroupManaged, GroupOut, GroupStatsOut, Membership } from './response-schemas';
import {
  CreateGroupBody,
  CreateGroupQuery,
  ExperimentIn,
  type ExperimentInput,
  GroupIdQuery,
  type GroupInput,
  ManageGroupQuery,
  MemberQuery,
} from './schemas';
import { groupJson, groupStatsJson } from './views';

/** The original's form: `?name=` with a bare JSON array of experiments as the body. */
function originalGroupForm(req: FastifyRequest): void {
  if (!Array.isArray(req.body)) return;
  req.body = { name: queryField(req, 'name', 'a list of experiments'), experiments: req.body };
}

export function groupsRoutes(app: App, service: GroupsService, scope: RouteScope): void {
  app.post(
    '/create_experiment_group',
    {
      preValidation: async (req) => originalGroupForm(req),
      // The spec's shape errors (400) name their field in the body; caps and targets (422, 403) do not.
      config: { serviceInput: 'body' },
      schema: {
        ...docOf(scope, 'latencyCreateGroup'),
        summary: 'Create a group with its experiments (all checked before any is stored)',
        description:
          'Body: `{"name", "experiments": [...]}`, or — the original’s form — `?name=` with a bare JSON array ' +
          'of experiments. Each experiment is checked like create_experiment; errors name ' +
          '`experiments[i].field`.',
        querystring: CreateGroupQuery,
        body: CreateGroupBody,
        response: { 201: GroupCreated, ...problemResponses(400, 403, 422) },
      },
    },
    async (req, reply) => {
      const body = req.body as GroupInput;
      const v = await service.create(body.name, body.experiments);
      return reply.code(201).send({ group_id: v.group.id });
    },
  );

  app.get(
    '/list_groups',
    {
      schema: {
        ...docOf(scope, 'latencyListGroups'),
        summary: 'Every group with its experiments',
        response: { 200: Type.Array(GroupOut), ...problemResponses(503) },
      },
    },
    async () => (await service.list()).map(groupJson),
  );

  app.get(
    '/group_stats',
    {
      schema: {
        ...docOf(scope, 'latencyGroupStats'),
        summary: 'GroupStats: totals, success rate and percentiles merged from the members’ histograms',
        description:
          '`success_rate` is a percent (0-100) over every request, failed ones included; latencies cover ' +
          'answered requests (a request that got no answer has none). p50/p90/p99 are exact merges of the ' +
          'members’ HDR histograms. Null where nothing was measured yet.',
        querystring: GroupIdQuery,
        response: { 200: GroupStatsOut, ...problemResponses(400, 404) },
      },
    },
    async (req) => groupStatsJson(await service.stats(req.query.group_id)),
  );

  app.post(
    '/manage_group',
    {
      schema: {
        ...docOf(scope, 'latencyManageGroup'),
        summary: 'start | pause | stop a group: all its members together',
        description:
          'Members that cannot make the transition (already finished, or already there) are left as they ' +
          'are. 400: bad state value; 404: unknown group; 409: not possible from the group’s state, or ' +
          '`start` on a group without experiments.',
        querystring: ManageGroupQuery,
        response: { 200: GroupManaged, ...problemResponses(400, 403, 404, 409) },
      },
    },
    async (req) => {
      const v = await service.manage(req.query.group_id, req.query.state);
      return {
        group_id: v.group.id,
        state: v.state,
        experiments: Object.fromEntries(v.members.map((m) => [m.id, m.state])),
      };
    },
  );

  app.post(
    '/add_experiment_to_group',
    {
      config: { serviceInput: 'body' },
      schema: {
        ...docOf(scope, 'latencyAddExperimentToGroup'),
        summary: 'Create an experiment in a group (started at once when the group is running)',
        description:
          'The group must be created, running or paused; 409 when it is stopped or completed (it can ' +
          'never start again: create a new group).',
        querystring: GroupIdQuery,
        body: ExperimentIn,
        response: { 200: Membership, ...problemResponses(400, 403, 404, 409, 422) },
      },
    },
    async (req) => {
      const e = await service.addExperiment(req.query.group_id, req.body as ExperimentInput);
      return { group_id: req.query.group_id, experiment_id: e.id };
    },
  );

  app.delete(
    '/remove_experiment_from_group',
    {
      schema: {
        ...docOf(scope, 'latencyRemoveExperimentFromGroup'),
        summary: 'Take an experiment out of a group (the experiment, its run and results stay)',
        querystring: MemberQuery,
        response: { 200: Membership, ...problemResponses(400, 404) },
      },
    },
    async (req) => {
      await service.removeExperiment(req.query.group_id, req.query.experiment_id);
      return { group_id: req.query.group_id, experiment_id: req.query.experiment_id };
    },
  );
}
