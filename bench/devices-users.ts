/**
 * `npm run bench -- devices-users [--db postgres|pglite|both] [--devices 100] [--rows 100000]
 *   [--small-rows 10000] [--samples 200] [--raw-budget-seconds 20]`
 *
 * Per-user aggregates as a user's devices grow (issue: a user with 100 devices of 100,000 readings each
 * answers within 3× of a user with one small device). One scratch database holds a small user (one
 * device of --small-rows readings), a user of --devices devices of --small-rows readings each, and a
 * big one (--devices devices of --rows readings each: the same devices, a longer history), all one
 * reading per second from the same start, bulk-loaded around the insert path with their rollups and
 * median indexes built (what the background indexer does), then VACUUM ANALYZE. Then p50/p99 of
 * GET /users/{id}/data (in process) for all time and for the middle half of the history (bounds inside
 * it), side by side with the raw one-pass query (the oracle, rawForOwner: what sorting the period
 * costs). Defaults on PGlite: 10 devices. Prints a table; never asserts on time.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createAggregatesStore } from '../src/modules/devices/aggregates.store';
import { openDb } from '../src/platform/db';
import { migrate, migrationSet } from '../src/platform/migrate';
import { cell, devicesApp, loadDevice, T0, timing } from './_devices';
import { dbKinds, fmt, loadAverage, log, markdownTable, withScratchDb } from './_support';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    devices: { type: 'string' },
    rows: { type: 'string', default: '100000' },
    'small-rows': { type: 'string', default: '10000' },
    samples: { type: 'string', default: '200' },
    'raw-budget-seconds': { type: 'string', default: '20' },
  },
});
const ROWS = Number(args.rows);
const SMALL_ROWS = Number(args['small-rows']);
const SAMPLES = Number(args.samples);
const RAW_BUDGET_MS = Number(args['raw-budget-seconds']) * 1000;

async function run(kind: 'pglite' | 'postgres') {
  const devices = Number(args.devices ?? (kind === 'postgres' ? 100 : 10));
  return withScratchDb(kind, 'devusers', async (env) => {
    const db = await openDb({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
    try {
      await migrate(db, [migrationSet('devices')]);
      const users: { label: string; id: number; rows: number; ids: string[] }[] = [
        { label: `1 device × ${fmt(SMALL_ROWS)}`, id: 0, rows: SMALL_ROWS, ids: ['small-0'] },
        {
          label: `${devices} devices × ${fmt(SMALL_ROWS)}`,
          id: 0,
          rows: SMALL_ROWS,
          ids: Array.from({ length: devices }, (_, i) => `short-${i}`),
        },
        {
          label: `${devices} devices × ${fmt(ROWS)}`,
          id: 0,
          rows: ROWS,
          ids: Array.from({ length: devices }, (_, i) => `big-${i}`),
        },
      ];
      const t0 = performance.now();
      for (const u of users) {
        const [row] = await db.query<{ id: number }>(
          'INSERT INTO devices.users (name) VALUES ($1) RETURNING id',
          [u.label],
        );
        u.id = Number(row!.id);
        for (const id of u.ids) {
          await loadDevice(db, id, u.rows);
          await db.query('UPDATE devices.devices SET owner_id = $1 WHERE id = $2', [u.id, id]);
        }
      }
      log(`  loaded and indexed in ${fmt((performance.now() - t0) / 1000, 1)} s; vacuum analyze`);
      const app = await devicesApp(db, env);
      const raw = createAggregatesStore(db);
      const rows: string[][] = [];
      const p50s: number[][] = [];
      try {
        for (const u of users) {
          const span = (u.rows - 1) * 1000;
          const start = new Date(T0 + span / 4);
          const end = new Date(T0 + (3 * span) / 4);
          const get = (url: string) => async () => {
            const res = await app.http.inject({ method: 'GET', url });
            if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
          };
          log(`  user ${u.label}: queries`);
          const all = await timing(get(`/users/${u.id}/data`), SAMPLES, RAW_BUDGET_MS);
          const half = await timing(
            get(`/users/${u.id}/data?start_date=${start.toISOString()}&end_date=${end.toISOString()}`),
            SAMPLES,
            RAW_BUDGET_MS,
          );
          const allRaw = await timing(
            () => raw.rawForOwner(u.id, { start: null, end: null }),
            SAMPLES,
            RAW_BUDGET_MS,
          );
          const halfRaw = await timing(() => raw.rawForOwner(u.id, { start, end }), SAMPLES, RAW_BUDGET_MS);
          rows.push([
            u.label,
            fmt(u.rows * u.ids.length),
            cell(all),
            cell(allRaw),
            cell(half),
            cell(halfRaw),
          ]);
          p50s.push([all.p50, all.p99, half.p50, half.p99]);
        }
      } finally {
        await app.close();
      }
      for (const [label, over, under] of [
        [`${devices} × ${fmt(ROWS)} ÷ 1 × ${fmt(SMALL_ROWS)}`, 2, 0],
        [`${devices} × ${fmt(ROWS)} ÷ ${devices} × ${fmt(SMALL_ROWS)} (history ×${ROWS / SMALL_ROWS})`, 2, 1],
      ] as const) {
        const r = p50s[over]!.map((v, i) => (v / p50s[under]![i]!).toFixed(1));
        rows.push([label, '', `${r[0]}× / ${r[1]}×`, '', `${r[2]}× / ${r[3]}×`, '']);
      }
      return rows;
    } finally {
      await db.close().catch(() => {});
    }
  });
}

const tables: string[] = [];
for (const kind of dbKinds(args.db)) {
  log(`${kind}: users`);
  const rows = await run(kind);
  tables.push(
    `${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'}: GET /users/{id}/data p50 / p99, ms (in process)\n\n` +
      markdownTable(
        [
          'user',
          'readings',
          'all-time: API (rollups + median indexes)',
          'all-time: raw query',
          'middle half: API',
          'middle half: raw query',
        ],
        rows,
        [1],
      ),
  );
}
console.log(
  `\ndevices users benchmark: ${os.cpus().length} CPUs, load average ${loadAverage()} at the end ` +
    '(other processes share the machine)\n',
);
for (const t of tables) console.log(`${t}\n`);
