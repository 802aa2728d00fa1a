/** SQL for users and device ownership. */
import type { Db, Queryable } from '../../platform/db';
import type { User } from './model';

export type SetOwnerResult = 'updated' | 'no-device' | 'no-user';

export function createUsersStore(db: Pick<Db, 'query'>) {
  return {
    async create(name: string, tx: Queryable = db): Promise<User> {
      const rows = await tx.query<{ id: number; name: string; created_at: Date }>(
        'INSERT INTO devices.users (name) VALUES ($1) RETURNING id, name, created_at',
        [name],
      );
      const r = rows[0]!;
      return { id: Number(r.id), name: r.name, createdAt: r.created_at, deviceIds: [] };
    },

    async get(id: number, tx: Queryable = db): Promise<User | null> {
      const rows = await tx.query<{ id: number; name: string; created_at: Date; device_ids: string[] }>(
        `SELECT u.id, u.name, u.created_at,
           coalesce(array_agg(d.id ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') AS device_ids
         FROM devices.users u LEFT JOIN devices.devices d ON d.owner_id = u.id
         WHERE u.id = $1
         GROUP BY u.id`,
        [id],
      );
      const r = rows[0];
      return r ? { id: Number(r.id), name: r.name, createdAt: r.created_at, deviceIds: r.device_ids } : null;
    },

    /** Sets (or with null clears) a device's owner in one statement, telling which side was missing. */
    async setOwner(deviceId: string, userId: number | null, tx: Queryable = db): Promise<SetOwnerResult> {
      const rows = await tx.query<{ user_exists: boolean; updated: boolean }>(
        `WITH u AS (SELECT id FROM devices.users WHERE id = $2::int8),
         d AS (
           UPDATE devices.devices SET owner_id = $2::int8
           WHERE id = $1 AND ($2::int8 IS NULL OR EXISTS (SELECT 1 FROM u))
           RETURNING id
         )
         SELECT EXISTS (SELECT 1 FROM u) AS user_exists, EXISTS (SELECT 1 FROM d) AS updated`,
        [deviceId, userId],
      );
      const r = rows[0]!;
      if (r.updated) return 'updated';
      return userId !== null && !r.user_exists ? 'no-user' : 'no-device';
    },
  };
}

export type UsersStore = ReturnType<typeof createUsersStore>;
