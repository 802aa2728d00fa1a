/**
 * Who runs the decision loop. Exactly one process at a time: on PostgreSQL the holder of a session
 * advisory lock, taken on a dedicated connection that stays checked out of the pool while this process
 * leads; on PGlite (one process per data directory, enforced by the dir lock) always this process.
 *
 * The lock lives exactly as long as the session: a leader that exits or crashes closes its socket and
 * the server frees the lock at once; followers try again at every decision time, so one of them decides
 * the next t_k. A leader whose machine vanishes is noticed through the TCP keepalives set on the session
 * (about 11 s). The leader runs its decision queries on the same session, so a lost session shows up as a
 * failed query and the process steps down; the primary key on decisions.decided_at keeps a stale leader
 * from recording a second decision for the same time.
 *
 * A process that lost its session gives way at its next attempt: it tries the lock `yieldMs` after the
 * others (which try at t_k), so a healthy follower takes over rather than the process whose session just
 * failed winning the lock back by chance. Alone, it still leads again at the next decision time, `yieldMs`
 * late.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Db, Queryable, Row } from '../../platform/db';

/** Session advisory lock key of the controller's leader (migrations use 7_324_001, ab 7_324_005). */
export const LEADER_LOCK_KEY = 7_324_003;
const APP_NAME_PREFIX = 'telelab-control:';

export interface Leadership {
  /** This controller instance (unique per process and instance). */
  readonly id: string;
  readonly isLeader: boolean;
  /** Becomes leader if possible; true when this instance leads now. Never throws. */
  acquire(): Promise<boolean>;
  /** Where the leader runs its queries (the lock session on PostgreSQL). Only valid while leading. */
  readonly session: Queryable;
  /** Steps down after the session failed (the lock is gone with it). */
  lose(): void;
  /** Unlocks and closes the session. */
  release(): Promise<void>;
  /** The id of the leader as the database sees it now, or null when nobody leads. */
  currentLeader(): Promise<string | null>;
}

function newLeaderId(): string {
  const random = Math.random().toString(36).slice(2, 8);
  return `${hostname().slice(0, 30)}:${process.pid}:${random}`;
}

export function createLeadership(
  db: Pick<Db, 'pool' | 'query'>,
  opts: { id?: string; queryTimeoutMs: number; yieldMs: number },
): Leadership {
  const id = opts.id ?? newLeaderId();
  return db.pool ? advisoryLockLeadership(db.pool, db, { ...opts, id }) : soleLeadership(db, id);
}

/** PGlite: a single process owns the database, so the loop that runs is the leader. */
function soleLeadership(db: Queryable, id: string): Leadership {
  let leading = false;
  return {
    id,
    get isLeader() {
      return leading;
    },
    async acquire() {
      leading = true;
      return true;
    },
    session: db,
    lose() {
      leading = false;
    },
    async release() {
      leading = false;
    },
    async currentLeader() {
      return leading ? id : null;
    },
  };
}

function advisoryLockLeadership(
  pool: pg.Pool,
  db: Queryable,
  { id, queryTimeoutMs, yieldMs }: { id: string; queryTimeoutMs: number; yieldMs: number },
): Leadership {
  let client: pg.PoolClient | null = null;
  /** Set when the session failed: the next attempt waits for the others first. */
  let giveWay = false;
  // A checked-out client has no error listener from the pool; without one a dropped connection would
  // crash the process. The failure surfaces on the next query instead.
  const onError = () => {};

  const drop = () => {
    const c = client;
    client = null;
    if (!c) return;
    c.off('error', onError);
    // Destroy rather than return to the pool: the session carries our application_name and settings.
    c.release(true);
  };

  /** A query on the lock session with a client-side timeout (a dead network never answers). */
  const onSession = async <R>(c: pg.PoolClient, text: string, params?: readonly unknown[]): Promise<R[]> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        c.query(text, params as unknown[]),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`leader session query timed out after ${queryTimeoutMs} ms`)),
            queryTimeoutMs,
          );
        }),
      ]);
      return result.rows as R[];
    } finally {
      clearTimeout(timer);
    }
  };

  const session: Queryable = {
    query<R = Row>(text: string, params?: readonly unknown[]): Promise<R[]> {
      if (!client) return Promise.reject(new Error('not the leader'));
      return onSession<R>(client, text, params);
    },
  };

  return {
    id,
    get isLeader() {
      return client !== null;
    },
    async acquire() {
      if (client) return true;
      if (giveWay) {
        giveWay = false;
        await new Promise((resolve) => setTimeout(resolve, yieldMs));
      }
      let c: pg.PoolClient;
      try {
        c = await pool.connect();
      } catch {
        return false;
      }
      c.on('error', onError);
      try {
        const [row] = await onSession<{ ok: boolean }>(c, 'SELECT pg_try_advisory_lock($1) AS ok', [
          LEADER_LOCK_KEY,
        ]);
        if (!row?.ok) {
          c.off('error', onError);
          c.release();
          return false;
        }
        client = c;
        // Who leads is visible to every process through pg_stat_activity (see currentLeader).
        await onSession(c, `SELECT set_config('application_name', $1, false)`, [
          (APP_NAME_PREFIX + id).slice(0, 63),
        ]);
        // The server notices a vanished leader host in ~11 s instead of the system's 2 h default.
        await onSession(
          c,
          `SELECT set_config('tcp_keepalives_idle', '5', false), set_config('tcp_keepalives_interval', '2', false),
                  set_config('tcp_keepalives_count', '3', false)`,
        );
        return true;
      } catch {
        if (client === c) drop();
        else {
          c.off('error', onError);
          c.release(true);
        }
        return false;
      }
    },
    session,
    lose() {
      if (client) giveWay = true;
      drop();
    },
    async release() {
      const c = client;
      if (!c) return;
      await onSession(c, 'SELECT pg_advisory_unlock($1)', [LEADER_LOCK_KEY]).catch(() => {});
      drop();
    },
    async currentLeader() {
      const rows = await db.query<{ name: string }>(
        `SELECT a.application_name AS name
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [LEADER_LOCK_KEY],
      );
      const name = rows[0]?.name;
      if (name === undefined) return null;
      return name.startsWith(APP_NAME_PREFIX) ? name.slice(APP_NAME_PREFIX.length) : name;
    },
  };
}
