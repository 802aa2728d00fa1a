/**
 * Access-log records. `seq` is the cursor order that every reader shares.
 *
 * A plain sequence is not enough on its own: with concurrent writers, transactions commit out of
 * sequence order, and a reader could pass seq 11 while seq 10 is still uncommitted. So every insert
 * runs in a transaction that first takes one advisory lock (logs.store.ts): writers draw sequence
 * numbers and commit one transaction at a time, across all processes on the database, so a record
 * is visible as soon as its writer is answered and can never appear behind a cursor. Batching keeps
 * that single lane fast (one transaction carries hundreds of rows).
 */
import { bigint, bigserial, pgSchema, smallint, text, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from '../../platform/db-columns';

export const logsSchema = pgSchema('logs');

export const entries = logsSchema.table('entries', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  id: uuid('id').notNull().unique(),
  created: timestamptz('created', 6).notNull().defaultNow(),
  ip: text('ip').notNull(),
  method: text('method').notNull(),
  uri: text('uri').notNull(),
  statusCode: smallint('status_code').notNull(),
});

/** Where each syncer is: reported by `telelab log-sync`, shown on the dashboard with its lag. */
export const syncers = logsSchema.table('syncers', {
  name: text('name').primaryKey(),
  targetFile: text('target_file').notNull(),
  lastId: uuid('last_id'),
  recordsWritten: bigint('records_written', { mode: 'number' }).notNull().default(0),
  reportedAt: timestamptz('reported_at').notNull().defaultNow(),
});
