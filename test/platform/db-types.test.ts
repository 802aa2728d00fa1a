import { afterAll, describe, expect, it } from 'vitest';
import { openTestDb } from '../helpers';

describe('database type normalisation', async () => {
  const db = await openTestDb();
  afterAll(() => db.close());

  it('returns int8 and int8[] as numbers on both drivers', async () => {
    const [row] = await db.query<{ a: unknown; b: unknown }>(
      'select 42::int8 as a, array[1, 2, null]::int8[] as b',
    );
    expect(row).toEqual({ a: 42, b: [1, 2, null] });
  });

  it('returns timestamptz as Date', async () => {
    const [row] = await db.query<{ t: unknown }>("select '2024-01-02T03:04:05.678Z'::timestamptz as t");
    expect(row!.t).toBeInstanceOf(Date);
    expect((row!.t as Date).toISOString()).toBe('2024-01-02T03:04:05.678Z');
  });
});
