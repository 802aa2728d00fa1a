/**
 * One database interface over two drivers: PGlite (embedded, default) and node-postgres (DATABASE_URL).
 * Both speak the PostgreSQL dialect, so stores write plain SQL once. Driver differences are
 * normalised here: int8 comes back as a JS number on both, timestamptz as Date on both, and
 * connection-level failures become a 503 ServiceError instead of a 500.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { acquireDirLock, type DirLock } from './dir-lock';
import { ServiceError, unavailable } from './errors';

export type Row = Record<string, unknown>;

export interface Queryable {
  query<R = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** drizzle over the same connection(s), for modules that prefer the query builder. */
  readonly orm: ReturnType<typeof drizzlePg> | ReturnType<typeof drizzlePglite>;
  /** Several statements without parameters in one round trip (DDL, scripts). */
  exec(sql: string): Promise<void>;
  /**
   * Runs fn in one transaction; keep it short: PGlite has a single connection. `snapshot`: read-only,
   * REPEATABLE READ (every statement sees the same snapshot), for reads that must agree with each other.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: { snapshot?: boolean }): Promise<T>;
  /** Raw PGlite handle, or null on PostgreSQL (pg-boss adapter, dumps in tests). */
  readonly pglite: PGlite | null;
  /** Raw pg pool, or null on PGlite. */
  readonly pool: pg.Pool | null;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  dataDir?: string;
  /** In-memory PGlite (tests); `loadDataDir` restores a migrated template. */
  memory?: boolean;
  loadDataDir?: Blob;
  poolSize?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  applicationName?: string;
}

const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;
// Counts and ids we store in int8 stay far below 2^53; beyond it keep the exact string.
const parseInt8 = (v: string) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
};

/** SQLSTATE classes and socket errors that mean "the database is not reachable now". */
export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '57014'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code))
    return true;
  const msg = typeof err?.message === 'string' ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|PGlite is closed|Query read timeout/i.test(
    msg,
  );
}

/**
 * Data exceptions the database raises for values a client sent (a number beyond the column's range,
 * a NUL character, a year PostgreSQL cannot store, a malformed uuid). Validation should catch them
 * first; this net keeps one that slips through a 400 instead of a 500.
 */
const CLIENT_DATA_ERRORS = new Set(['22003', '22021', '22P05', '22007', '22008', '22P02', '54000']);

function mapError(e: unknown): never {
  if (isConnectionError(e)) throw unavailable('DATABASE_UNAVAILABLE', 'The database is not reachable', 2, e);
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CLIENT_DATA_ERRORS.has(code)) {
    const message = String((e as { message?: unknown }).message ?? '').slice(0, 200);
    throw new ServiceError(
      'INVALID_VALUE',
      400,
      `A value in the request cannot be stored or compared: ${message}`,
      {
        cause: e,
      },
    );
  }
  throw e;
}

export async function openDb(opts: OpenDbOptions): Promise<Db> {
  return opts.databaseUrl ? openPostgres(opts) : openPglite(opts);
}

async function openPostgres(opts: OpenDbOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 2000,
    statement_timeout: opts.statementTimeoutMs || undefined,
    // The server enforces statement_timeout, so a server that stops answering altogether (frozen,
    // network partition) needs a client-side bound too, or requests would hang as long as it lasts.
    query_timeout: opts.statementTimeoutMs ? opts.statementTimeoutMs + 1000 : undefined,
    application_name: opts.applicationName ?? 'telelab',
    // No JIT: telelab's statements are short, and a plan whose estimate crosses jit_above_cost (a
    // LATERAL over a big table, even one that runs zero times) paid 200-300 ms of compilation for a
    // 5 ms query (measured on the devices median index, PostgreSQL 15).
    options: '-c jit=off',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8_OID) return parseInt8;
        if (oid === INT8_ARRAY_OID) {
          const parseArray = pg.types.getTypeParser(oid as never, format) as (v: string) => (string | null)[];
          return (v: string) => parseArray(v).map((x) => (x === null ? null : parseInt8(x)));
        }
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const query = async <R = Row>(text: string, params?: readonly unknown[]) => {
    try {
      return (await pool.query(text, params as unknown[])).rows as R[];
    } catch (e) {
      return mapError(e);
    }
  };
  const db: Db = {
    kind: 'postgres',
    orm: drizzlePg({ client: pool }),
    pglite: null,
    pool,
    query,
    async exec(sql) {
      await query(sql);
    },
    async transaction(fn, options) {
      let client: pg.PoolClient;
      let broken = false;
      try {
        client = await pool.connect();
      } catch (e) {
        return mapError(e);
      }
      // A connection dying mid-transaction emits 'error' on the client; unhandled, it would end the
      // process. The failing query reports it (as a 503) instead.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      const tx: Queryable = {
        async query<R = Row>(text: string, params?: readonly unknown[]) {
          try {
            return (await client.query(text, params as unknown[])).rows as R[];
          } catch (e) {
            return mapError(e);
          }
        },
      };
      try {
        await tx.query(options?.snapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
        const out = await fn(tx);
        await tx.query('COMMIT');
        return out;
      } catch (e) {
        // A connection that failed (or timed out) is discarded, not rolled back: a ROLLBACK on it would
        // wait for the same dead server once more.
        if ((e as { status?: number }).status === 503) broken = true;
        if (!broken) {
          try {
            await client.query('ROLLBACK');
          } catch {
            broken = true;
          }
        }
        throw e;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
  // Fail fast with a clear message when the server is not there at start.
  await db.query('select 1');
  return db;
}

async function openPglite(opts: OpenDbOptions): Promise<Db> {
  let lock: DirLock | null = null;
  let dataDir: string | undefined;
  if (!opts.memory) {
    dataDir = path.resolve(opts.dataDir ?? './.telelab', 'pgdata');
    mkdirSync(dataDir, { recursive: true });
    lock = acquireDirLock(path.dirname(dataDir), 'embedded database');
  }
  let client: PGlite;
  try {
    client = new PGlite({
      ...(dataDir ? { dataDir } : {}),
      ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
      // The default 128MB of shared buffers costs RSS for nothing at this scale.
      postgresqlconf: ['shared_buffers=16MB'],
    });
    await client.waitReady;
  } catch (e) {
    lock?.release();
    throw e;
  }
  const query = async <R = Row>(text: string, params?: readonly unknown[]) => {
    try {
      return (await client.query<R>(text, params as unknown[])).rows;
    } catch (e) {
      return mapError(e);
    }
  };
  return {
    kind: 'pglite',
    orm: drizzlePglite({ client }),
    pglite: client,
    pool: null,
    query,
    async exec(sql) {
      try {
        await client.exec(sql);
      } catch (e) {
        mapError(e);
      }
    },
    // One connection: nothing else runs (or commits) inside a transaction, so every transaction
    // already reads one snapshot.
    transaction(fn) {
      return client.transaction((t) =>
        fn({
          async query<R = Row>(text: string, params?: readonly unknown[]) {
            try {
              return (await t.query<R>(text, params as unknown[])).rows;
            } catch (e) {
              return mapError(e);
            }
          },
        }),
      );
    },
    async close() {
      try {
        if (!client.closed) await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}
