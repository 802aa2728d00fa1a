/**
 * Realistic access-log traffic for the client simulator, the benchmark and tests: valid lines with a
 * typical mix, and lines with exactly one mistake together with the field the parser must blame.
 * `rng` returns floats in [0, 1) like Math.random; pass a seeded one to replay a run.
 */
import type { Random } from '../../stats/random';
import { MAX_URI_LENGTH } from './log-line';
import type { LogField, LogMethod } from './model';

const int = (rng: Random, min: number, max: number) => min + Math.floor(rng() * (max - min + 1));
const pick = <T>(rng: Random, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

function weighted<T>(rng: Random, table: readonly (readonly [T, number])[]): T {
  const total = table.reduce((sum, [, w]) => sum + w, 0);
  let r = rng() * total;
  for (const [value, weight] of table) {
    r -= weight;
    if (r < 0) return value;
  }
  return table[table.length - 1]![0];
}

const METHOD_WEIGHTS: readonly (readonly [LogMethod, number])[] = [
  ['GET', 70],
  ['POST', 14],
  ['HEAD', 4],
  ['PUT', 4],
  ['DELETE', 3],
  ['PATCH', 2],
  ['OPTIONS', 2],
  ['CONNECT', 0.5],
  ['TRACE', 0.5],
];

const STATUS_WEIGHTS: readonly (readonly [number, number])[] = [
  [200, 62],
  [201, 5],
  [204, 3],
  [301, 2],
  [302, 3],
  [304, 6],
  [400, 3],
  [401, 2],
  [403, 2],
  [404, 8],
  [429, 1],
  [500, 1.5],
  [502, 0.8],
  [503, 0.7],
  [101, 0.2],
];

const SEGMENTS = [
  'api',
  'v1',
  'v2',
  'users',
  'items',
  'orders',
  'search',
  'cart',
  'products',
  'blog',
  'docs',
];
const STATIC = ['static/app.js', 'static/style.css', 'img/logo.png', 'favicon.ico', 'robots.txt'];
const QUERY_KEYS = ['q', 'page', 'limit', 'sort', 'lang', 'utm_source', 'ref', 'id'];
const QUERY_VALUES = ['1', '20', 'asc', 'desc', 'en', 'ru', 'newsletter', 'shoes%20red', 'a-b_c.d~e'];
const HOSTS = ['example.com', 'shop.example.org', 'api.example.net:8443', '203.0.113.7'];

function generateIpv4(rng: Random): string {
  return [int(rng, 1, 223), int(rng, 0, 255), int(rng, 0, 255), int(rng, 1, 254)].join('.');
}

function generateIpv6(rng: Random): string {
  const group = () => int(rng, 0, 0xffff).toString(16);
  const style = rng();
  if (style < 0.4) return `2001:db8:${group()}:${group()}::${group()}`;
  if (style < 0.5) return `::ffff:${generateIpv4(rng)}`;
  if (style < 0.6) return `fe80::${group()}:${group()}`;
  return Array.from({ length: 8 }, group).join(':');
}

function generatePath(rng: Random): string {
  if (rng() < 0.15) return `/${pick(rng, STATIC)}`;
  const depth = int(rng, 1, 4);
  const parts = Array.from({ length: depth }, () =>
    rng() < 0.25 ? String(int(rng, 1, 99999)) : pick(rng, SEGMENTS),
  );
  let path = `/${parts.join('/')}`;
  if (rng() < 0.4) {
    const params = Array.from(
      { length: int(rng, 1, 3) },
      () => `${pick(rng, QUERY_KEYS)}=${pick(rng, QUERY_VALUES)}`,
    );
    path += `?${params.join('&')}`;
  }
  return path;
}

/** A realistic valid line: mostly IPv4 and GET, paths with query strings, a typical status mix. */
export function generateLogLine(rng: Random = Math.random): string {
  const ip = rng() < 0.8 ? generateIpv4(rng) : generateIpv6(rng);
  const method = weighted(rng, METHOD_WEIGHTS);
  const path = generatePath(rng);
  const uri = rng() < 0.05 ? `${rng() < 0.5 ? 'http' : 'https'}://${pick(rng, HOSTS)}${path}` : path;
  return `${ip} ${method} ${uri} ${weighted(rng, STATUS_WEIGHTS)}`;
}

export interface InvalidLine {
  line: string;
  /** The field parseLogLine must report. */
  field: LogField;
  /** Which kind of mistake was made, for test messages. */
  kind: string;
}

type Fields = [string, string, string, string];
const replaceField = (f: Fields, index: number, value: string): Fields =>
  f.map((v, i) => (i === index ? value : v)) as Fields;

/** Each mistake replaces or rearranges one part of an otherwise valid line. */
const INVALID_KINDS: readonly { kind: string; field: LogField; make: (f: Fields, rng: Random) => string }[] =
  [
    { kind: 'empty', field: 'log', make: (_f, r) => pick(r, ['', '   ']) },
    { kind: 'three fields', field: 'log', make: (f) => [f[0], f[1], f[2]].join(' ') },
    { kind: 'five fields', field: 'log', make: (f) => [...f, 'extra'].join(' ') },
    { kind: 'double space', field: 'log', make: (f) => `${f[0]}  ${f.slice(1).join(' ')}` },
    { kind: 'tab separator', field: 'log', make: (f) => f.join('\t') },
    {
      kind: 'octet > 255',
      field: 'ip',
      make: (f, r) => replaceField(f, 0, `${int(r, 256, 999)}.1.2.3`).join(' '),
    },
    {
      kind: 'leading zero',
      field: 'ip',
      make: (f, r) => replaceField(f, 0, `0${int(r, 1, 9)}.1.2.3`).join(' '),
    },
    { kind: 'zone id', field: 'ip', make: (f) => replaceField(f, 0, 'fe80::1%eth0').join(' ') },
    { kind: 'hostname', field: 'ip', make: (f) => replaceField(f, 0, 'localhost').join(' ') },
    { kind: 'bracketed v6', field: 'ip', make: (f) => replaceField(f, 0, '[::1]').join(' ') },
    { kind: 'three octets', field: 'ip', make: (f) => replaceField(f, 0, '10.0.1').join(' ') },
    {
      kind: 'lower-case method',
      field: 'method',
      make: (f) => replaceField(f, 1, f[1].toLowerCase()).join(' '),
    },
    {
      kind: 'unknown method',
      field: 'method',
      make: (f, r) => replaceField(f, 1, pick(r, ['FETCH', 'G3T', 'PURGE'])).join(' '),
    },
    { kind: 'relative uri', field: 'uri', make: (f) => replaceField(f, 2, 'index.html').join(' ') },
    {
      kind: 'other scheme',
      field: 'uri',
      make: (f) => replaceField(f, 2, 'ftp://example.com/file').join(' '),
    },
    { kind: 'no host', field: 'uri', make: (f) => replaceField(f, 2, 'http://').join(' ') },
    { kind: 'tab in uri', field: 'uri', make: (f) => replaceField(f, 2, `${f[2]}\tx`).join(' ') },
    { kind: 'control char', field: 'uri', make: (f) => replaceField(f, 2, `/a\u0001b`).join(' ') },
    { kind: 'non-ascii', field: 'uri', make: (f) => replaceField(f, 2, '/caf\u00e9').join(' ') },
    { kind: 'bad percent', field: 'uri', make: (f) => replaceField(f, 2, '/a%zz').join(' ') },
    { kind: 'fragment', field: 'uri', make: (f) => replaceField(f, 2, '/page#top').join(' ') },
    {
      kind: 'too long uri',
      field: 'uri',
      make: (f) => replaceField(f, 2, `/${'a'.repeat(MAX_URI_LENGTH)}`).join(' '),
    },
    {
      kind: 'status < 100',
      field: 'status_code',
      make: (f, r) => replaceField(f, 3, String(int(r, 0, 99))).join(' '),
    },
    {
      kind: 'status > 599',
      field: 'status_code',
      make: (f, r) => replaceField(f, 3, String(int(r, 600, 999))).join(' '),
    },
    {
      kind: 'leading zero status',
      field: 'status_code',
      make: (f) => replaceField(f, 3, `0${f[3]}`).join(' '),
    },
    { kind: 'signed status', field: 'status_code', make: (f) => replaceField(f, 3, `+${f[3]}`).join(' ') },
    { kind: 'decimal status', field: 'status_code', make: (f) => replaceField(f, 3, `${f[3]}.0`).join(' ') },
    { kind: 'word status', field: 'status_code', make: (f) => replaceField(f, 3, 'OK').join(' ') },
  ];

export const INVALID_LINE_KINDS: readonly string[] = INVALID_KINDS.map((k) => k.kind);

/** A line with exactly one mistake; `field` is what parseLogLine must blame. */
export function generateInvalidLine(rng: Random = Math.random, kind?: string): InvalidLine {
  const spec = kind === undefined ? pick(rng, INVALID_KINDS) : INVALID_KINDS.find((k) => k.kind === kind);
  if (!spec) throw new Error(`unknown invalid-line kind ${JSON.stringify(kind)}`);
  const fields = generateLogLine(rng).split(' ') as Fields;
  return { line: spec.make(fields, rng), field: spec.field, kind: spec.kind };
}
