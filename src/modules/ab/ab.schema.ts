/**
 * A/B assignment. A device's experiments and values are fixed in the transaction that first
 * records it (`devices` + `assignments`), so answers are sticky by construction. Proportions come from
 * `decks`: one row per experiment and weight version, holding the shuffled deck and `next_k`, the
 * number of devices that entered that version so far; a batch of new devices advances it with one
 * locked UPDATE, so k is exact and gap-free across processes (a sequence would skip values on
 * rollback). See assignment.store.ts for the transaction.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  smallint,
  text,
} from 'drizzle-orm/pg-core';
import { timestamptz } from '../../platform/db-columns';

export const abSchema = pgSchema('ab');

export const experiments = abSchema.table('experiments', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  name: text('name').notNull().unique(),
  /** Option values in position order (strings or numbers, as configured); never edited. */
  optionValues: jsonb('option_values').notNull(),
  /** Seed of the deck shuffles (see deck.ts), so every version's deck is reproducible. */
  seed: integer('seed').notNull(),
  currentVersion: integer('current_version').notNull().default(1),
  startedAt: timestamptz('started_at').notNull(),
  stoppedAt: timestamptz('stopped_at'),
});

export const decks = abSchema.table(
  'decks',
  {
    experimentId: integer('experiment_id')
      .notNull()
      .references(() => experiments.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    /** Weights as given, one per option position. */
    weights: integer('weights').array().notNull(),
    /** Option positions, shuffled; slot k mod length goes to the k-th device entering this version. */
    deck: smallint('deck').array().notNull(),
    nextK: bigint('next_k', { mode: 'number' }).notNull().default(0),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.experimentId, t.version] })],
);

export const devices = abSchema.table('devices', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  token: text('token').notNull().unique(),
  /** When the device was first seen; decides which experiments it takes part in (new devices only). */
  firstSeenAt: timestamptz('first_seen_at').notNull(),
});

export const assignments = abSchema.table(
  'assignments',
  {
    deviceId: bigint('device_id', { mode: 'number' })
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    experimentId: integer('experiment_id').notNull(),
    version: integer('version').notNull(),
    /** The device was the k-th (from 0) to enter this deck version. */
    k: bigint('k', { mode: 'number' }).notNull(),
    option: smallint('option').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.deviceId, t.experimentId] }),
    foreignKey({
      name: 'assignments_deck_fk',
      columns: [t.experimentId, t.version],
      foreignColumns: [decks.experimentId, decks.version],
    }).onDelete('cascade'),
    // Stats count per (experiment, version, option) from this index alone.
    index('assignments_stats_idx').on(t.experimentId, t.version, t.option),
  ],
);

/**
 * One row: bumped by admin changes that alter answers already given (deleting an experiment), so every
 * process clears its answer cache (see assignment.service.ts).
 */
export const answersEpoch = abSchema.table(
  'answers_epoch',
  {
    one: boolean('one').primaryKey().default(true),
    epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
  },
  (t) => [check('answers_epoch_one_row', sql`${t.one}`)],
);
