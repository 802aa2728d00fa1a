/**
 * PostgreSQL for the reliability suite: a scratch database on an existing server (dropped afterwards),
 * or a private instance (initdb into a temp dir, as the postgres user) that a test may stop, freeze
 * and start again.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, tempDir } from './processes';

/** Why the server at `url` cannot be used (it does not answer `select 1` within 3 s), or null. */
export async function postgresUnreachable(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return null;
  } catch (e) {
    return `PostgreSQL at ${new URL(url).host} is not reachable (${(e as Error).message})`;
  } finally {
    await c.end().catch(() => {});
  }
}

export interface ScratchDatabase {
  url: string;
  name: string;
  /** Drops the database (and its connections). */
  drop(): Promise<void>;
}

/** A fresh, empty database on the server of `baseUrl`. */
export async function scratchDatabase(baseUrl: string): Promise<ScratchDatabase> {
  const name = `telelab_rel_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      const a = new pg.Client({ connectionString: baseUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => a.end());
    },
  };
}

// ---- a private PostgreSQL instance (initdb into a temp dir, as the postgres user) ----

const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  url: string;
  port: number;
  /** pg_ctl start/stop -m fast, waiting until done (asynchronously: the test's clients keep running). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT the server and its backends: a database that accepts TCP but never answers. */
  freeze(): void;
  thaw(): void;
  destroy(): void;
}

/** Why a private instance cannot be made here, or null when it can. */
export function privatePostgresUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root (initdb must run as the postgres user)';
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
  } catch {
    return 'no postgres system user';
  }
  try {
    execFileSync(`${PG_BIN}/initdb`, ['--version'], { stdio: 'ignore' });
  } catch {
    return `no ${PG_BIN}/initdb`;
  }
  return null;
}

const asPostgres = (cmd: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/${cmd}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });

/** Sends a signal to the postmaster of `data` and every process it started. */
function signalServer(data: string, signal: NodeJS.Signals): void {
  const postmaster = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)])
    .toString()
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((pid) => pid > 0);
  for (const pid of [postmaster, ...children]) process.kill(pid, signal);
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const tmp = tempDir('pg');
  const data = path.join(tmp.dir, 'data');
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  chmodSync(tmp.dir, 0o755);
  chownSync(tmp.dir, uid, gid);
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const log = path.join(tmp.dir, 'server.log');
  const pgctl = async (...args: string[]) => {
    await promisify(execFile)(
      'runuser',
      ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', data, '-l', log, ...args],
      {
        timeout: 60_000,
      },
    );
  };
  const instance: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () =>
      pgctl('-w', '-t', '30', '-o', `-p ${port} -k ${tmp.dir} -c listen_addresses=127.0.0.1`, 'start'),
    stop: () => pgctl('-w', '-t', '30', '-m', 'fast', 'stop'),
    freeze: () => signalServer(data, 'SIGSTOP'),
    thaw: () => signalServer(data, 'SIGCONT'),
    destroy() {
      try {
        signalServer(data, 'SIGCONT');
      } catch {
        // not running
      }
      try {
        asPostgres('pg_ctl', ['-D', data, '-w', '-t', '30', '-m', 'immediate', 'stop']);
      } catch {
        // not running
      }
      tmp.remove();
    },
  };
  await instance.start();
  return instance;
}
