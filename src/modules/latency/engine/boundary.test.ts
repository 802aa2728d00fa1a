/**
 * The engine is a library: it imports Node built-ins, npm packages, its own files and the pure math
 * in src/stats/, never the platform (src/platform/) nor other latency or module code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ENGINE = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(ENGINE, '../../..');
const STATS = join(SRC, 'stats');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.tsx?$/.test(e.name) ? [path] : [];
  });
}

/** Every module specifier: static and type imports, re-exports, dynamic import() and require(). */
function specifiers(code: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]!);
  return found;
}

const inside = (dir: string, path: string) => path === dir || path.startsWith(dir + sep);

/** Why `spec`, imported by `file`, is not allowed; null when it is. */
function violation(file: string, spec: string): string | null {
  if (!spec.startsWith('.') && !spec.startsWith('/')) {
    // A package or a built-in; path aliases into the project would dodge the rule.
    return /^(?:src|@\/|~\/)/.test(spec) ? 'a path alias into the project' : null;
  }
  const target = resolve(dirname(file), spec);
  if (inside(ENGINE, target) || inside(STATS, target)) return null;
  return `reaches ${relative(SRC, target)} (outside engine/ and stats/)`;
}

describe('the engine folder', () => {
  const files = sources(ENGINE);

  it('is found with its sources (the check below reads real files)', () => {
    const names = files.map((f) => relative(ENGINE, f));
    expect(names).toContain('load-run.ts');
    expect(names).toContain(join('http1', 'pool.ts'));
  });

  it('imports nothing from platform/ or from latency code outside engine/', () => {
    const bad: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        const why = violation(file, spec);
        if (why) bad.push(`${relative(ENGINE, file)}: '${spec}' ${why}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('would catch an import from the platform or from the rest of latency', () => {
    const file = join(ENGINE, 'load-run.ts');
    // Specifiers spliced in, so that this file's own text does not import them.
    const [platform, latency] = ['../../../platform/errors', '../settings'];
    const code = `import { invalidInput } from '${platform}';\nexport { x } from '${latency}';`;
    expect(specifiers(code).map((s) => violation(file, s) !== null)).toEqual([true, true]);
  });
});
