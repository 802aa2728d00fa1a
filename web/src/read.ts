/**
 * Tolerant readers for JSON answers: the dashboard accepts a field under its documented snake_case name
 * or the camelCase spelling, possibly nested (`latency.p99`), so a renamed field shows as `—` rather
 * than breaking a page.
 */

export type Json = Record<string, unknown>;

export function isObj(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** The first of `paths` that holds a value. */
export function field(obj: unknown, ...paths: string[]): unknown {
  for (const p of paths) {
    const v = at(obj, p);
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

export function num(obj: unknown, ...paths: string[]): number | null {
  const v = field(obj, ...paths);
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

export function str(obj: unknown, ...paths: string[]): string | null {
  const v = field(obj, ...paths);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

export function bool(obj: unknown, ...paths: string[]): boolean | null {
  const v = field(obj, ...paths);
  return typeof v === 'boolean' ? v : null;
}

/** An array answer, or the array inside a page object (`{items: [...]}` and the like). */
export function list(x: unknown, ...keys: string[]): unknown[] {
  if (Array.isArray(x)) return x;
  for (const k of [...keys, 'items', 'data', 'results']) {
    const v = isObj(x) ? x[k] : undefined;
    if (Array.isArray(v)) return v;
  }
  return [];
}
