/**
 * Access-log records (seed 004). `txid` is the inserting transaction's id (pg_current_xact_id):
 * readers order by (txid, seq) and only return rows whose txid is below the current snapshot's
 * xmin, i.e. rows of transactions that have all finished. A new row always gets a txid at or above
 * that horizon, so it can never appear behind a cursor a reader already passed (a plain sequence
 * can: transactions commit out of sequence order). See logs.store.ts.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  index,
  integer,
  pgSchema,
  smallint,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

export const logsSchema = pgSchema('logs');

export const entries = logsSchema.table(
  'entries',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: uuid('id').notNull().unique(),
    txid: bigint('txid', { mode: 'number' }).notNull().default(sql`(pg_current_xact_id()::text)::bigint`),
    created: timestamp('created', { withTimezone: true, precision: 6 }).notNull().defaultNow(),
    ip: text('ip').notNull(),
    method: text('method').notNull(),
    uri: text('uri').notNull(),
    statusCode: smallint('status_code').notNull(),
  },
  (t) => [index('entries_cursor_idx').on(t.txid, t.seq)],
);

/** Where each syncer is: reported by `telelab log-sync`, shown on the dashboard with its lag. */
export const syncers = logsSchema.table('syncers', {
  name: text('name').primaryKey(),
  targetFile: text('target_file').notNull(),
  lastId: uuid('last_id'),
  recordsWritten: integer('records_written').notNull().default(0),
  reportedAt: timestamp('reported_at', { withTimezone: true }).notNull().defaultNow(),
});
