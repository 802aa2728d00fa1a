/**
 * Every validation error says what to type: a walk over every operation in /openapi.json sends, for each
 * pattern- or enum-checked field (path, query, header or body, nested too) and each number in a body, a
 * request that is valid except for that one field, and reads the answer as a user would. A number is sent
 * as 1e400, which JSON.parse turns into Infinity.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers';

// biome-ignore lint/suspicious/noExplicitAny: a JSON Schema walked by keyword
type Schema = Record<string, any>;
type Where = 'path' | 'query' | 'header' | 'body';
interface Target {
  where: Where;
  /** Property path from the parameter (or the body root): ['experiments', 0, 'host']. */
  path: (string | number)[];
  kind: 'pattern' | 'enum' | 'number';
  pattern?: string;
  allowed?: string[];
}
interface Case {
  method: string;
  url: string;
  operationId: string;
  params: Record<Where, Record<string, unknown>>;
  body: unknown;
  target: Target;
}

const app = await buildTestApp();
afterAll(() => app.close());
const spec = (await app.http.inject({ method: 'GET', url: '/openapi.json' })).json() as Schema;

const resolve = (s: Schema): Schema =>
  typeof s?.$ref === 'string' ? spec.components.schemas[String(s.$ref.split('/').at(-1))] : s;
const literals = (s: Schema): string[] | null => {
  if (Array.isArray(s.enum)) return s.enum.map(String);
  const branches = s.anyOf ?? s.oneOf;
  return Array.isArray(branches) && branches.every((b: Schema) => 'const' in b)
    ? branches.map((b: Schema) => String(b.const))
    : null;
};

/** A value the schema accepts (the first form of a union, required properties and the pattern/enum ones). */
function sample(raw: Schema): unknown {
  const s = resolve(raw);
  const values = literals(s);
  if (values) return values[0];
  if ('const' in s) return s.const;
  const branches = s.anyOf ?? s.oneOf;
  if (branches) return sample(branches.find((b: Schema) => b.type !== 'null') ?? branches[0]);
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) {
        if (s.required?.includes(k) || checked(v)) out[k] = sample(v);
      }
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 0) }, () => sample(s.items ?? {}));
    case 'integer':
    case 'number':
      return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return true;
    case 'string':
      return sampleString(s);
  }
  return 'x';
}

function sampleString(s: Schema): string {
  if (s.format === 'uuid') return '0190c6d2-7b3a-7c1e-9f00-3a5b2c1d4e5f';
  if (s.format === 'date-time') return '2030-01-01T00:00:00Z';
  const candidates = [
    ...(s.examples ?? []),
    'abc',
    'abc-1',
    '/api',
    '127.0.0.1',
    'a'.repeat(s.minLength ?? 1),
  ];
  const fits = candidates.find(
    (c) => typeof c === 'string' && (!s.pattern || new RegExp(s.pattern, 'u').test(c)),
  );
  if (!fits) throw new Error(`no sample for ${JSON.stringify(s)}`);
  return fits;
}

/** Whether this schema, or one inside it, is pattern- or enum-checked. */
function checked(raw: Schema): boolean {
  const s = resolve(raw);
  if (s.pattern || literals(s)) return true;
  return [
    ...Object.values<Schema>(s.properties ?? {}),
    ...(s.items ? [s.items] : []),
    ...(s.anyOf ?? s.oneOf ?? []).slice(0, 1),
  ].some(checked);
}

function targets(raw: Schema, where: Where, path: (string | number)[]): Target[] {
  const s = resolve(raw);
  const allowed = literals(s);
  if (allowed) return [{ where, path, kind: 'enum', allowed }];
  if (s.pattern) return [{ where, path, kind: 'pattern', pattern: s.pattern }];
  if (where === 'body' && (s.type === 'number' || s.type === 'integer'))
    return [{ where, path, kind: 'number' }];
  const branches = s.anyOf ?? s.oneOf;
  if (branches) {
    const first = branches.find((b: Schema) => b.type !== 'null') ?? branches[0];
    const number = branches.find((b: Schema) => b.type === 'number' || b.type === 'integer');
    return number && number !== first
      ? [...targets(first, where, path), ...targets(number, where, path)]
      : targets(first, where, path);
  }
  if (s.type === 'object') {
    return Object.entries<Schema>(s.properties ?? {}).flatMap(([k, v]) => targets(v, where, [...path, k]));
  }
  if (s.type === 'array' && s.items) return targets(s.items, where, [...path, 0]);
  return [];
}

/** Stands for the raw JSON number 1e400 until the body is written (JSON.stringify would write null). */
const OVERFLOW = '<1e400>';
const badValue = (t: Target) =>
  t.kind === 'number'
    ? OVERFLOW
    : t.kind === 'enum'
      ? 'not-an-allowed-value'
      : ['has space!', '%%', ''].find((c) => !new RegExp(t.pattern!, 'u').test(c))!;

/** Whether the sample holds every object or array on the way to the target (optional ones may be left out). */
function reaches(root: unknown, path: (string | number)[]): boolean {
  let node = root as Schema | undefined;
  for (const key of path.slice(0, -1)) {
    node = node?.[key];
    if (node === null || typeof node !== 'object') return false;
  }
  return node !== null && typeof node === 'object';
}

function setIn(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Schema;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path.at(-1)!] = value;
  return copy;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const [route, ops] of Object.entries<Schema>(spec.paths)) {
    for (const [method, op] of Object.entries<Schema>(ops)) {
      const valid: Record<Where, Record<string, unknown>> = { path: {}, query: {}, header: {}, body: {} };
      const all: Target[] = [];
      for (const p of op.parameters ?? []) {
        const where = p.in as Where;
        if (p.required || checked(p.schema)) valid[where][p.name] = sample(p.schema);
        all.push(...targets(p.schema, where, [p.name]));
      }
      const bodySchema = op.requestBody?.content?.['application/json']?.schema;
      const body = bodySchema ? sample(bodySchema) : undefined;
      if (bodySchema) all.push(...targets(bodySchema, 'body', []));
      for (const target of all) {
        if (target.kind === 'number' && !reaches(body, target.path)) continue;
        const params = structuredClone(valid);
        let bad = body;
        if (target.where === 'body') bad = setIn(body, target.path, badValue(target));
        else params[target.where] = setIn(params[target.where], target.path, badValue(target)) as never;
        out.push({ method, url: route, operationId: op.operationId, params, body: bad, target });
      }
    }
  }
  return out;
}

const all = cases();
const label = (c: Case) => `${c.operationId} ${c.target.where}.${c.target.path.join('.')} (${c.target.kind})`;

describe('validation errors over every operation in /openapi.json', () => {
  it('finds the pattern- and enum-checked fields of every module', () => {
    const found = new Set(all.map(label));
    for (const expected of [
      'latencyTest query.host (pattern)',
      'latencyManageExperiment query.state (enum)',
      'controlListDecisions query.order (enum)',
      'logsReportSyncer path.name (pattern)',
    ]) {
      expect(found.has(expected), expected).toBe(true);
    }
    expect(all.length).toBeGreaterThanOrEqual(10);
  });

  it.each(all.map((c) => [label(c), c] as const))('%s: says what to type', async (_name, c) => {
    const url = c.url.replace(/\{(\w+)\}/g, (_m, name) => encodeURIComponent(String(c.params.path[name])));
    const res = await app.http.inject({
      method: c.method.toUpperCase() as 'GET',
      url,
      query: Object.fromEntries(Object.entries(c.params.query).map(([k, v]) => [k, String(v)])),
      headers: {
        ...Object.fromEntries(Object.entries(c.params.header).map(([k, v]) => [k, String(v)])),
        ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(c.body !== undefined ? { payload: JSON.stringify(c.body).replace(`"${OVERFLOW}"`, '1e400') } : {}),
    });
    expect([400, 418, 422], res.body).toContain(res.statusCode);
    const { detail } = res.json() as { detail: string };
    if (process.env.SHOW_DETAILS) console.log(label(c), '=>', res.statusCode, detail);
    const field = String(c.target.path.filter((p) => typeof p === 'string').at(-1));
    expect(detail, 'names the field').toContain(field);
    expect(detail).not.toMatch(/must match pattern|\^|\$|\\\[/);
    if (c.target.pattern) expect(detail).not.toContain(c.target.pattern);
    if (c.target.kind === 'enum') expect(detail).toContain(`must be one of ${c.target.allowed!.join(', ')}`);
    if (c.target.kind === 'number') expect(detail).toContain('must be a finite number');
  });
});

describe('unknown query parameters', () => {
  it('a route that takes query parameters answers 400 naming the unknown one and the ones it takes', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/history?start=2030-01-01' });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe(
      'querystring.start: unknown query parameter; this route takes after, before, from, to',
    );
  });

  it('a seed client route that takes none ignores them (cache busters)', async () => {
    const res = await app.http.inject({
      method: 'GET',
      url: '/api/v1/experiments?_=1733430000',
      headers: { 'device-token': 'cache-buster-device-1' },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('what is missing', () => {
  it('a missing parameter that takes one of a few values lists them', async () => {
    const res = await app.http.inject({
      method: 'POST',
      url: '/manage_group?group_id=0190c6d2-7b3a-7c1e-9f00-3a5b2c1d4e5f',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe(
      "querystring.state: must have required property 'state' (one of start, pause, stop)",
    );
  });

  it.each([
    ['no Content-Type', {}],
    ['an empty JSON body', { 'content-type': 'application/json' }],
  ])('a body route sent no body (%s) says a JSON body is required', async (_name, headers) => {
    const res = await app.http.inject({ method: 'POST', url: '/users', headers });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/^body: a JSON body is required/);
  });
});

describe('GET /history with the range reversed', () => {
  it.each([
    ['from=2030-01-02&to=2030-01-01', 'querystring.from:', 'later than to'],
    ['after=2030-01-02&before=2030-01-01', 'querystring.after:', 'later than before'],
  ])('%s names the parameters sent', async (query, start, middle) => {
    const res = await app.http.inject({ method: 'GET', url: `/history?${query}` });
    expect(res.statusCode).toBe(400);
    const { detail } = res.json() as { detail: string };
    expect(detail.startsWith(start), detail).toBe(true);
    expect(detail).toContain(middle);
  });
});
