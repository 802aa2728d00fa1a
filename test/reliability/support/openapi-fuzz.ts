/**
 * Malformed requests for every operation of an OpenAPI document, as fast-check arbitraries.
 * A request starts from a value that follows the route's schema and then is broken in one or more
 * ways: wrong types, missing and extra fields, huge strings, deep nesting, invalid UTF-8, wrong
 * content types, absurd query values, injection strings in path parameters, odd headers.
 * Everything generated can travel over a real socket (header values are latin1 without controls,
 * URLs are ASCII), so a failure here is a failure a real client could cause.
 */
import fc from 'fast-check';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  examples?: unknown[] | Record<string, { value: unknown }>;
  example?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
};

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** OpenAPI path with `{param}` placeholders. */
  path: string;
  operationId: string;
  params: Parameter[];
  body?: JsonSchema;
  secured: boolean;
}

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: Buffer;
  /** What was broken, for the report. */
  labels: string[];
}

/** Every operation of the document, hidden ones excluded (the document is what clients see). */
export function operationsOf(doc: {
  paths: Record<string, Record<string, Record<string, unknown>>>;
}): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = (op.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined)
        ?.content?.['application/json']?.schema;
      ops.push({
        method: method.toUpperCase(),
        path,
        operationId: String(op.operationId ?? `${method} ${path}`),
        params: ((op.parameters as Parameter[] | undefined) ?? []).map((p) => ({
          ...p,
          required: !!p.required,
        })),
        ...(body ? { body } : {}),
        secured: Array.isArray(op.security) && op.security.length > 0,
      });
    }
  }
  return ops;
}

// ---- values that follow a schema ----------------------------------------------------------------

/** Known-good values by field or parameter name (ids created before fuzzing, a reachable port). */
export type Known = Record<string, unknown[]>;

function examplesOf(s: JsonSchema): unknown[] {
  const out: unknown[] = [];
  if (Array.isArray(s.examples)) out.push(...s.examples);
  else if (s.examples && typeof s.examples === 'object') {
    out.push(...Object.values(s.examples).map((e) => e.value));
  }
  if (s.example !== undefined) out.push(s.example);
  if (s.default !== undefined) out.push(s.default);
  return out;
}

const SAFE_TEXT = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$/);

/** A value that (mostly) satisfies the schema: the starting point that mutations break. */
export function validArb(s: JsonSchema, known: Known = {}, name = '', depth = 0): fc.Arbitrary<unknown> {
  if (name && known[name]?.length) {
    return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known[name]!) }, validArb(s, {}, '', depth));
  }
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const branches = s.anyOf ?? s.oneOf;
  if (branches) return fc.oneof(...branches.map((b) => validArb(b, known, name, depth)));
  const examples = examplesOf(s);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const keys = Object.keys(props);
      if (keys.length === 0 || depth > 4) return fc.constant({});
      return fc.record(Object.fromEntries(keys.map((k) => [k, validArb(props[k]!, known, k, depth + 1)])), {
        requiredKeys: keys.filter((k) => required.has(k)),
      });
    }
    case 'array': {
      const min = s.minItems ?? 0;
      return fc.array(s.items ? validArb(s.items, known, name, depth + 1) : fc.string({ maxLength: 40 }), {
        minLength: min,
        maxLength: Math.max(min, Math.min(s.maxItems ?? 4, min + 3)),
      });
    }
    case 'integer': {
      const min = Math.max(s.minimum ?? -1_000_000, -1_000_000_000);
      const max = Math.min(s.maximum ?? 1_000_000, 1_000_000_000);
      return examples.length
        ? fc.oneof(fc.constantFrom(...examples), fc.integer({ min, max }))
        : fc.integer({ min, max });
    }
    case 'number': {
      const min = Math.max(s.minimum ?? -1e6, -1e12);
      const max = Math.min(s.maximum ?? 1e6, 1e12);
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default: {
      if (s.format === 'uuid') return fc.uuid();
      if (s.format === 'date-time' || s.format === 'iso-date-time') {
        return fc
          .date({
            min: new Date('2000-01-01T00:00:00Z'),
            max: new Date('2100-01-01T00:00:00Z'),
            noInvalidDate: true,
          })
          .map((d) => d.toISOString());
      }
      if (examples.length) return fc.constantFrom(...examples);
      return SAFE_TEXT;
    }
  }
}

// ---- ways to break a request ---------------------------------------------------------------------

const big = (n: number, unit = 'x') => unit.repeat(n);

/** Values of the wrong type or absurd size that replace a field. */
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    -0,
    1e308,
    -1e308,
    5e-324,
    2 ** 53 + 1,
    -(2 ** 63),
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    '\uffff',
    '\u202e',
    'NaN',
    'Infinity',
    '1e400',
    '2024-02-30T25:61:61Z',
    '0000-00-00T00:00:00Z',
    '+275760-09-13T00:00:00.001Z',
    '-271821-04-20T00:00:00Z',
    "'; DROP TABLE x; --",
    '$' + '{jndi:ldap://127.0.0.1/a}',
    '<script>alert(1)</script>',
    [],
    {},
    [[[]]],
    [null],
    { '': null },
    { constructor: { prototype: { polluted: true } } },
  ),
  fc.constantFrom(big(10_000), big(100_000, '\u00e9'), big(30_000, '\ud83d\udca9')),
  fc.string({ maxLength: 30, unit: 'binary' }),
  fc.jsonValue({ maxDepth: 3 }),
);

type Path = (string | number)[];

function paths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(v)) {
    for (const [i, x] of v.slice(0, 5).entries()) paths(x, [...prefix, i], out);
  } else if (v && typeof v === 'object')
    for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

type Mutation = { kind: 'delete' | 'replace' | 'extra'; pick: number; value: unknown; key: string };

function applyMutation(base: unknown, m: Mutation): unknown {
  const all = paths(base);
  const path = all[m.pick % all.length]!;
  if (path.length === 0) {
    if (m.kind === 'extra' && base && typeof base === 'object' && !Array.isArray(base)) {
      return { ...(base as object), [m.key]: m.value };
    }
    return m.kind === 'delete' ? undefined : m.value;
  }
  const root = clone(base) as Record<string | number, unknown>;
  let parent = root as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (m.kind === 'extra') {
    const target = parent[last];
    if (target && typeof target === 'object' && !Array.isArray(target)) {
      (target as Record<string, unknown>)[m.key] = m.value;
    } else parent[last] = m.value;
  } else parent[last] = m.value;
  return root;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'replace', 'replace', 'extra'),
  pick: fc.nat(),
  value: weirdValue,
  key: fc.oneof(
    fc.constantFrom('extra', '__proto__', 'constructor', '', '\u0000', 'x'.repeat(1000)),
    fc.string({ maxLength: 10 }),
  ),
});

const INVALID_UTF8: number[][] = [
  [0xff],
  [0xfe, 0xff],
  [0xc3, 0x28],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80, 0x80, 0x80],
];

/** Inserts invalid UTF-8 inside the first JSON string of `json` (or at a random place). */
function withInvalidUtf8(json: string, bytes: number[], at: number): Buffer {
  const quote = json.indexOf('"');
  const pos = quote >= 0 ? quote + 1 : at % (json.length + 1);
  const b = Buffer.from(json, 'utf8');
  const cut = Buffer.byteLength(json.slice(0, pos), 'utf8');
  return Buffer.concat([b.subarray(0, cut), Buffer.from(bytes), b.subarray(cut)]);
}

function deep(depth: number, shape: 'array' | 'object' | 'mixed'): string {
  if (shape === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  if (shape === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;
}

interface Body {
  payload: Buffer;
  label: string;
}

const json = (v: unknown) => Buffer.from(v === undefined ? '' : JSON.stringify(v), 'utf8');

export function bodyArb(
  schema: JsonSchema | undefined,
  known: Known,
  hugeBodies: boolean,
): fc.Arbitrary<Body> {
  const valid = validArb(schema ?? { type: 'object' }, known);
  const depths = [64, 1_000, 10_000, 100_000];
  const options: { weight: number; arbitrary: fc.Arbitrary<Body> }[] = [
    { weight: 2, arbitrary: valid.map((v) => ({ payload: json(v), label: 'schema-valid' })) },
    {
      weight: 6,
      arbitrary: fc.tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([v, ms]) => ({
        payload: json(ms.reduce<unknown>((acc, m) => applyMutation(acc, m), v)),
        label: `mutated(${ms.map((m) => m.kind).join(',')})`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ payload: json(v), label: 'random-json' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...depths),
          fc.constantFrom<'array' | 'object' | 'mixed'>('array', 'object', 'mixed'),
          valid,
        )
        .map(([d, shape, v]) => {
          const nested = deep(d, shape);
          // Either the whole body, or the value of the body's first field.
          const text =
            v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length
              ? JSON.stringify(v).replace(/:("[^"]*"|[^,}]*)/, `:${nested}`)
              : nested;
          return { payload: Buffer.from(text), label: `deep(${d},${shape})` };
        }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.constantFrom(...INVALID_UTF8), fc.nat()).map(([v, bytes, at]) => ({
        payload: withInvalidUtf8(JSON.stringify(v ?? {}), bytes, at),
        label: `invalid-utf8(${bytes.map((b) => b.toString(16)).join(' ')})`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '',
          ' ',
          'null',
          'true',
          '"string"',
          '1e400',
          '-0',
          '{',
          '{"a":',
          '[1,2,',
          '{"a":1}{"b":2}',
          '\ufeff{}',
          '{"__proto__":{"polluted":true}}',
          '{"constructor":{"prototype":{"polluted":true}}}',
          '{"a":1,"a":2}',
          'log=1&x=2',
          '<?xml version="1.0"?><a/>',
          '\u0000',
          '{"log":"\\u0000"}',
          '{"log":"\\ud800"}',
        )
        .map((t) => ({ payload: Buffer.from(t), label: `raw(${JSON.stringify(t).slice(0, 20)})` })),
    },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 256 })
        .map((a) => ({ payload: Buffer.from(a), label: 'random-bytes' })),
    },
  ];
  if (hugeBodies) {
    options.push({
      weight: 1,
      arbitrary: fc.tuple(valid, fc.constantFrom(1_000_000, 4_000_000, 12_000_000)).map(([v, n]) => {
        const text =
          v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length
            ? JSON.stringify(v).replace(/:("[^"]*"|[^,}]*)/, `:"${big(n)}"`)
            : `"${big(n)}"`;
        return { payload: Buffer.from(text), label: `huge(${n})` };
      }),
    });
  }
  return fc.oneof(...options);
}

const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/vnd.api+json',
  'application/problem+json',
  'APPLICATION/JSON',
  'application/json;;;',
  '*/*',
  'application/octet-stream',
  `application/json; ${big(2000, 'a')}=b`,
  'garbage',
  '',
];

/** Header values a real client can send: tab, printable ASCII and latin1, no controls. */
const headerText = fc.string({
  unit: fc
    .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
    .map((c) => String.fromCharCode(c)),
  maxLength: 60,
});

const DEVICE_TOKENS = [
  'bad',
  '        ',
  '../../../etc/passwd',
  "' OR '1'='1",
  'null',
  '%00%00%00%00%00',
  big(129, 'a'),
  big(10_000, 'a'),
  '\u00ff\u00fe\u00fd\u00fc\u00fb\u00fa\u00f9\u00f8',
  '00000000-0000-0000-0000-000000000000',
  'a'.repeat(8),
];

const oddHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.oneof(
    fc.tuple(fc.constant('device-token'), fc.oneof(fc.constantFrom(...DEVICE_TOKENS), headerText, fc.uuid())),
    fc.tuple(
      fc.constant('authorization'),
      fc.oneof(
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'Bearer x',
          'Basic Zm9vOmJhcg==',
          `Bearer ${big(10_000)}`,
          'bearer \u00ff',
        ),
        headerText,
      ),
    ),
    fc.tuple(fc.constant('x-request-id'), fc.oneof(fc.constantFrom(big(1000), '../x', ''), headerText)),
    fc.tuple(fc.constant('accept'), fc.constantFrom('application/xml', 'text/html', '*/*', 'garbage/;;', '')),
    fc.tuple(fc.constant('accept-encoding'), fc.constantFrom('gzip', 'br', 'identity;q=0', 'x'.repeat(300))),
    fc.tuple(fc.constant('content-encoding'), fc.constantFrom('gzip', 'deflate', 'br', 'garbage')),
    fc.tuple(
      fc.constant('x-forwarded-for'),
      fc.oneof(fc.constantFrom('1.2.3.4, 5.6.7.8', '::1', 'garbage'), headerText),
    ),
    fc.tuple(fc.constant('if-none-match'), headerText),
    fc.tuple(fc.constant('range'), fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=999999999-', 'garbage')),
    fc.tuple(
      headerText.filter((s) => /^[A-Za-z0-9-]{1,40}$/.test(s)),
      headerText,
    ),
  ),
  { maxLength: 3 },
);

/** Percent-encoded segment (any string), or a raw injection string as an attacker would send it. */
const PATH_INJECTIONS = [
  '..',
  '../',
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2f',
  '%00',
  'a%00b',
  '%ff%fe',
  '%c0%af',
  '%E2%80%AE',
  '%F0%9F%92%A9',
  '..%5c..%5c',
  '%0d%0aSet-Cookie:%20x=1',
  "'%20OR%201=1--",
  '%3Cscript%3E',
  '%25',
  '%',
  '%zz',
  '*',
  ';x=1',
  '.',
  '~',
  '-1',
  '0',
  '1e309',
  'NaN',
  '99999999999999999999999999999',
  'null',
  big(65),
  big(501),
  big(5000),
];

const ABSURD_QUERY = [
  '-1',
  '-0',
  '0',
  '1.5',
  '1e309',
  '-1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '99999999999999999999999999',
  '9007199254740993',
  '0x1f',
  '1_000',
  '%201',
  '1%20',
  '',
  'null',
  'true',
  '[]',
  '{}',
  '%00',
  '%ff',
  '%C0%80',
  '%',
  '..%2f..%2f',
  '2024-13-45T99:99:99Z',
  '9999-12-31T23:59:59Z',
  '0000-01-01',
  '2024-01-01T00:00:00%2B99:99',
  '1970-01-01T00:00:00.0000000000001Z',
  '-271821-04-20T00:00:00Z',
  '%2B275760-09-13T00:00:00.001Z',
  big(3000),
];

const encodedString = fc.string({ maxLength: 40, unit: 'grapheme' }).map(encodeURIComponent);

function paramValue(p: Parameter, known: Known): fc.Arbitrary<{ value: string; label: string }> {
  const valid = validArb(p.schema, known, p.name).map((v) => ({
    value: encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v)),
    label: 'valid',
  }));
  const absurd = fc.oneof(
    fc.constantFrom(...(p.in === 'path' ? PATH_INJECTIONS : ABSURD_QUERY)),
    encodedString,
    fc.integer().map(String),
    fc.double().map((d) => encodeURIComponent(String(d))),
  );
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 3, arbitrary: absurd.map((value) => ({ value, label: 'absurd' })) },
  );
}

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** One malformed (or occasionally well-formed) request for `op`. */
export function requestArb(
  op: Operation,
  known: Known,
  opts: { hugeBodies: boolean },
): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const takesBody = op.body !== undefined || ['POST', 'PUT', 'DELETE', 'PATCH'].includes(op.method);

  const path = fc.tuple(...pathParams.map((p) => paramValue(p, known))).map((values) => {
    let url = op.path;
    pathParams.forEach((p, i) => {
      url = url.replace(`{${p.name}}`, values[i]!.value);
    });
    return { url, labels: values.map((v, i) => `path.${pathParams[i]!.name}=${v.label}`) };
  });

  const query = fc
    .tuple(
      fc.tuple(
        ...queryParams.map((p) =>
          fc.oneof(
            fc.constant(null),
            paramValue(p, known).map((v) => [`${p.name}=${v.value}`, `q.${p.name}=${v.label}`] as const),
            // Repeated key and bracket forms: arrays where a scalar is expected.
            fc
              .tuple(paramValue(p, known), paramValue(p, known))
              .map(([a, b]) => [`${p.name}=${a.value}&${p.name}=${b.value}`, `q.${p.name}=array`] as const),
            fc
              .constantFrom(`${p.name}[]=1`, `${p.name}[a]=1`, p.name)
              .map((q) => [q, `q.${p.name}=bracket`] as const),
          ),
        ),
      ),
      fc.array(fc.tuple(encodedString, encodedString), { maxLength: 2 }),
    )
    .map(([params, extra]) => {
      const parts = params.filter((x): x is NonNullable<typeof x> => x !== null);
      const all = [...parts.map((p) => p[0]), ...extra.map(([k, v]) => `${k || 'k'}=${v}`)];
      return { qs: all.join('&'), labels: [...parts.map((p) => p[1]), ...(extra.length ? ['q.extra'] : [])] };
    });

  const body = takesBody
    ? fc.option(
        fc.tuple(
          bodyArb(op.body, known, opts.hugeBodies),
          fc.oneof(
            { weight: 4, arbitrary: fc.constant('application/json') },
            fc.constantFrom(...CONTENT_TYPES),
          ),
        ),
        { freq: 8 },
      )
    : fc.constant(null);

  const method = fc.oneof(
    { weight: 19, arbitrary: fc.constant(op.method) },
    fc.constantFrom(...OTHER_METHODS),
  );

  return fc
    .record({ method, path, query, body, headers: oddHeaders })
    .map(({ method, path, query, body, headers }) => {
      const h: Record<string, string> = {};
      for (const [k, v] of headers) h[k.toLowerCase()] = v;
      const labels = [...path.labels, ...query.labels, ...headers.map(([k]) => `h.${k.toLowerCase()}`)];
      let payload: Buffer | undefined;
      if (body && method !== 'GET' && method !== 'HEAD') {
        const [b, type] = body;
        payload = b.payload;
        if (type) h['content-type'] = type;
        labels.push(`body=${b.label}`, `ct=${type.slice(0, 40) || 'none'}`);
      }
      return {
        method,
        url: query.qs ? `${path.url}?${query.qs}` : path.url,
        headers: h,
        ...(payload ? { payload } : {}),
        labels,
      };
    });
}

/** A short printable description of a request (bodies and long values cut). */
export function describeRequest(r: FuzzRequest): string {
  const cut = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}...(${s.length} chars)` : s);
  const headers = Object.entries(r.headers).map(([k, v]) => `${k}: ${cut(JSON.stringify(v), 80)}`);
  const body = r.payload
    ? ` body(${r.payload.length} bytes)=${cut(JSON.stringify(r.payload.toString('latin1')), 300)}`
    : '';
  return `${r.method} ${cut(r.url)} [${headers.join('; ')}]${body} {${r.labels.join(' ')}}`;
}
