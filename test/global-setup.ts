/**
 * Migrates one template database per test run, so each test file starts from a fresh copy:
 * PGlite: a migrated data-dir dump that every file loads into its own in-memory instance;
 * PostgreSQL (DATABASE_URL set): a template database that every file clones with CREATE DATABASE.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { compiledEntry } from '../scripts/build.mjs';
import { openDb } from '../src/platform/db';
import { createJobs } from '../src/platform/jobs';
import { createLogger } from '../src/platform/logger';
import { migrate, migrationSetsOnDisk } from '../src/platform/migrate';

const logger = createLogger('silent');

/** Set to this process's pid once the template exists: every vitest project runs this setup, the first makes it. */
const MADE_BY = 'TELELAB_TEST_TEMPLATE_MADE_BY';

export default async function setup() {
  if (process.env.TELELAB_TEST_TEMPLATE && process.env[MADE_BY] === String(process.pid)) return;
  process.env[MADE_BY] = String(process.pid);
  // The tests that spawn `bin/telelab.js` run this build (it sets TELELAB_COMPILED_ENTRY, which they
  // inherit) instead of each checking the sources, and rebuilding side by side when they changed.
  await compiledEntry();
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openDb({ memory: true });
    await migrate(db, migrationSetsOnDisk());
    const jobs = createJobs({ db, logger });
    await jobs.start({ work: false });
    await jobs.stop();
    const dump = await db.pglite!.dumpDataDir('none');
    await db.close();
    const file = path.join(os.tmpdir(), `telelab-test-template-${process.pid}.tar`);
    writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
    process.env.TELELAB_TEST_TEMPLATE = file;
    return;
  }
  const template = `telelab_tpl_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${template}`);
  const u = new URL(url);
  u.pathname = `/${template}`;
  const db = await openDb({ databaseUrl: u.toString() });
  await migrate(db, migrationSetsOnDisk());
  const jobs = createJobs({ db, logger });
  await jobs.start({ work: false });
  await jobs.stop();
  await db.close();
  process.env.TELELAB_TEST_TEMPLATE = template;
  return async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
  };
}
