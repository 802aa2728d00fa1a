/**
 * The batch writer against the real database of this run (PGlite, or PostgreSQL with DATABASE_URL):
 * one `INSERT ... SELECT FROM unnest(...)` per batch, and a caller is answered only after commit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BatchWriter } from '../../src/platform/batch-writer';
import type { Db } from '../../src/platform/db';
import { openTestDb } from '../helpers';

const db: Db = await openTestDb();
afterAll(() => db.close());

interface Reading {
  device: number;
  note: string;
}

/** A table of its own per test, and a writer over it that answers each row with its id. */
async function readingsWriter(table: string, opts: { maxRows?: number } = {}) {
  const batchSizes: number[] = [];
  await db.exec(`create table ${table} (id bigserial primary key, device int not null, note text not null)`);
  const writer = new BatchWriter<Reading, number>({
    name: table,
    maxRows: opts.maxRows ?? 500,
    maxDelayMs: 2,
    onFlush: ({ rows }) => batchSizes.push(rows),
    async flush(rows) {
      // RETURNING order is not promised by SQL, so results are matched back by the unique note.
      const inserted = await db.query<{ id: number; note: string }>(
        `insert into ${table} (device, note)
         select * from unnest($1::int[], $2::text[])
         returning id, note`,
        [rows.map((r) => r.device), rows.map((r) => r.note)],
      );
      const ids = new Map(inserted.map((r) => [r.note, Number(r.id)]));
      return rows.map((r) => ids.get(r.note)!);
    },
  });
  return { writer, batchSizes };
}

/** `callers` concurrent callers, each writing its rows one after another and awaiting each. */
async function concurrently<T>(
  callers: number,
  perCaller: number,
  fn: (caller: number, i: number) => Promise<T>,
) {
  const out: T[][] = [];
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      out[c] = [];
      for (let i = 0; i < perCaller; i++) out[c]!.push(await fn(c, i));
    }),
  );
  return out.flat();
}

describe('BatchWriter on the database', () => {
  it('stores every row written by 50 concurrent callers, in batches', async () => {
    const { writer, batchSizes } = await readingsWriter('bw_all_rows');
    const ids = await concurrently(50, 100, (c, i) => writer.write({ device: c, note: `${c}-${i}` }));
    await writer.close();

    expect(new Set(ids).size).toBe(5000);
    const counts = await db.query(
      'select count(*)::int as n, count(distinct device)::int as devices from bw_all_rows',
    );
    expect(counts).toEqual([{ n: 5000, devices: 50 }]);
    const stored = await db.query<{ id: number; note: string }>('select id, note from bw_all_rows');
    const byNote = new Map(stored.map((r) => [r.note, Number(r.id)]));
    const expected = Array.from({ length: 50 }, (_, c) => Array.from({ length: 100 }, (_, i) => `${c}-${i}`));
    expect(ids).toEqual(expected.flat().map((note) => byNote.get(note)));
    expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(5000);
    expect(Math.max(...batchSizes)).toBeGreaterThan(1); // the callers' rows really shared statements
  });

  it('answers a caller only once its row is committed and visible to other connections', async () => {
    const { writer } = await readingsWriter('bw_acked', { maxRows: 100 });
    let missing = 0;
    await concurrently(20, 25, async (c, i) => {
      const note = `${c}-${i}`;
      const id = await writer.write({ device: c, note });
      // On PostgreSQL this read goes through another pooled connection: it sees only committed rows.
      const rows = await db.query<{ note: string }>('select note from bw_acked where id = $1', [id]);
      if (rows[0]?.note !== note) missing++;
    });
    await writer.close();
    expect(missing).toBe(0);
  });

  it('rejects only the callers of a batch the database refused; the others are stored', async () => {
    const { writer } = await readingsWriter('bw_refused', { maxRows: 10 });
    await db.exec('alter table bw_refused add constraint note_not_bad check (note <> $$bad$$)');
    const notes = Array.from({ length: 30 }, (_, i) => (i === 15 ? 'bad' : `ok-${i}`));
    const outcomes = await Promise.allSettled(notes.map((note) => writer.write({ device: 1, note })));
    await writer.close();

    const rejected = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
    expect(rejected).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]); // exactly the batch with 'bad'
    expect((outcomes[15] as PromiseRejectedResult).reason).toMatchObject({
      code: 'WRITE_FAILED',
      status: 500,
    });
    const stored = await db.query<{ note: string }>('select note from bw_refused order by id');
    expect(stored.map((r) => r.note)).toEqual(notes.filter((_, i) => i < 10 || i >= 20));
  });
});
