/**
 * SQL for access-log records. Writers take WRITER_LANE_LOCK for their transaction, so sequence
 * numbers are drawn and committed in one order: see logs.schema.ts for why `?id=` is then gap-free.
 */
import type { Db, Queryable } from '../../platform/db';
import type { LogEntry } from './log-line';

export interface LogRecord {
  id: string;
  created: Date;
  log: LogEntry;
}

export interface NewLogRecord {
  id: string;
  log: LogEntry;
}

export interface Cursor {
  seq: number;
}

interface Row {
  id: string;
  created: Date;
  ip: string;
  method: LogEntry['method'];
  uri: string;
  status_code: number;
  seq: number;
}

const toRecord = (r: Row): LogRecord => ({
  id: r.id,
  created: r.created,
  log: { ip: r.ip, method: r.method, uri: r.uri, status_code: r.status_code },
});

const INSERT_CHUNK = 5000;

/** Transaction-scoped advisory lock key of the logs writer lane ("telelab logs"). */
export const WRITER_LANE_LOCK = 7_324_004;

export interface SyncerPosition {
  name: string;
  targetFile: string;
  lastId: string | null;
  recordsWritten: number;
  reportedAt: Date;
  lag: number | null;
}

export function createLogsStore(db: Pick<Db, 'query' | 'transaction'>) {
  return {
    /**
     * Inserts rows in the writer lane: in `tx` (which then holds the lane until it ends) or in a
     * transaction of its own. Returns each row's `created` (the transaction's time), in order.
     */
    async insert(rows: NewLogRecord[], tx?: Queryable): Promise<Date[]> {
      if (rows.length === 0) return [];
      if (!tx) return db.transaction((t) => this.insert(rows, t));
      await tx.query('SELECT pg_advisory_xact_lock($1)', [WRITER_LANE_LOCK]);
      const out = await tx.query<{ id: string; created: Date }>(
        `INSERT INTO logs.entries (id, ip, method, uri, status_code)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int2[])
         RETURNING id, created`,
        [
          rows.map((r) => r.id),
          rows.map((r) => r.log.ip),
          rows.map((r) => r.log.method),
          rows.map((r) => r.log.uri),
          rows.map((r) => r.log.status_code),
        ],
      );
      const byId = new Map(out.map((r) => [r.id, r.created]));
      return rows.map((r) => byId.get(r.id)!);
    },

    /** Any number of rows in one transaction, 5000 per statement. */
    async insertAll(rows: NewLogRecord[]): Promise<void> {
      if (rows.length === 0) return;
      await db.transaction(async (tx) => {
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          await this.insert(rows.slice(i, i + INSERT_CHUNK), tx);
        }
      });
    },

    async cursorOf(id: string): Promise<Cursor | null> {
      const rows = await db.query<Cursor>('SELECT seq FROM logs.entries WHERE id = $1', [id]);
      return rows[0] ? { seq: Number(rows[0].seq) } : null;
    },

    /** The newest committed sequence number: an upper bound that makes one response one prefix. */
    async newestSeq(): Promise<number> {
      const rows = await db.query<{ s: number | null }>('SELECT max(seq) AS s FROM logs.entries');
      return Number(rows[0]?.s ?? 0);
    },

    /** Records strictly after `after` (or from the start) up to `upTo`, in cursor order. */
    async page(after: Cursor | null, upTo: number, limit: number): Promise<(LogRecord & Cursor)[]> {
      const rows = await db.query<Row>(
        `SELECT id, created, ip, method, uri, status_code, seq FROM logs.entries
         WHERE seq > $1::bigint AND seq <= $2::bigint
         ORDER BY seq LIMIT $3`,
        [after?.seq ?? 0, upTo, limit],
      );
      return rows.map((r) => ({ ...toRecord(r), seq: Number(r.seq) }));
    },

    async reportSyncer(p: {
      name: string;
      targetFile: string;
      lastId: string | null;
      recordsWritten: number;
    }) {
      await db.query(
        `INSERT INTO logs.syncers (name, target_file, last_id, records_written, reported_at)
         VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (name) DO UPDATE SET target_file = excluded.target_file, last_id = excluded.last_id,
           records_written = excluded.records_written, reported_at = excluded.reported_at`,
        [p.name, p.targetFile, p.lastId, p.recordsWritten],
      );
    },

    /** Syncer positions with their lag in records (by sequence distance: cheap on millions of rows). */
    async syncers(): Promise<SyncerPosition[]> {
      const rows = await db.query<{
        name: string;
        target_file: string;
        last_id: string | null;
        records_written: number;
        reported_at: Date;
        lag: number | null;
      }>(
        `SELECT s.name, s.target_file, s.last_id, s.records_written, s.reported_at,
           CASE WHEN s.last_id IS NULL THEN (SELECT count(*) FROM logs.entries)
                WHEN c.seq IS NULL THEN NULL
                ELSE (SELECT count(*) FROM logs.entries e WHERE e.seq > c.seq) END AS lag
         FROM logs.syncers s LEFT JOIN logs.entries c ON c.id = s.last_id
         ORDER BY s.name`,
      );
      return rows.map((r) => ({
        name: r.name,
        targetFile: r.target_file,
        lastId: r.last_id,
        recordsWritten: Number(r.records_written),
        reportedAt: r.reported_at,
        lag: r.lag === null ? null : Number(r.lag),
      }));
    },

    async count(): Promise<number> {
      const rows = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM logs.entries');
      return Number(rows[0]!.n);
    },
  };
}

export type LogsStore = ReturnType<typeof createLogsStore>;
