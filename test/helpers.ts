/**
 * Test helpers: every test file gets its own database (see global-setup.ts) and its own app.
 * The same tests run on PGlite and, with DATABASE_URL set, on PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import pino from 'pino';
import { type CreateAppOptions, createApp, type TelelabApp } from '../src/app';
import { type Config, loadConfig } from '../src/platform/config';
import { type Db, openDb } from '../src/platform/db';

export const onPostgres = Boolean(process.env.DATABASE_URL);

const testDbUrls = new WeakMap<Db, string>();

/**
 * Another handle on the same test database, as a second process would have: its own pool on
 * PostgreSQL; on PGlite (one connection, one process) the same handle. Close it before the first.
 */
export async function openSecondHandle(db: Db): Promise<Db> {
  const url = testDbUrls.get(db);
  if (!url) return { ...db, close: async () => {} };
  return openDb({ databaseUrl: url, poolSize: 5 });
}

/** A fresh database cloned from the migrated template; dropped when closed. */
export async function openTestDb(): Promise<Db> {
  const template = process.env.TELELAB_TEST_TEMPLATE;
  if (!template) throw new Error('test/global-setup.ts did not run (TELELAB_TEST_TEMPLATE unset)');
  if (!onPostgres) {
    return openDb({ memory: true, loadDataDir: new Blob([readFileSync(template)]) });
  }
  const url = process.env.DATABASE_URL!;
  const name = `telelab_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = await openDb({ databaseUrl: u.toString(), poolSize: 5 });
  testDbUrls.set(db, u.toString());
  const close = db.close.bind(db);
  let closed = false;
  const testDb = Object.assign(db, {
    async close() {
      if (closed) return;
      closed = true;
      await close();
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => a.end());
    },
  });
  // Dropped after the file's tests even if the test never closes it.
  afterFile(() => testDb.close());
  return testDb;
}

/** A validated config for tests: `env` on top of the defaults, logging silenced. */
export function testConfig(env: Record<string, string> = {}, overrides: Partial<Config> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', ...env }, overrides);
}

export interface TestApp extends TelelabApp {}

/**
 * Silent, except that a shutdown that hangs says what it waits for (app.close() logs it every 10 s),
 * so a test's close that times out names its cause in the output.
 */
const testLogger = pino(
  { level: 'warn' },
  {
    write(line: string) {
      if (line.includes('"msg":"shutdown:')) process.stderr.write(`[test app] ${line}`);
    },
  },
);

// vitest silently drops an `afterAll` registered inside a test or hook, so apps built there were
// never closed (and their PostgreSQL databases never dropped). test/setup.ts runs these lists after
// every test and file instead (this module, like every module, is loaded once per worker).
const fileCleanups: (() => unknown)[] = [];
const testCleanups: (() => unknown)[] = [];

/** Runs and empties `list`, latest first. */
async function drain(list: (() => unknown)[]): Promise<void> {
  for (const cleanup of list.splice(0).reverse()) await cleanup();
}

/** Closes what the file's tests built (afterFile, buildTestApp, openTestDb). */
export const runFileCleanups = () => drain(fileCleanups);
/** Closes what the test just run registered with afterTest. */
export const runTestCleanups = () => drain(testCleanups);

/** Runs `fn` after the current test (latest first). */
export function afterTest(fn: () => unknown): void {
  testCleanups.push(fn);
}

/** Runs `fn` after the file's tests (latest first), also when called inside a test, unlike afterAll. */
export function afterFile(fn: () => unknown): void {
  fileCleanups.push(fn);
}

/**
 * Builds the app on a fresh database; closed (with its database) after the file's tests.
 * Pass `modules` to build only what a test needs.
 */
export async function buildTestApp(
  opts: Partial<Omit<CreateAppOptions, 'config'>> & { env?: Record<string, string>; config?: Config } = {},
): Promise<TestApp> {
  const db = opts.db ?? (await openTestDb());
  const app = await createApp({
    role: 'serve',
    ...opts,
    config: opts.config ?? testConfig(opts.env),
    db,
    logger: opts.logger ?? testLogger,
    migrate: opts.migrate ?? false,
  });
  fileCleanups.push(async () => {
    await app.close();
    if (!opts.db) await db.close();
  });
  return app;
}
