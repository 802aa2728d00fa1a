/**
 * SQL for devices and their assignments. Lookups come in batches (see assignment.service.ts): one read
 * for every token of the batch, then one transaction for the devices not found, in which the device
 * rows, the deck counters and the assignments commit together. So a device is never visible without
 * its values, and k is exact: each deck version's counter row is locked, advanced by the number of
 * devices entering it, and rolled back with the batch if it fails (no gaps, unlike a sequence).
 */
import type { Db, Queryable } from '../../platform/db';
import { ENTRY_LOCK_KEY } from './experiments.store';
import { type DeviceRecord, type DeviceValue, type OptionValue, takesNewDevice } from './model';

export interface NewDevice {
  token: string;
  firstSeenAt: Date;
}

export interface AssignmentDetail {
  experimentId: number;
  name: string;
  values: OptionValue[];
  startedAt: Date;
  stoppedAt: Date | null;
  /** The device's assignment in this experiment, if any. */
  assigned: { version: number; k: number; option: number; deckSize: number } | null;
}

interface EntryExperiment {
  id: number;
  name: string;
  option_values: OptionValue[];
  started_at: Date;
  stopped_at: Date | null;
  version: number;
  next_k: number;
}

/** Deadlock / serialization failure: the batch is safe to run again. */
const RETRYABLE = new Set(['40P01', '40001']);

export type AssignmentStore = ReturnType<typeof createAssignmentStore>;

export function createAssignmentStore(db: Pick<Db, 'query' | 'transaction'>) {
  // Decks never change once written (a weight change adds a version), so each process keeps them.
  const decks = new Map<string, number[]>();

  async function loadDecks(tx: Queryable, wanted: { id: number; version: number }[]): Promise<void> {
    const missing = wanted.filter((w) => !decks.has(`${w.id}:${w.version}`));
    if (missing.length === 0) return;
    const rows = await tx.query<{ experiment_id: number; version: number; deck: number[] }>(
      `SELECT d.experiment_id, d.version, d.deck FROM ab.decks d
       JOIN unnest($1::int[], $2::int[]) AS w(id, version) ON d.experiment_id = w.id AND d.version = w.version`,
      [missing.map((m) => m.id), missing.map((m) => m.version)],
    );
    for (const r of rows) decks.set(`${r.experiment_id}:${r.version}`, r.deck.map(Number));
  }

  async function enterOnce(tokens: string[], seen: Date[]): Promise<Map<string, DeviceRecord>> {
    return db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock_shared(${ENTRY_LOCK_KEY})`);
      // Tokens arrive sorted, so concurrent batches of two processes insert (and wait) in the same
      // order and cannot deadlock on each other's rows. Existing devices are skipped, not updated.
      const created = await tx.query<{ id: number; token: string; first_seen_at: Date }>(
        `INSERT INTO ab.devices (token, first_seen_at)
         SELECT * FROM unnest($1::text[], $2::timestamptz[])
         ON CONFLICT (token) DO NOTHING
         RETURNING id, token, first_seen_at`,
        [tokens, seen],
      );
      const out = new Map<string, DeviceRecord>();
      if (created.length === 0) return out;
      let earliest = created[0]!.first_seen_at;
      let latest = earliest;
      for (const c of created) {
        if (c.first_seen_at < earliest) earliest = c.first_seen_at;
        if (c.first_seen_at > latest) latest = c.first_seen_at;
      }
      // Locks the counters in experiment order (the lock follows the sort), the same order in every
      // process; they stay locked until this batch commits. NO KEY UPDATE: the assignments' foreign key
      // checks (KEY SHARE) of other batches need not wait for it.
      const experiments = await tx.query<EntryExperiment>(
        `SELECT e.id, e.name, e.option_values, e.started_at, e.stopped_at, d.version, d.next_k
         FROM ab.experiments e
         JOIN ab.decks d ON d.experiment_id = e.id AND d.version = e.current_version
         WHERE e.started_at <= $1 AND (e.stopped_at IS NULL OR e.stopped_at > $2)
         ORDER BY e.id
         FOR NO KEY UPDATE OF d`,
        [latest, earliest],
      );
      await loadDecks(tx, experiments);

      const entered = new Map<number, number>();
      // Column arrays of the assignments to insert (one unnest).
      const cols = {
        device: [] as number[],
        experiment: [] as number[],
        version: [] as number[],
        k: [] as number[],
        option: [] as number[],
      };
      for (const c of created) {
        const values: DeviceValue[] = [];
        for (const e of experiments) {
          if (!takesNewDevice({ startedAt: e.started_at, stoppedAt: e.stopped_at }, c.first_seen_at))
            continue;
          const n = entered.get(e.id) ?? 0;
          entered.set(e.id, n + 1);
          const deck = decks.get(`${e.id}:${e.version}`)!;
          const k = Number(e.next_k) + n;
          const option = deck[k % deck.length]!;
          cols.device.push(c.id);
          cols.experiment.push(e.id);
          cols.version.push(e.version);
          cols.k.push(k);
          cols.option.push(option);
          values.push({ name: e.name, value: e.option_values[option]! });
        }
        out.set(c.token, { firstSeenAt: c.first_seen_at, values });
      }
      if (cols.option.length > 0) {
        const used = experiments.filter((e) => entered.has(e.id));
        // One round trip: advance the counters and write the assignments.
        await tx.query(
          `WITH advanced AS (
             UPDATE ab.decks d SET next_k = d.next_k + u.n
             FROM unnest($6::int[], $7::int[], $8::int8[]) AS u(id, version, n)
             WHERE d.experiment_id = u.id AND d.version = u.version)
           INSERT INTO ab.assignments (device_id, experiment_id, version, k, option)
           SELECT * FROM unnest($1::int8[], $2::int[], $3::int[], $4::int8[], $5::int2[])`,
          [
            cols.device,
            cols.experiment,
            cols.version,
            cols.k,
            cols.option,
            used.map((e) => e.id),
            used.map((e) => e.version),
            used.map((e) => entered.get(e.id)!),
          ],
        );
      }
      return out;
    });
  }

  /** First-seen time and values of the known devices among `tokens`. */
  async function read(tokens: string[], tx: Queryable = db): Promise<Map<string, DeviceRecord>> {
    const rows = await tx.query<{
      token: string;
      first_seen_at: Date;
      name: string | null;
      value: OptionValue | null;
    }>(
      `SELECT d.token, d.first_seen_at, e.name, e.option_values -> a.option AS value
       FROM ab.devices d
       LEFT JOIN ab.assignments a ON a.device_id = d.id
       LEFT JOIN ab.experiments e ON e.id = a.experiment_id
       WHERE d.token = ANY($1::text[])
       ORDER BY d.token, a.experiment_id`,
      [tokens],
    );
    const out = new Map<string, DeviceRecord>();
    for (const r of rows) {
      let record = out.get(r.token);
      if (!record) {
        record = { firstSeenAt: r.first_seen_at, values: [] };
        out.set(r.token, record);
      }
      if (r.name !== null) record.values.push({ name: r.name, value: r.value! });
    }
    return out;
  }

  async function enter(tokens: string[], seen: Date[]): Promise<Map<string, DeviceRecord>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await enterOnce(tokens, seen);
      } catch (e) {
        if (attempt >= 3 || !RETRYABLE.has((e as { code?: string }).code ?? '')) throw e;
      }
    }
  }

  return {
    read,

    /**
     * The record of every device in the batch, recording the new ones: one read for all tokens, one
     * transaction entering those not found, and a second read for those another process entered in
     * between (their insert conflicted; ON CONFLICT waited for that process to commit). One result per
     * input row, in order; a token given twice is entered once, with its earliest time. Null only if a
     * device vanished meanwhile. `entered` counts the devices this batch recorded.
     */
    async resolve(batch: NewDevice[]): Promise<{ records: (DeviceRecord | null)[]; entered: number }> {
      const earliest = new Map<string, Date>();
      for (const d of batch) {
        const t = earliest.get(d.token);
        if (!t || d.firstSeenAt < t) earliest.set(d.token, d.firstSeenAt);
      }
      const known = await read([...earliest.keys()]);
      const missing = [...earliest.keys()].filter((t) => !known.has(t)).sort();
      let entered = 0;
      if (missing.length > 0) {
        const created = await enter(
          missing,
          missing.map((t) => earliest.get(t)!),
        );
        for (const [token, record] of created) known.set(token, record);
        entered = created.size;
        const lost = missing.filter((t) => !created.has(t));
        if (lost.length > 0) for (const [token, record] of await read(lost)) known.set(token, record);
      }
      return { records: batch.map((d) => known.get(d.token) ?? null), entered };
    },

    /** Everything explain needs about one device: null when it was never seen. */
    async explain(token: string): Promise<{ firstSeenAt: Date | null; experiments: AssignmentDetail[] }> {
      const device = await db.query<{ id: number; first_seen_at: Date }>(
        `SELECT id, first_seen_at FROM ab.devices WHERE token = $1`,
        [token],
      );
      const rows = await db.query<{
        id: number;
        name: string;
        option_values: OptionValue[];
        started_at: Date;
        stopped_at: Date | null;
        version: number | null;
        k: number | null;
        option: number | null;
        deck_size: number | null;
      }>(
        `SELECT e.id, e.name, e.option_values, e.started_at, e.stopped_at,
                a.version, a.k, a.option, cardinality(dk.deck) AS deck_size
         FROM ab.experiments e
         LEFT JOIN ab.assignments a ON a.experiment_id = e.id AND a.device_id = $1
         LEFT JOIN ab.decks dk ON dk.experiment_id = a.experiment_id AND dk.version = a.version
         ORDER BY e.id`,
        [device[0]?.id ?? null],
      );
      return {
        firstSeenAt: device[0]?.first_seen_at ?? null,
        experiments: rows.map((r) => ({
          experimentId: r.id,
          name: r.name,
          values: r.option_values,
          startedAt: r.started_at,
          stoppedAt: r.stopped_at,
          assigned:
            r.version === null
              ? null
              : { version: r.version, k: Number(r.k), option: r.option!, deckSize: Number(r.deck_size) },
        })),
      };
    },

    async epoch(): Promise<number> {
      const rows = await db.query<{ epoch: number }>(`SELECT epoch FROM ab.answers_epoch`);
      return Number(rows[0]?.epoch ?? 0);
    },
  };
}
