import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../test/deterministic';
import { buildTestApp, onPostgres, openSecondHandle } from '../../../test/helpers';
import { batch, list, logsOnly, postOk } from './http/test-support';
import { generateLogLine } from './log-traffic';
import { createLogsStore } from './logs.store';

/**
 * The cursor's proof under concurrency. Writers go through two apps on two database handles (on PostgreSQL two
 * pools: transactions of both commit concurrently and out of sequence order); readers poll
 * `?id=<last id seen>&limit=` all along. Every reader must end with exactly the acknowledged ids,
 * each once, all in the same order.
 */
describe('cursor under concurrent writers', () => {
  const WRITERS = 20;
  const LINES = 500;
  const READERS = 3;
  const LIMIT = 250;

  it.runIf(onPostgres)(
    'a transaction committing after a later one never lands behind a cursor (PostgreSQL, deterministic)',
    async () => {
      const app = await buildTestApp(logsOnly);
      const other = await openSecondHandle(app.db);
      const client = await other.pool!.connect();
      const tx = {
        query: async <R>(text: string, params?: readonly unknown[]) =>
          (await client.query(text, params as unknown[])).rows as R[],
      };
      try {
        const first = await postOk(app, '10.0.0.1 GET /first 200');
        // T1 takes its sequence number first, then stays open...
        await client.query('BEGIN');
        const early = '00000000-0000-4000-8000-00000000e001';
        await createLogsStore(other).insert(
          [{ id: early, log: { ip: '10.0.0.2', method: 'GET', uri: '/early', status_code: 200 } }],
          tx,
        );
        // ...so a later writer waits in the lane instead of committing a higher seq before it.
        let lateDone = false;
        const latePost = postOk(app, '10.0.0.3 GET /late 200').then((r) => {
          lateDone = true;
          return r;
        });
        await new Promise((r) => setTimeout(r, 300));
        expect(lateDone).toBe(false);
        // A reader polling now sees nothing new: nothing after `first` has committed.
        expect(await list(app, `?id=${first.id}`)).toEqual([]);
        await client.query('COMMIT');
        const late = await latePost;
        // T1's row comes first, then the waiting writer's.
        expect((await list(app, `?id=${first.id}`)).map((r) => r.id)).toEqual([early, late.id]);
      } finally {
        client.release();
        await other.close();
      }
    },
  );

  it(`${WRITERS} writers x ${LINES} lines through two apps, ${READERS} readers polling ?id=`, async () => {
    const a = await buildTestApp(logsOnly);
    const db2 = await openSecondHandle(a.db);
    try {
      const b = await buildTestApp({ ...logsOnly, db: db2 });
      const apps = [a, b];
      const acknowledged: string[] = [];
      let writersDone = false;

      async function writer(w: number): Promise<void> {
        const app = apps[w % 2]!;
        const rng = mulberry32(1000 + w);
        let left = LINES;
        while (left > 0) {
          // Half single POSTs (through the batch writer), half small batches (one transaction each).
          const n = rng() < 0.5 ? 1 : Math.min(left, 2 + Math.floor(rng() * 7));
          if (n === 1) acknowledged.push((await postOk(app, generateLogLine(rng))).id);
          else {
            const r = await batch(
              app,
              Array.from({ length: n }, () => ({ log: generateLogLine(rng) })),
            );
            expect(r.accepted).toBe(n);
            acknowledged.push(...r.ids);
          }
          left -= n;
        }
      }

      async function reader(r: number): Promise<string[]> {
        const app = apps[r % 2]!;
        const seen: string[] = [];
        let last: string | undefined;
        let deadline = Number.POSITIVE_INFINITY;
        for (;;) {
          const page = await list(app, last ? `?id=${last}&limit=${LIMIT}` : `?limit=${LIMIT}`);
          for (const rec of page) seen.push(rec.id);
          if (page.length > 0) last = page.at(-1)!.id;
          if (writersDone) {
            if (seen.length >= WRITERS * LINES) break;
            if (deadline === Number.POSITIVE_INFINITY) deadline = Date.now() + 20_000;
            if (Date.now() > deadline) break;
          }
          if (page.length < LIMIT) await sleep(Math.floor(Math.random() * 4));
        }
        // Caught up: nothing may turn up behind the cursor afterwards.
        if (last) seen.push(...(await list(app, `?id=${last}`)).map((rec) => rec.id));
        return seen;
      }

      const readers = Array.from({ length: READERS }, (_, r) => reader(r));
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      writersDone = true;
      const results = await Promise.all(readers);

      expect(acknowledged.length).toBe(WRITERS * LINES);
      expect(new Set(acknowledged).size).toBe(WRITERS * LINES);
      const expected = new Set(acknowledged);
      for (const [r, seen] of results.entries()) {
        const dupes = seen.length - new Set(seen).size;
        const seenSet = new Set(seen);
        const missing = acknowledged.filter((id) => !seenSet.has(id)).length;
        expect({ reader: r, count: seen.length, dupes, missing }).toEqual({
          reader: r,
          count: WRITERS * LINES,
          dupes: 0,
          missing: 0,
        });
        expect(seen.every((id) => expected.has(id))).toBe(true);
      }
      for (let r = 1; r < READERS; r++) expect(results[r], `reader ${r} order`).toEqual(results[0]);
      expect((await list(a)).map((rec) => rec.id)).toEqual(results[0]);
      await b.close();
    } finally {
      await db2.close();
    }
  }, 120_000);
});
