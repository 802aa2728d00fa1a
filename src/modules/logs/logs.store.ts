/**
 * SQL for access-log records. The cursor order is (txid, seq), visible up to the snapshot's xmin:
 * see logs.schema.ts for why that makes `?id=` gap-free with concurrent writers and processes.
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
  txid: number;
  seq: number;
}

interface Row {
  id: string;
  created: Date;
  ip: string;
  method: LogEntry['method'];
  uri: string;
  status_code: number;
  txid: number;
  seq: number;
}

const toRecord = (r: Row): LogRecord => ({
  id: r.id,
  created: r.created,
  log: { ip: r.ip, method: r.method, uri: r.uri, status_code: r.status_code },
});

const INSERT_CHUNK = 5000;

const HORIZON = `(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint`;

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
    /** One statement for many rows; returns the commit-time `created` of each, in order. */
    async insert(rows: NewLogRecord[], tx: Queryable = db): Promise<Date[]> {
      if (rows.length === 0) return [];
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
      if (rows.length <= INSERT_CHUNK) {
        await this.insert(rows);
        return;
      }
      await db.transaction(async (tx) => {
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          await this.insert(rows.slice(i, i + INSERT_CHUNK), tx);
        }
      });
    },

    async cursorOf(id: string): Promise<Cursor | null> {
      const rows = await db.query<Cursor>('SELECT txid, seq FROM logs.entries WHERE id = $1', [id]);
      return rows[0] ?? null;
    },

    /** The visibility horizon now: rows with txid below it belong to finished transactions. */
    async horizon(): Promise<number> {
      const rows = await db.query<{ h: number }>(`SELECT ${HORIZON} AS h`);
      return Number(rows[0]!.h);
    },

    /** Records strictly after `after` (or from the start), below `horizon`, in cursor order. */
    async page(after: Cursor | null, horizon: number, limit: number): Promise<(LogRecord & Cursor)[]> {
      const rows = await db.query<Row>(
        `SELECT id, created, ip, method, uri, status_code, txid, seq FROM logs.entries
         WHERE (txid, seq) > ($1::bigint, $2::bigint) AND txid < $3::bigint
         ORDER BY txid, seq LIMIT $4`,
        [after?.txid ?? -1, after?.seq ?? -1, horizon, limit],
      );
      return rows.map((r) => ({ ...toRecord(r), txid: Number(r.txid), seq: Number(r.seq) }));
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
