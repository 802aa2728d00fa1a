/**
 * What the devices benchmarks share: bulk-loading a device's history around the insert path (as an
 * import would), and p50/p99 timing of a query.
 */
import { createApp } from '../src/app';
import { createDevicesModule } from '../src/modules/devices/index';
import { createMedianIndex } from '../src/modules/devices/median.index';
import { createRollupsStore } from '../src/modules/devices/rollups.store';
import { loadConfig } from '../src/platform/config';
import type { Db } from '../src/platform/db';
import { createLogger } from '../src/platform/logger';
import { quantile } from '../src/stats/descriptive';
import { fmt, log } from './_support';

export const T0 = Date.parse('2025-01-01T00:00:00Z');
export const DAY = 86_400_000;

/** One device with `n` readings, one per second from T0, loaded in 1M-row statements; then its rollups. */
export async function loadDevice(db: Db, id: string, n: number): Promise<void> {
  const t0 = performance.now();
  await db.query('INSERT INTO devices.devices (id) VALUES ($1) ON CONFLICT DO NOTHING', [id]);
  for (let from = 0; from < n; from += 1_000_000) {
    const to = Math.min(n, from + 1_000_000) - 1;
    await db.query(
      `INSERT INTO devices.readings (device_id, ts, x, y, z)
       SELECT $1, $2::timestamptz + i * interval '1 second',
         round((random() * 20 - 10)::numeric, 3)::float8, random() * 20 - 10, random()
       FROM generate_series($3::int, $4::int) i`,
      [id, new Date(T0).toISOString(), from, to],
    );
    process.stderr.write(`  ${id}: ${fmt(to + 1)} rows\r`);
  }
  await createRollupsStore(db).rebuild([id]);
  log(`  ${id}: ${fmt(n)} rows + rollups in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  // What the background indexer does for a device loaded around the insert path.
  const t1 = performance.now();
  await createMedianIndex(db).refresh([id], true);
  log(`  ${id}: median index built in ${fmt((performance.now() - t1) / 1000, 1)} s`);
}

/** p50/p99 of `fn` over `samples` calls, or as many as fit in `budgetMs` (at least 3), after a warm-up. */
export async function timing(
  fn: () => Promise<unknown>,
  samples: number,
  budgetMs = Number.POSITIVE_INFINITY,
) {
  // Warm-up: three calls, or one when a call takes over a second (the raw query at millions of rows).
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await fn();
    if (performance.now() - t > 1000) break;
  }
  const ms: number[] = [];
  const start = performance.now();
  while (ms.length < samples && (ms.length < 3 || performance.now() - start < budgetMs)) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  const sorted = Float64Array.from(ms).sort();
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), n: ms.length };
}
export const cell = (t: { p50: number; p99: number; n: number }) =>
  `${t.p50 < 100 ? t.p50.toFixed(2) : fmt(t.p50)} / ${t.p99 < 100 ? t.p99.toFixed(2) : fmt(t.p99)}${t.n < 20 ? ` (n=${t.n})` : ''}`;

/** After a bulk load: VACUUM ANALYZE and a checkpoint, then the devices API in this process (no statement timeout). */
export async function devicesApp(db: Db, env: Record<string, string | undefined>) {
  await db.exec('VACUUM ANALYZE');
  await db.exec('CHECKPOINT');
  const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'silent', DB_STATEMENT_TIMEOUT_MS: '0' });
  return createApp({
    config,
    role: 'api',
    db,
    logger: createLogger('silent'),
    modules: [createDevicesModule],
    migrate: false,
  });
}
