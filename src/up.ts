/**
 * `telelab up`: the seeds' docker-compose topologies as one process tree on the embedded database.
 * Each component is a `telelab <command>` child process; a crashed child is reported and restarted
 * with exponential backoff; Ctrl-C stops clients first, then the server, and waits for them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './platform/config';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

export interface Component {
  name: string;
  args: string[];
  /** What to print for the user: a URL, an address or a file. */
  shows: string;
  env?: Record<string, string>;
  /** Lines of this child worth echoing on the terminal (everything goes to its log file). */
  echo?: RegExp;
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
  const list: (Component | false)[] = [
    o.manipulator && {
      name: 'manipulator',
      args: ['manipulator', '--host', c.MANIPULATOR_HOST, '--port', String(c.MANIPULATOR_PORT)],
      shows: `tcp://${c.MANIPULATOR_HOST}:${c.MANIPULATOR_PORT}`,
      echo: /Received command/,
    },
    o.api && {
      name: 'api',
      args: ['serve'],
      shows: `${api}/  (dashboard)  ${api}/docs  (API)`,
      echo: /Changing status|"level":(50|60)/,
    },
    o.latencyTarget && {
      name: 'latency-target',
      args: ['latency-target', '--port', String(c.PORT + 1), '--delay-ms', '20', '--jitter-ms', '10'],
      shows: `http://127.0.0.1:${c.PORT + 1}/api/latency`,
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
      env: { THREADS: process.env.THREADS ?? '4', REQUESTS_DELAY: process.env.REQUESTS_DELAY ?? '500' },
      shows: `THREADS=4 REQUESTS_DELAY=500 -> ${api}/api/data (files in ${path.join(dataDir, 'log-client')})`,
    },
    o.logSync && {
      name: 'log-sync-1',
      args: [
        'log-sync',
        '--source',
        api,
        '--target-file',
        path.join(dataDir, 'logs.ndjson'),
        '--interval',
        '1000',
      ],
      shows: path.join(dataDir, 'logs.ndjson'),
    },
    o.logSync && {
      name: 'log-sync-2',
      args: [
        'log-sync',
        '--source',
        api,
        '--target-file',
        path.join(dataDir, 'logs.ndjson'),
        '--interval',
        '2500',
      ],
      shows: `${path.join(dataDir, 'logs.ndjson')} (same file, another interval)`,
    },
  ];
  return list.filter((x): x is Component => Boolean(x));
}

interface Running {
  spec: Component;
  child: ChildProcess | null;
  restarts: number;
  startedAt: number;
  timer: NodeJS.Timeout | null;
  log: WriteStream;
}

async function waitReady(url: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
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

export async function runUp(o: UpOptions): Promise<{ stop(): Promise<void> }> {
  const out = o.out ?? process.stdout;
  const say = (line: string) => out.write(`${line}\n`);
  const logDir = path.resolve(o.config.DATA_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const components = topology(o);
  const running = new Map<string, Running>();
  let stopping = false;

  const start = (r: Running) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...r.spec.args], {
      env: { ...process.env, ...r.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    r.child = child;
    r.startedAt = Date.now();
    const onData = (chunk: Buffer) => {
      r.log.write(chunk);
      const text = chunk.toString();
      if (o.verbose) for (const l of text.split('\n')) l && say(`[${r.spec.name}] ${l}`);
      else if (r.spec.echo)
        for (const l of text.split('\n')) if (l && r.spec.echo.test(l)) say(`[${r.spec.name}] ${l}`);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code, signal) => {
      r.child = null;
      if (stopping) return;
      // Backoff doubles per quick crash, resets after a minute of healthy running.
      if (Date.now() - r.startedAt > 60_000) r.restarts = 0;
      const delay = Math.min(30_000, 1000 * 2 ** r.restarts);
      r.restarts++;
      say(
        `[${r.spec.name}] exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000}s — log: ${path.join(logDir, `${r.spec.name}.log`)}`,
      );
      r.timer = setTimeout(() => start(r), delay);
    });
  };

  const launch = (spec: Component) => {
    const r: Running = {
      spec,
      child: null,
      restarts: 0,
      startedAt: 0,
      timer: null,
      log: createWriteStream(path.join(logDir, `${spec.name}.log`), { flags: 'a' }),
    };
    running.set(spec.name, r);
    start(r);
  };

  const apiUrl = `http://${o.config.HOST === '0.0.0.0' ? '127.0.0.1' : o.config.HOST}:${o.config.PORT}`;
  say(`telelab up — embedded database in ${path.resolve(o.config.DATA_DIR)}; logs in ${logDir}`);
  for (const spec of components.filter((c) => c.name === 'manipulator' || c.name === 'api')) launch(spec);
  if (o.api && !(await waitReady(apiUrl, 120_000))) {
    say(`the API did not become ready; see ${path.join(logDir, 'api.log')}`);
  }
  for (const spec of components.filter((c) => c.name !== 'manipulator' && c.name !== 'api')) launch(spec);
  if (o.api && o.latencyTarget && o.demo) await createDemoGroup(apiUrl, o.config.PORT + 1, say);
  for (const c of components) say(`  ${c.name.padEnd(15)} ${c.shows}`);
  say('Ctrl-C stops everything.');

  return {
    async stop() {
      stopping = true;
      // Clients first so nothing they send is cut off mid-way, then the server and the manipulator.
      const order = [...running.values()].sort(
        (a, b) =>
          Number(['api', 'manipulator'].includes(a.spec.name)) -
          Number(['api', 'manipulator'].includes(b.spec.name)),
      );
      for (const group of [order.filter((r) => !['api', 'manipulator'].includes(r.spec.name)), order]) {
        await Promise.all(
          group.map(
            (r) =>
              new Promise<void>((resolve) => {
                if (r.timer) clearTimeout(r.timer);
                const child = r.child;
                if (!child) return resolve();
                const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
                child.once('exit', () => {
                  clearTimeout(kill);
                  resolve();
                });
                child.kill('SIGTERM');
              }),
          ),
        );
      }
      for (const r of running.values()) r.log.end();
    },
  };
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
