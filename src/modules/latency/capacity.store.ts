/**
 * Where a capacity experiment's search stands (model.ts CapacityRecord), written by its lease holder
 * as its stored document (capacity.record.ts).
 */
import type { Db } from '../../platform/db';
import { recordJson } from './capacity.record';
import type { CapacityRecord } from './model';

export function createCapacityStore(db: Db) {
  return {
    /**
     * Stores the record while `owner` holds the experiment's one segment (a capacity experiment has
     * one); false, and nothing written, once another process took it over.
     */
    async saveCapacity(id: string, owner: string, record: CapacityRecord): Promise<boolean> {
      const rows = await db.query(
        `UPDATE latency.experiments e SET capacity = $3::jsonb, updated_at = now()
          WHERE e.id = $1
            AND EXISTS (SELECT 1 FROM latency.segments s
                         WHERE s.experiment_id = e.id AND s.idx = 0 AND s.lease_owner = $2)
          RETURNING e.id`,
        [id, owner, JSON.stringify(recordJson(record))],
      );
      return rows.length > 0;
    },
  };
}
