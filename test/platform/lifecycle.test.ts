/**
 * `npm start` as people and tools stop it: whatever ends the tree (a signal to npm or to `telelab up`,
 * `kill -9` of either), no process of it is left within 5 s, its ports are free and the data directory's
 * lock is released. A second instance refuses to start, loudly, before it starts any load.
 * Linux only: a process of the tree is found by its DATA_DIR in /proc/<pid>/environ.
 * The processes always use the embedded database (DATABASE_URL is removed from their environment), so
 * the PostgreSQL pass skips this file rather than repeat it, as test/platform/data-dir.test.ts does.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'telelab.js');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The environment of every process here: the embedded database, whatever the suite runs on. */
const baseEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL'));

/**
 * A migrated data directory that each `npm start` gets a copy of: creating and migrating the embedded
 * database is most of a first start (and is not what this file tests), so it happens once, here.
 */
let template = '';
async function makeTemplate(): Promise<void> {
  template = mkdtempSync(path.join(tmpdir(), 'telelab-up-template-'));
  dirs.push(template);
  await promisify(execFile)(process.execPath, [BIN, 'migrate'], {
    env: { ...baseEnv(), DATA_DIR: template, LOG_LEVEL: 'warn' },
  });
}

/** pids of every process whose environment carries this DATA_DIR (the whole tree, detached or not). */
function treeOf(dataDir: string): number[] {
  const needle = `DATA_DIR=${dataDir}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

let nextPort = 20_000 + (process.pid % 250) * 20;

/** A port with its successor free too (the latency target takes PORT+1). */
async function freePorts(): Promise<{ api: number; manipulator: number }> {
  for (;;) {
    // Below Linux's ephemeral range (32768+), where port-0 listeners of other tests and outgoing
    // connections could take it between the check and the listen; distinct for every test of this file.
    const api = nextPort;
    nextPort += 2;
    const manipulator = api + 5_000;
    if ((await portFree(api)) && (await portFree(api + 1)) && (await portFree(manipulator)))
      return { api, manipulator };
  }
}

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

interface Instance {
  npm: ChildProcess;
  dataDir: string;
  ports: { api: number; manipulator: number };
  output: () => string;
  /** pid of `telelab up` (npm's child, through `exec`). */
  upPid: () => number;
  exited: Promise<number | null>;
}

/** `npm start` of a project whose start script is telelab's own (`exec node bin/telelab.js up`). */
async function npmStart(
  extra: string[] = [],
  on: { dataDir?: string; ports?: Instance['ports'] } = {},
): Promise<Instance> {
  let dataDir = on.dataDir;
  if (!dataDir) {
    dataDir = mkdtempSync(path.join(tmpdir(), 'telelab-up-'));
    cpSync(template, dataDir, { recursive: true });
  }
  dirs.push(dataDir);
  const project = mkdtempSync(path.join(tmpdir(), 'telelab-npm-'));
  dirs.push(project);
  const start = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start as string;
  const script = `${start.replace('bin/telelab.js', JSON.stringify(BIN))} ${extra.join(' ')}`;
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'p', scripts: { start: script } }),
  );
  const ports = on.ports ?? (await freePorts());
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: project,
    env: {
      // The embedded database, whatever the suite runs on: the data directory's lock is part of the test.
      ...baseEnv(),
      DATA_DIR: dataDir,
      PORT: String(ports.api),
      MANIPULATOR_PORT: String(ports.manipulator),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout?.on('data', (d) => {
    out += d;
  });
  npm.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => npm.on('exit', (code) => r(code)));
  const upPid = () => {
    const children = readFileSync(`/proc/${npm.pid}/task/${npm.pid}/children`, 'utf8').trim().split(/\s+/);
    return Number(children[0]);
  };
  return { npm, dataDir, ports, output: () => out, upPid, exited };
}

const LIGHT = ['--no-sensors', '--no-log-client', '--no-demo'];

async function started(i: Instance): Promise<void> {
  const ok = await until(() => i.output().includes('Ctrl-C stops everything'), 150_000);
  expect(ok, i.output()).toBe(true);
  // api, manipulator, latency target, 2 syncers, up itself and npm.
  expect(treeOf(i.dataDir).length).toBeGreaterThanOrEqual(7);
}

async function expectAllGone(i: Instance): Promise<void> {
  const gone = await until(() => treeOf(i.dataDir).length === 0, 5_000);
  expect(gone, `left: ${treeOf(i.dataDir).join(' ')}\n${i.output()}`).toBe(true);
  expect(await portFree(i.ports.api)).toBe(true);
  expect(await portFree(i.ports.api + 1)).toBe(true);
  expect(await portFree(i.ports.manipulator)).toBe(true);
  const lock = path.join(i.dataDir, 'telelab.lock');
  if (existsSync(lock)) {
    const pid = JSON.parse(readFileSync(lock, 'utf8')).pid as number;
    expect(() => process.kill(pid, 0)).toThrow(); // left by a killed holder: taken over at the next start
  }
}

const onPostgres = Boolean(process.env.DATABASE_URL);
// Three at a time: each tree is an API on its own embedded database, and the machine may have 2 cores.
describe.runIf(process.platform === 'linux' && !onPostgres)('telelab up: nothing outlives it', () => {
  beforeAll(makeTemplate, 120_000);

  const cases: [string, (i: Instance) => void][] = [
    ['SIGTERM to npm (kill <pid of npm>)', (i) => i.npm.kill('SIGTERM')],
    ['SIGINT to npm', (i) => i.npm.kill('SIGINT')],
    ['SIGHUP to npm (the terminal closed)', (i) => i.npm.kill('SIGHUP')],
    ['kill -9 of npm', (i) => i.npm.kill('SIGKILL')],
    ['SIGTERM to telelab up', (i) => process.kill(i.upPid(), 'SIGTERM')],
    ['SIGHUP to telelab up', (i) => process.kill(i.upPid(), 'SIGHUP')],
    ['kill -9 of telelab up', (i) => process.kill(i.upPid(), 'SIGKILL')],
  ];
  for (const group of [cases.slice(0, 3), cases.slice(3, 6), cases.slice(6)]) {
    describe.concurrent(group.map(([name]) => name.split(' ')[0]).join(', '), () => {
      it.each(group)(
        '%s: every child gone within 5 s, ports free, lock released',
        async (_name, end) => {
          const i = await npmStart(LIGHT);
          try {
            await started(i);
            end(i);
            await expectAllGone(i);
          } finally {
            for (const pid of treeOf(i.dataDir)) process.kill(pid, 'SIGKILL');
          }
        },
        180_000,
      );
    });
  }

  describe.concurrent('starting twice', () => {
    it('a second up on the same data directory exits 1 naming the holder and the up to stop, and starts nothing', async () => {
      const first = await npmStart(LIGHT);
      try {
        await started(first);
        const holder = JSON.parse(readFileSync(path.join(first.dataDir, 'telelab.lock'), 'utf8')).pid;
        const before = treeOf(first.dataDir).length;
        const second = await npmStart([], first);
        expect(await second.exited).toBe(1);
        // The holder is up's API child: killing it alone would only have up restart it.
        const up = first.upPid();
        expect(second.output()).toMatch(
          new RegExp(
            `in use by process ${holder} \\(run by telelab up, pid ${up}\\) .*since .*kill ${up}\\) .*DATA_DIR=`,
          ),
        );
        expect(second.output()).not.toContain('Ctrl-C stops everything');
        expect(treeOf(first.dataDir).length).toBe(before);
      } finally {
        first.npm.kill('SIGTERM');
        await expectAllGone(first);
      }
    }, 180_000);

    it('a taken port is reported with the way out, before anything starts', async () => {
      const i0 = await freePorts();
      const squatter: Server = createServer();
      await new Promise<void>((r) => squatter.listen(i0.api + 1, '127.0.0.1', () => r()));
      try {
        const i = await npmStart([], { ports: i0 });
        expect(await i.exited).toBe(1);
        expect(i.output()).toMatch(new RegExp(`port ${i0.api + 1} .*latency-target.* --no-latency-target`));
        expect(treeOf(i.dataDir)).toEqual([]);
      } finally {
        squatter.close();
      }
    }, 60_000);
  });
});
