/**
 * `telelab up`: the seeds' docker-compose topologies as one process tree on the embedded database.
 * It refuses to start over another instance (a held data directory, a taken port) before it prints
 * anything or starts any load. Each component is a `telelab <command>` child process that dies with
 * us (platform/supervisor.ts); a crash is restarted with backoff, a failure to start is given up on;
 * stopping (any signal, or our parent's death) stops clients first, then the servers, within 5 s.
 */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { EXIT, onShutdown } from './platform/cli-kit';
import type { Config } from './platform/config';
import { describeHolder, lockHolder, processToStop } from './platform/dir-lock';
import { PACKAGE_ROOT } from './platform/paths';
import { type SupervisedChild, supervise } from './platform/supervisor';
import { DEFAULT_DIST_DIR, ensureDashboardBuilt } from './platform/web-build';

/** Children run the compiled CLI (bin/telelab.js rebuilds it first if the source changed). */
const CHILD_NODE_ARGS = [path.join(PACKAGE_ROOT, 'bin', 'telelab.js')];
/** Every child is gone this long after stop() began (SIGKILL for the slow ones). */
const STOP_WITHIN_MS = 3_500;

export interface Component {
  name: string;
  args: string[];
  /** What to print for the user: a URL, an address or a file. */
  shows: string;
  env?: Record<string, string>;
  /** Lines of this child worth echoing on the terminal (everything goes to its log file). */
  echo?: RegExp;
  /** A port it listens on, checked free before anything starts, and the flag or variable that moves it. */
  listens?: { host: string; port: number; fix: string };
}

export interface UpOptions {
  config: Config;
  api: boolean;
  manipulator: boolean;
  sensors: boolean;
  logClient: boolean;
  logSync: boolean;
  latencyTarget: boolean;
  demo: boolean;
  verbose: boolean;
  out?: NodeJS.WritableStream;
}

export function topology(o: UpOptions): Component[] {
  const c = o.config;
  const api = `http://${c.HOST === '0.0.0.0' ? '127.0.0.1' : c.HOST}:${c.PORT}`;
  const dataDir = path.resolve(c.DATA_DIR);
  const threads = process.env.THREADS ?? '4';
  const delay = process.env.REQUESTS_DELAY ?? '500';
  const syncFile = path.join(dataDir, 'logs.ndjson');
  /** A syncer copying the API's records into the one shared file every `intervalMs`. */
  const logSync = (name: string, intervalMs: number, shows: string): Component => ({
    name,
    args: ['log-sync', '--source', api, '--target-file', syncFile, '--interval', String(intervalMs)],
    shows,
  });
  const list: (Component | false)[] = [
    o.manipulator && {
      name: 'manipulator',
      args: ['manipulator', '--host', c.MANIPULATOR_HOST, '--port', String(c.MANIPULATOR_PORT)],
      shows: `tcp://${c.MANIPULATOR_HOST}:${c.MANIPULATOR_PORT}`,
      echo: /Received command/,
      listens: {
        host: c.MANIPULATOR_HOST,
        port: c.MANIPULATOR_PORT,
        fix: 'set MANIPULATOR_PORT=<free port> or run with --no-manipulator',
      },
    },
    o.api && {
      name: 'api',
      args: ['serve'],
      shows: `${api}/  (dashboard)  ${api}/docs  (API)`,
      echo: /Changing status|"level":(50|60)/,
      listens: { host: c.HOST, port: c.PORT, fix: 'set PORT=<free port>' },
    },
    o.latencyTarget && {
      name: 'latency-target',
      args: ['latency-target', '--port', String(c.PORT + 1), '--delay-ms', '20', '--jitter-ms', '10'],
      shows: `http://127.0.0.1:${c.PORT + 1}/api/latency`,
      listens: {
        host: '127.0.0.1',
        port: c.PORT + 1,
        fix: 'set PORT=<free port> (the target takes PORT+1) or run with --no-latency-target',
      },
    },
    o.sensors && {
      name: 'sensors',
      // The mean steps up and down every 30 s, so the controller switches now and then.
      args: ['sensor', '--instances', '8', '--rps', '300', '--target', api, '--schedule', '0:100,30:104@60'],
      shows: `8 x 300 msg/s -> ${api}/sensor-data`,
    },
    o.logClient && {
      name: 'log-client',
      args: ['log-client', '--target', api, '--log-dir', path.join(dataDir, 'log-client')],
      env: { THREADS: threads, REQUESTS_DELAY: delay },
      shows: `THREADS=${threads} REQUESTS_DELAY=${delay} -> ${api}/api/data (files in ${path.join(dataDir, 'log-client')})`,
    },
    o.logSync && logSync('log-sync-1', 1000, syncFile),
    o.logSync && logSync('log-sync-2', 2500, `${syncFile} (same file, another interval)`),
  ];
  return list.filter((x): x is Component => Boolean(x));
}

/** Why this instance cannot start (another one holds the data directory or a port), or null. */
export async function preflight(o: UpOptions, components: Component[]): Promise<string | null> {
  if (!o.config.DATABASE_URL) {
    const dir = path.resolve(o.config.DATA_DIR);
    const holder = lockHolder(dir);
    if (holder)
      return (
        `the data directory ${dir} is in use by ${describeHolder(holder)}; ` +
        `stop it (kill ${processToStop(holder)}) or set DATA_DIR=<another directory>`
      );
  }
  for (const c of components) {
    if (!c.listens || c.listens.port === 0) continue;
    const { host, port, fix } = c.listens;
    if (!(await portFree(host, port))) return `port ${port} on ${host} (${c.name}) is in use; ${fix}`;
  }
  return null;
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code !== 'EADDRINUSE'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function waitReady(url: string, timeoutMs: number, gaveUp: () => boolean): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !gaveUp()) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

export interface Up {
  /** Resolves once every component has been started (or starting was cut short). */
  readonly started: Promise<void>;
  /** Resolves with the exit code once everything has stopped (by stop(), or because the API cannot run). */
  readonly done: Promise<number>;
  stop(): Promise<void>;
}

export function runUp(o: UpOptions): Up {
  const out = o.out ?? process.stdout;
  const say = (line: string) => out.write(`${line}\n`);
  const logDir = path.resolve(o.config.DATA_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const components = topology(o);
  const children: SupervisedChild[] = [];
  let exitCode: number = EXIT.OK;
  let apiGaveUp = false;
  let stopping: Promise<void> | null = null;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const deadline = Date.now() + STOP_WITHIN_MS;
      // Clients first so nothing they send is cut off mid-way, then the servers.
      const isServer = (c: SupervisedChild) => c.name === 'api' || c.name === 'manipulator';
      const clients = children.filter((c) => !isServer(c));
      await Promise.all(clients.map((c) => c.stop(Math.max(0, deadline - Date.now() - 1500))));
      await Promise.all(children.filter(isServer).map((c) => c.stop(Math.max(0, deadline - Date.now()))));
      resolveDone(exitCode);
    })();
    return stopping;
  };

  const launch = (spec: Component) => {
    if (stopping) return;
    const echo = o.verbose ? /./ : spec.echo;
    const child = supervise(
      {
        name: spec.name,
        args: [...CHILD_NODE_ARGS, ...spec.args],
        ...(spec.env ? { env: spec.env } : {}),
        logFile: path.join(logDir, `${spec.name}.log`),
        ...(echo ? { onLine: (l: string) => echo.test(l) && say(`[${spec.name}] ${readable(l)}`) } : {}),
      },
      say,
      () => {
        if (spec.name !== 'api') return;
        apiGaveUp = true;
        exitCode = EXIT.FAILURE;
        say('the API cannot run; stopping everything');
        void stop();
      },
    );
    children.push(child);
  };

  const apiUrl = `http://${o.config.HOST === '0.0.0.0' ? '127.0.0.1' : o.config.HOST}:${o.config.PORT}`;
  const started = (async () => {
    say(`telelab up — embedded database in ${path.resolve(o.config.DATA_DIR)}; logs in ${logDir}`);
    for (const spec of components.filter((c) => c.name === 'manipulator' || c.name === 'api')) launch(spec);
    if (o.api && !(await waitReady(apiUrl, 120_000, () => apiGaveUp || stopping !== null))) {
      if (!apiGaveUp && !stopping) say(`the API did not become ready; see ${path.join(logDir, 'api.log')}`);
      return;
    }
    // Load-generating children start only once the API answers: never against another instance.
    for (const spec of components.filter((c) => c.name !== 'manipulator' && c.name !== 'api')) launch(spec);
    if (o.api && o.latencyTarget && o.demo && !stopping)
      await createDemoGroup(apiUrl, o.config.PORT + 1, say);
    if (stopping) return;
    for (const c of components) say(`  ${c.name.padEnd(15)} ${c.shows}`);
    say('Ctrl-C stops everything.');
  })();
  return { started, done, stop };
}

const LEVELS: Record<number, string> = { 40: 'warning: ', 50: 'error: ', 60: 'fatal: ' };

/** A JSON log line (pino) as a person reads it on the terminal: its level when worse than info, message, error. */
export function readable(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const j = JSON.parse(line) as { level?: number; msg?: unknown; err?: { message?: unknown } };
    if (typeof j.msg !== 'string') return line;
    const err = typeof j.err?.message === 'string' ? ` (${j.err.message})` : '';
    return `${LEVELS[j.level ?? 30] ?? ''}${j.msg}${err}`;
  } catch {
    return line;
  }
}

/** `telelab up` as a command: checks, builds the dashboard, runs until a signal; returns the exit code. */
export async function upCommand(o: UpOptions): Promise<number> {
  const conflict = await preflight(o, topology(o));
  if (conflict) {
    process.stderr.write(`telelab up: ${conflict}\n`);
    return EXIT.FAILURE;
  }
  await ensureDashboardBuilt(DEFAULT_DIST_DIR, { log: (m) => process.stdout.write(`${m}\n`) }).catch((err) =>
    process.stderr.write(`dashboard build failed (${String(err)}); the API runs without it\n`),
  );
  const up = runUp(o);
  let stopAsked = false;
  const removeHandlers = onShutdown(
    (reason) => {
      stopAsked = true;
      process.stdout.write(`\n${reason}: stopping everything...\n`);
      void up.stop();
    },
    { parentGoneExitMs: STOP_WITHIN_MS + 1000 },
  );
  await up.started;
  const code = await up.done;
  removeHandlers();
  if (stopAsked)
    process.stdout.write('stopped: every component has exited, the data directory is unlocked\n');
  return code;
}

/** One demo group against the local latency target, created once (not started). */
async function createDemoGroup(api: string, targetPort: number, say: (l: string) => void): Promise<void> {
  try {
    const groups = (await (await fetch(`${api}/list_groups`)).json()) as { name?: string }[];
    if (Array.isArray(groups) && groups.some((g) => g.name === 'demo')) return;
    const profile = (users: number) => ({ users, duration_seconds: 20, interval_seconds: 0.1 });
    const experiment = (name: string, path: string) => ({
      name,
      host: '127.0.0.1',
      port: targetPort,
      path,
      load_profiles: [profile(5), profile(20), profile(10)],
    });
    const r = await fetch(`${api}/create_experiment_group`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'demo',
        experiments: [experiment('target-a', '/api/latency'), experiment('target-b', '/api/latency')],
      }),
    });
    if (!r.ok) say(`demo group not created: HTTP ${r.status} ${await r.text()}`);
  } catch (e) {
    say(`demo group not created: ${(e as Error).message}`);
  }
}
