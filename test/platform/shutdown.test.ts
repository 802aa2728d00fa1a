/**
 * Graceful shutdown and readiness: `app.close()` answers what it accepted before it closes, and
 * /readyz tells a load balancer when the database is gone.
 */
import http from 'node:http';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { BatchWriter } from '../../src/platform/batch-writer';
import type { Db } from '../../src/platform/db';
import { createHttp } from '../../src/platform/http/server';
import { createLogger } from '../../src/platform/logger';
import type { ModuleFactory } from '../../src/platform/module';
import { sseStream } from '../../src/platform/sse';
import { buildTestApp, onPostgres, openTestDb } from '../helpers';

/** A module that ingests `{n}` through a BatchWriter into `table` and stops the writer in stop(). */
function sinkModule(table: string, maxDelayMs: number) {
  const state: { writer: BatchWriter<number> | null; stopped: boolean } = { writer: null, stopped: false };
  const factory: ModuleFactory = ({ db }) => {
    const writer = new BatchWriter<number>({
      name: table,
      maxRows: 1000,
      maxDelayMs,
      async flush(rows) {
        await db.query(`insert into ${table} (n) select * from unnest($1::int[])`, [rows]);
        return rows.map(() => undefined);
      },
    });
    state.writer = writer;
    return {
      name: 'sink',
      routes(app) {
        app.post<{ Body: { n: number } }>('/sink', async (req) => {
          await writer.write(req.body.n);
          return { stored: req.body.n };
        });
      },
      async stop() {
        await writer.close();
        state.stopped = true;
      },
    };
  };
  return { factory, state };
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function countRows(db: Db, table: string): Promise<number> {
  const rows = await db.query<{ n: number }>(`select count(*)::int as n from ${table}`);
  return rows[0]!.n;
}

/** A database of the test's own, so the test can break it without touching other tests. */
async function ownDb(table?: string): Promise<Db> {
  const db = await openTestDb();
  if (table) await db.exec(`create table ${table} (n int not null)`);
  return db;
}

describe('graceful shutdown', () => {
  it('app.close() flushes rows a module accepted but had not written yet', async () => {
    const db = await ownDb('sink_close');
    try {
      const sink = sinkModule('sink_close', 60_000); // without close these rows would wait a minute
      const app = await buildTestApp({ db, modules: [sink.factory] });
      const accepted = [1, 2, 3].map((n) => sink.state.writer!.write(n));
      await new Promise((r) => setTimeout(r, 50));
      expect(await countRows(db, 'sink_close')).toBe(0);

      await app.close();
      expect(sink.state.stopped).toBe(true);
      await expect(Promise.all(accepted)).resolves.toHaveLength(3);
      expect(await countRows(db, 'sink_close')).toBe(3);
      await expect(sink.state.writer!.write(4)).rejects.toMatchObject({ status: 503, code: 'SHUTTING_DOWN' });
    } finally {
      await db.close();
    }
  });

  it('answers a request that is in flight when the server starts closing, then refuses new ones', async () => {
    const db = await ownDb('sink_inflight');
    try {
      const sink = sinkModule('sink_inflight', 300);
      const app = await buildTestApp({ db, modules: [sink.factory], env: { PORT: '0' } });
      const base = (await app.listen()).replace('[::1]', 'localhost');
      const inFlight = fetch(`${base}/sink`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: 42 }),
      });
      while (sink.state.writer!.queued === 0) await new Promise((r) => setTimeout(r, 5));

      const closing = app.close();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ stored: 42 });
      // A kept-alive connection must not hold close() open for the 72 s keep-alive timeout.
      await expect(within(closing, 5_000)).resolves.toBeUndefined();
      expect(await countRows(db, 'sink_inflight')).toBe(1);
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    } finally {
      await db.close();
    }
  });
});

describe('/readyz', () => {
  it('answers 503 DATABASE_UNAVAILABLE once the database handle is closed', async () => {
    const db = await ownDb();
    const app = await buildTestApp({ db, modules: [] });
    expect((await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

    await db.close();
    const res = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
    expect(res.headers['retry-after']).toBe('2');
    expect((await app.http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close(); // shutting down with the database gone still finishes
  });

  it.skipIf(!onPostgres)(
    'answers 503 while PostgreSQL refuses connections and 200 once it is back',
    async () => {
      const db = await ownDb();
      const app = await buildTestApp({ db, modules: [] });
      const [{ name }] = (await db.query<{ name: string }>('select current_database() as name')) as [
        { name: string },
      ];
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      try {
        await admin.query(`alter database ${name} allow_connections false`);
        await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [name],
        );
        const down = await app.http.inject({ method: 'GET', url: '/readyz' });
        expect(down.statusCode).toBe(503);
        expect(down.json().code).toBe('DATABASE_UNAVAILABLE');

        await admin.query(`alter database ${name} allow_connections true`);
        const up = await app.http.inject({ method: 'GET', url: '/readyz' });
        expect(up.statusCode).toBe(200);
      } finally {
        await admin.query(`alter database ${name} allow_connections true`).catch(() => {});
        await admin.end();
        await app.close();
        await db.close();
      }
    },
  );
});

describe('close() with clients that keep their connections', () => {
  /** Routes whose responses end only after close() began: an event stream, and a body sent late. */
  const streams: ModuleFactory = () => ({
    name: 'streams',
    routes(app) {
      app.get('/stream', async (req, reply) => sseStream(req, reply, () => () => {}));
      app.get('/late-body', async (_req, reply) => {
        reply.raw.writeHead(200, { 'content-type': 'text/plain' });
        reply.raw.write('started ');
        setTimeout(() => reply.raw.end('finished'), 300);
        return reply.hijack();
      });
    },
  });

  /** A GET through a keep-alive agent (as a browser keeps its connections): resolves with the body. */
  function get(url: string, agent: http.Agent, onHeaders: () => void): Promise<string> {
    return new Promise((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          onHeaders();
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  }

  for (const path of ['/stream', '/late-body']) {
    it(`returns promptly when ${path} ends after close() began and its client keeps the connection`, async () => {
      const app = await buildTestApp({ modules: [streams], env: { PORT: '0' } });
      const base = (await app.listen()).replace('[::1]', 'localhost');
      const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
      try {
        let headers!: () => void;
        const started = new Promise<void>((r) => (headers = r));
        const body = get(`${base}${path}`, agent, headers);
        await started;
        const closing = app.close();
        expect(await body).toMatch(path === '/stream' ? /^: connected/ : /^started finished$/);
        // The response ended after close() began: its kept-alive connection must not hold close()
        // open for the 72 s keep-alive timeout.
        await expect(within(closing, 5_000)).resolves.toBeUndefined();
      } finally {
        agent.destroy();
      }
    });
  }

  it('destroys a connection whose request is still running after the grace period', async () => {
    const http1 = await createHttp({
      logger: createLogger('silent'),
      bodyLimit: 1024,
      version: 'test',
      closeGraceMs: 300,
    });
    http1.get('/never', () => new Promise(() => {}));
    const base = (await http1.listen({ port: 0, host: '127.0.0.1' })).replace('[::1]', 'localhost');
    const agent = new http.Agent({ keepAlive: true });
    try {
      const answer = get(`${base}/never`, agent, () => {});
      await new Promise((r) => setTimeout(r, 100));
      await within(http1.close(), 5_000);
      await expect(answer).rejects.toThrow(/socket hang up|ECONNRESET/);
    } finally {
      agent.destroy();
    }
  });
});
