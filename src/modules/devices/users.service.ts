/** Users, device ownership and per-user analysis: aggregates over all of a user's devices. */
import { notFound } from '../../platform/errors';
import type { AggregatesStore } from './aggregates.store';
import { type Aggregates, checkPeriod, noData, type Period, type User } from './model';
import { deviceNotFound } from './readings.service';
import type { UsersStore } from './users.store';

export interface UserAggregates {
  combined: Aggregates;
  devices: Map<string, Aggregates>;
}

const userNotFound = (id: number) => notFound('DEVICES_USER_NOT_FOUND', `User ${id} does not exist`);

export function createUsersService(deps: {
  users: UsersStore;
  aggregates: Pick<AggregatesStore, 'forOwner'>;
}) {
  const { users } = deps;
  return {
    createUser(name: string): Promise<User> {
      return users.create(name);
    },

    async getUser(id: number): Promise<User> {
      const user = await users.get(id);
      if (!user) throw userNotFound(id);
      return user;
    },

    /** null clears the owner. */
    async setOwner(deviceId: string, userId: number | null): Promise<void> {
      const result = await users.setOwner(deviceId, userId);
      if (result === 'no-device') throw deviceNotFound(deviceId);
      if (result === 'no-user') throw userNotFound(userId!);
    },

    /** The user's devices combined, and each device with data in the period. */
    async userAggregates(userId: number, period: Period): Promise<UserAggregates> {
      checkPeriod(period);
      const { combined, devices } = await deps.aggregates.forOwner(userId, period);
      if (combined) return { combined, devices };
      throw (await users.get(userId)) ? noData(`the devices of user ${userId}`) : userNotFound(userId);
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
