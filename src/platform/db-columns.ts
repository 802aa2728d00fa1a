/**
 * Column builders the modules' drizzle schemas share (`src/modules/<name>/<name>.schema.ts`), so a kind
 * of column is declared one way everywhere.
 */
import { timestamp } from 'drizzle-orm/pg-core';

/** `timestamptz`, read as a Date; without `precision`, PostgreSQL's default (microseconds). */
export const timestamptz = (name: string, precision?: 0 | 1 | 2 | 3 | 4 | 5 | 6) =>
  timestamp(name, { withTimezone: true, precision });

/** `timestamptz(3)`: milliseconds, exactly what a JavaScript Date holds, so a value reads back as written. */
export const timestamptzMs = (name: string) => timestamptz(name, 3);
