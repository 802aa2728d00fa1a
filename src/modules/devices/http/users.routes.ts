/** Owners and per-user analysis. Creating users and assigning owners are admin actions. */
import type { preHandlerAsyncHookHandler } from 'fastify';
import type { Static } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { UsersService } from '../users.service';
import {
  type DeviceAggregates,
  DeviceParams,
  OwnerBody,
  OwnerResponse,
  PeriodQuery,
  UserAggregatesResponse,
  UserBody,
  UserIdParams,
  UserResponse,
} from './schemas';
import { aggregatesJson, deviceAggregatesJson, periodOf, userJson } from './views';

export function usersRoutes(app: App, service: UsersService, adminGuard: preHandlerAsyncHookHandler): void {
  app.post(
    '/users',
    {
      preHandler: adminGuard,
      schema: {
        operationId: 'createUser',
        tags: ['devices'],
        summary: 'Create a user who can own devices',
        security: [{ bearer: [] }],
        body: UserBody,
        response: { 201: UserResponse, ...problemResponses(400, 401, 415, 503) },
      },
    },
    async (req, reply) => reply.code(201).send(userJson(await service.createUser(req.body.name))),
  );

  app.get(
    '/users/:user_id',
    {
      schema: {
        operationId: 'getUser',
        tags: ['devices'],
        summary: 'A user and the ids of the devices they own',
        params: UserIdParams,
        response: { 200: UserResponse, ...problemResponses(400, 404, 503) },
      },
    },
    async (req) => userJson(await service.getUser(req.params.user_id)),
  );

  app.put(
    '/devices/:device_id/owner',
    {
      preHandler: adminGuard,
      schema: {
        operationId: 'setDeviceOwner',
        tags: ['devices'],
        summary: 'Set the owner of a device (user_id null clears it)',
        security: [{ bearer: [] }],
        params: DeviceParams,
        body: OwnerBody,
        response: { 200: OwnerResponse, ...problemResponses(400, 401, 404, 415, 503) },
      },
    },
    async (req) => {
      await service.setOwner(req.params.device_id, req.body.user_id);
      return { device_id: req.params.device_id, user_id: req.body.user_id };
    },
  );

  app.get(
    '/users/:user_id/data',
    {
      schema: {
        operationId: 'getUserAggregates',
        tags: ['devices'],
        summary: "Aggregates over all of a user's devices combined, and per device",
        params: UserIdParams,
        querystring: PeriodQuery,
        response: { 200: UserAggregatesResponse, ...problemResponses(400, 404, 503) },
      },
    },
    async (req) => {
      const period = periodOf(req.query);
      const { combined, devices } = await service.userAggregates(req.params.user_id, period);
      const perDevice: Record<string, Static<typeof DeviceAggregates>> = {};
      for (const [id, a] of devices) perDevice[id] = deviceAggregatesJson(id, a, period);
      return { user_id: req.params.user_id, ...aggregatesJson(combined, period), devices: perDevice };
    },
  );
}
