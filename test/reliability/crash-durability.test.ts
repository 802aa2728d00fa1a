/**
 * Crash durability: while clients post to `/devices/{id}/data`, `/api/data` and `/sensor-data`, the
 * server is killed with SIGKILL at a random moment; after the restart every record a client got a 2xx
 * for is there, exactly once. Each route's records carry a unique marker (x, uri, payload) so a
 * duplicate is counted too. On PGlite (a temp DATA_DIR) and on PostgreSQL (a scratch database).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../src/platform/db';
import { bySize, mode } from './support/mode';
import {
  createPrivatePostgres,
  type PrivatePostgres,
  postgresUnreachable,
  privatePostgresUnavailable,
  scratchDatabase,
} from './support/postgres';
import { allLogIds, randomBetween, type Server, startServer, withTempDir } from './support/processes';

const TRIALS = bySize({ short: 3, full: 20 });
const LOOPS_PER_ROUTE = 4;

/** What the clients were acknowledged, keyed by each record's unique marker. */
interface Acked {
  devices: Map<number, { device: string; id: number }>; // x -> reading
  logs: Map<string, string>; // id -> uri
  sensor: Set<number>; // payload
  outdated: number;
}

let seq = 0;
const next = () => ++seq;

/** Posts from LOOPS_PER_ROUTE loops per route until the server stops answering; records every 2xx. */
async function pound(url: string, trial: number, acked: Acked, stop: AbortSignal): Promise<void> {
  const agent = new Agent({ connections: 3 * LOOPS_PER_ROUTE, headersTimeout: 20_000, bodyTimeout: 20_000 });
  const post = async (path: string, body: unknown) => {
    const r = await request(`${url}${path}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
  };
  const loop = async (send: () => Promise<void>) => {
    try {
      while (!stop.aborted) await send();
    } catch {
      // No answer: the server is gone. Whatever was in flight is unknown, not acknowledged.
    }
  };
  const loops: Promise<void>[] = [];
  for (let c = 0; c < LOOPS_PER_ROUTE; c++) {
    const device = `rel-crash-${c}`;
    loops.push(
      loop(async () => {
        const x = next();
        const r = await post(`/devices/${device}/data`, { x, y: trial, z: c });
        if (r.status === 201) acked.devices.set(x, { device, id: r.json.id as number });
      }),
      loop(async () => {
        const uri = `/rel/${trial}/${next()}`;
        const r = await post('/api/data', { log: `10.0.${trial}.${c + 1} POST ${uri} 201` });
        if (r.status === 201) acked.logs.set(r.json.id as string, uri);
      }),
      loop(async () => {
        const payload = next();
        const r = await post('/sensor-data', { datetime: new Date().toISOString(), payload });
        if (r.status === 200 && r.json.accepted === true) acked.sensor.add(payload);
        else if (r.status === 200) acked.outdated++;
      }),
    );
  }
  await Promise.all(loops);
  await agent.destroy();
}

interface Check {
  lost: string[];
  duplicated: string[];
}

/** Every acknowledged record, looked up by its id and marker in the tables themselves. */
async function checkTables(db: Db, acked: Acked): Promise<Check> {
  const out: Check = { lost: [], duplicated: [] };
  const readings = await db.query<{ id: number; x: number; device_id: string }>(
    `select id, x, device_id from devices.readings where device_id like 'rel-crash-%'`,
  );
  const byX = new Map<number, { id: number; device_id: string }[]>();
  for (const r of readings) byX.set(r.x, [...(byX.get(r.x) ?? []), r]);
  for (const [x, a] of acked.devices) {
    const rows = byX.get(x) ?? [];
    if (!rows.some((r) => Number(r.id) === a.id && r.device_id === a.device)) out.lost.push(`device x=${x}`);
    if (rows.length > 1) out.duplicated.push(`device x=${x}`);
  }
  // Each hour's rollup counts exactly its stored readings (maintained in the insert's own statement).
  const rollups = await db.query<{ device_id: string; bucket: string; rolled: number; stored: number }>(
    `select coalesce(r.device_id, g.device_id) as device_id, coalesce(r.bucket, g.bucket)::text as bucket,
       coalesce(r.count, 0)::int as rolled, coalesce(g.n, 0)::int as stored
     from (select device_id, bucket, count from devices.rollups where device_id like 'rel-crash-%') r
     full join (
       select device_id, date_trunc('hour', ts, 'UTC') as bucket, count(*) as n from devices.readings
       where device_id like 'rel-crash-%' group by 1, 2
     ) g on g.device_id = r.device_id and g.bucket = r.bucket
     where coalesce(r.count, 0) <> coalesce(g.n, 0)`,
  );
  for (const m of rollups) {
    const what = `rollup ${m.device_id} ${m.bucket}: ${m.rolled} rolled up, ${m.stored} stored`;
    (m.rolled < m.stored ? out.lost : out.duplicated).push(what);
  }
  const entries = await db.query<{ id: string; uri: string }>(
    `select id::text as id, uri from logs.entries where uri like '/rel/%'`,
  );
  const uriCount = new Map<string, number>();
  const idUri = new Map<string, string>();
  for (const e of entries) {
    uriCount.set(e.uri, (uriCount.get(e.uri) ?? 0) + 1);
    idUri.set(e.id, e.uri);
  }
  for (const [id, uri] of acked.logs) {
    if (idUri.get(id) !== uri) out.lost.push(`log ${id}`);
    if ((uriCount.get(uri) ?? 0) > 1) out.duplicated.push(`log ${uri}`);
  }
  const payloads = await db.query<{ payload: number; n: number }>(
    'select payload, count(*)::int as n from control.readings group by payload',
  );
  const count = new Map(payloads.map((p) => [p.payload, p.n]));
  for (const p of acked.sensor) {
    const n = count.get(p) ?? 0;
    if (n === 0) out.lost.push(`sensor payload=${p}`);
    if (n > 1) out.duplicated.push(`sensor payload=${p}`);
  }
  return out;
}

/** After a restart, the server's own read path has every acknowledged log record, once. */
async function checkLogsOverHttp(url: string, acked: Acked): Promise<Check> {
  const ids = await allLogIds(url);
  const seen = new Set(ids);
  return {
    lost: [...acked.logs.keys()].filter((id) => !seen.has(id)).map((id) => `GET /api/data: ${id}`),
    duplicated: ids.length === seen.size ? [] : [`GET /api/data lists ${ids.length - seen.size} ids twice`],
  };
}

interface Target {
  env: Record<string, string>;
  openDb(): Promise<Db>;
}

async function runTrials(label: string, target: Target) {
  const env = {
    ...target.env,
    // A long interval keeps retention (max(10 min, 3 intervals)) from deleting the readings we check.
    CONTROL_DECISION_INTERVAL: '3600',
    MANIPULATOR_PORT: '9', // discard: nothing listens; commands are simply undelivered
  };
  const acked: Acked = { devices: new Map(), logs: new Map(), sensor: new Set(), outdated: 0 };
  const httpProblems: Check = { lost: [], duplicated: [] };
  let restartMs = 0;
  let server: Server = await startServer(`${label}-serve`, env);
  try {
    for (let trial = 1; trial <= TRIALS; trial++) {
      const stop = new AbortController();
      const clients = pound(server.url, trial, acked, stop.signal);
      await sleep(randomBetween(300, 2500));
      await server.proc.kill();
      stop.abort();
      await clients;
      const t0 = Date.now();
      server = await startServer(`${label}-serve-${trial}`, env);
      restartMs = Math.max(restartMs, Date.now() - t0);
      const http = await checkLogsOverHttp(server.url, acked);
      httpProblems.lost.push(...http.lost);
      httpProblems.duplicated.push(...http.duplicated);
    }
    const { code } = await server.proc.stop();
    expect(code, 'graceful stop after the trials').toBe(0);
  } finally {
    await server.proc.kill();
  }
  const db = await target.openDb();
  let tables: Check;
  try {
    tables = await checkTables(db, acked);
  } finally {
    await db.close();
  }
  const total = acked.devices.size + acked.logs.size + acked.sensor.size;
  console.log(
    `crash-durability ${label} (${mode}): trials=${TRIALS} acknowledged=${total} ` +
      `(devices=${acked.devices.size} logs=${acked.logs.size} sensor=${acked.sensor.size}, ` +
      `sensor outdated=${acked.outdated}) lost=${tables.lost.length} ` +
      `duplicated=${tables.duplicated.length} lost_via_http=${httpProblems.lost.length} ` +
      `duplicated_via_http=${httpProblems.duplicated.length} max_restart_ms=${restartMs}`,
  );
  // Enough acknowledged writes on every route that a lost batch would show.
  expect(acked.devices.size).toBeGreaterThan(TRIALS * 10);
  expect(acked.logs.size).toBeGreaterThan(TRIALS * 10);
  expect(acked.sensor.size).toBeGreaterThan(TRIALS * 10);
  expect(httpProblems.lost.slice(0, 10), 'lost (seen through GET /api/data after a restart)').toEqual([]);
  expect(tables.lost.slice(0, 10), 'lost (in the tables)').toEqual([]);
  expect([...httpProblems.duplicated, ...tables.duplicated].slice(0, 10), 'duplicated').toEqual([]);
}

/** A scratch database on the shared server, or on a private instance when that one is not reachable. */
async function postgresTarget(): Promise<(Target & { cleanup(): Promise<void> }) | string> {
  const admin = process.env.RELIABILITY_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  let privatePg: PrivatePostgres | null = null;
  let adminUrl = admin;
  if (await postgresUnreachable(adminUrl)) {
    const why = privatePostgresUnavailable();
    if (why) return `PostgreSQL at ${admin} is not reachable and no private instance can be made: ${why}`;
    privatePg = await createPrivatePostgres();
    adminUrl = privatePg.url;
  }
  const db = await scratchDatabase(adminUrl);
  return {
    env: { DATABASE_URL: db.url },
    openDb: () => openDb({ databaseUrl: db.url, poolSize: 2 }),
    async cleanup() {
      await db.drop();
      privatePg?.destroy();
    },
  };
}

describe('crash durability under kill -9', () => {
  it(`PGlite: every acknowledged record survives ${TRIALS} kills`, async () => {
    await withTempDir('crash', (dir) =>
      runTrials('pglite', {
        env: { DATA_DIR: dir },
        openDb: () => openDb({ dataDir: dir }),
      }),
    );
  });

  it(`PostgreSQL: every acknowledged record survives ${TRIALS} kills`, async (ctx) => {
    const target = await postgresTarget();
    if (typeof target === 'string') {
      console.log(`crash-durability postgres: SKIPPED: ${target}`);
      ctx.skip();
      return;
    }
    try {
      await runTrials('postgres', target);
    } finally {
      await target.cleanup();
    }
  });
});
