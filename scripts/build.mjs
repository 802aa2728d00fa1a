#!/usr/bin/env node
/**
 * Compiles the CLI and server (src/) into dist/ with esbuild: one ESM bundle split at every dynamic
 * import, dependencies left to node_modules. Compiled, `telelab --help` starts in about the time of
 * `node -e 0`; through tsx's loader it took seconds (bench/cli-start.ts measures both).
 * Run by `npm install` (prepare), and by bin/telelab.js whenever a source file is newer than the build,
 * so a checkout always runs its own code. Each build goes to its own folder and dist/current.json is
 * switched atomically: a process that is running keeps loading its chunks from the folder it started on.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const POINTER = path.join(DIST, 'current.json');

/** Newest modification time and count of the files a build depends on (tests excluded). */
function sourceState() {
  let newest = statSync(fileURLToPath(import.meta.url)).mtimeMs;
  let count = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        newest = Math.max(newest, statSync(p).mtimeMs);
        count++;
      }
    }
  };
  walk(SRC);
  return { newest, count };
}

function readPointer() {
  try {
    return JSON.parse(readFileSync(POINTER, 'utf8'));
  } catch {
    return null;
  }
}

/** Builds into a new folder of dist/ and points dist/current.json at it. Returns the entry file. */
export async function build({ clean = false } = {}) {
  const { build: esbuild, stop } = await import('esbuild');
  const state = sourceState();
  const dir = `build-${Date.now().toString(36)}-${process.pid}`;
  if (clean) rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  await esbuild({
    entryPoints: [path.join(SRC, 'cli.ts')],
    outdir: path.join(DIST, dir),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  // esbuild's service process would otherwise live as long as we do.
  await stop();
  const tmp = `${POINTER}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ dir, ...state }));
  renameSync(tmp, POINTER);
  return path.join(DIST, dir, 'cli.js');
}

/**
 * The compiled CLI's entry file, built first if missing or older than the source. A process started by
 * telelab (TELELAB_COMPILED_ENTRY, set below) runs the same build as its parent.
 */
export async function compiledEntry() {
  const inherited = process.env.TELELAB_COMPILED_ENTRY;
  if (inherited && existsSync(inherited)) return inherited;
  const entry = await currentOrNewBuild();
  process.env.TELELAB_COMPILED_ENTRY = entry;
  return entry;
}

async function currentOrNewBuild() {
  const p = readPointer();
  // An image or package that ships dist/ without the sources runs what it ships.
  if (p && !existsSync(SRC)) return path.join(DIST, p.dir, 'cli.js');
  if (p) {
    const now = sourceState();
    if (now.newest === p.newest && now.count === p.count) return path.join(DIST, p.dir, 'cli.js');
  }
  return build();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const entry = await build({ clean: true });
  process.stdout.write(`telelab compiled to ${path.relative(ROOT, entry)} in ${Date.now() - t0} ms\n`);
}
