/** SQL for experiment groups and their membership. */
import type { Db, Queryable, Row } from '../../platform/db';
import { isUuid } from './experiments.store';
import type { ExperimentState, Group } from './model';

const GROUP_SELECT = `SELECT g.id, g.name, g.state, g.created_at, g.updated_at,
    coalesce(array_agg(m.experiment_id::text ORDER BY m.seq)
      FILTER (WHERE m.experiment_id IS NOT NULL), '{}') AS experiment_ids
  FROM latency.groups g LEFT JOIN latency.group_members m ON m.group_id = g.id`;

function groupFromRow(r: Row): Group {
  return {
    id: r.id as string,
    name: r.name as string,
    state: r.state as ExperimentState,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    experimentIds: r.experiment_ids as string[],
  };
}

export function createGroupsStore(db: Db) {
  const get = async (id: string, q: Queryable = db): Promise<Group | null> => {
    if (!isUuid(id)) return null;
    const [row] = await q.query(`${GROUP_SELECT} WHERE g.id = $1 GROUP BY g.id`, [id]);
    return row ? groupFromRow(row) : null;
  };

  return {
    get,

    async insert(id: string, name: string, q: Queryable = db): Promise<void> {
      await q.query('INSERT INTO latency.groups (id, name) VALUES ($1, $2)', [id, name]);
    },

    async list(): Promise<Group[]> {
      const rows = await db.query(`${GROUP_SELECT} GROUP BY g.id ORDER BY g.created_at, g.id`);
      return rows.map(groupFromRow);
    },

    async setState(id: string, state: ExperimentState, q: Queryable = db): Promise<void> {
      await q.query('UPDATE latency.groups SET state = $2, updated_at = now() WHERE id = $1', [id, state]);
    },

    async addMember(groupId: string, experimentId: string, q: Queryable = db): Promise<void> {
      await q.query(
        `INSERT INTO latency.group_members (group_id, experiment_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [groupId, experimentId],
      );
      await q.query('UPDATE latency.groups SET updated_at = now() WHERE id = $1', [groupId]);
    },

    /** False when the experiment was not a member. */
    async removeMember(groupId: string, experimentId: string): Promise<boolean> {
      if (!isUuid(groupId) || !isUuid(experimentId)) return false;
      return db.transaction(async (tx) => {
        const rows = await tx.query(
          'DELETE FROM latency.group_members WHERE group_id = $1 AND experiment_id = $2 RETURNING group_id',
          [groupId, experimentId],
        );
        if (rows.length > 0)
          await tx.query('UPDATE latency.groups SET updated_at = now() WHERE id = $1', [groupId]);
        return rows.length > 0;
      });
    },
  };
}

export type GroupsStore = ReturnType<typeof createGroupsStore>;
