import { isIP } from 'node:net';

/**
 * The access-log line grammar of seed 004: `<IP> <METHOD> <URI> <STATUS>`.
 *
 * Strict by design, because whatever passes here is stored and replayed to every syncer:
 * - the ends are trimmed; inside, exactly four fields separated by single spaces;
 * - IP: IPv4 (dotted quad, no leading zeros: `010.0.0.1` is octal to some parsers and decimal to
 *   others) or IPv6 without a zone id (`fe80::1%eth0` names an interface on the logging host, which
 *   means nothing once stored) and without brackets;
 * - METHOD: one of the nine RFC 9110 methods, upper case;
 * - URI: origin-form (`/path?query`) or absolute `http(s)://` URI, at most 2048 characters, only
 *   RFC 3986 characters (non-ASCII must be percent-encoded), well-formed `%XX`, no `#` (a fragment is
 *   never part of a request target);
 * - STATUS: three digits 100-599 (no sign, leading zero, decimals or exponent).
 */

export const LOG_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
] as const;
export type LogMethod = (typeof LOG_METHODS)[number];
export const MAX_URI_LENGTH = 2048;
/** Lines far beyond any valid one are refused before splitting them. */
export const MAX_LINE_LENGTH = 8192;

export interface LogEntry {
  ip: string;
  method: LogMethod;
  uri: string;
  status_code: number;
}

export type LogField = 'log' | 'ip' | 'method' | 'uri' | 'status_code';

export type ParseResult = { ok: true; value: LogEntry } | { ok: false; field: LogField; detail: string };

const METHOD_SET: ReadonlySet<string> = new Set(LOG_METHODS);
const IPV4_LEADING_ZERO = /(^|\.)0\d/;
const STATUS = /^[1-5]\d\d$/;
// RFC 3986 unreserved + reserved characters and '%', minus '#'.
const URI_CHARS = /^[A-Za-z0-9\-._~:/?[\]@!$&'()*+,;=%]*$/;
const URI_CHAR = /[A-Za-z0-9\-._~:/?[\]@!$&'()*+,;=%]/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

const fail = (field: LogField, detail: string): ParseResult => ({ ok: false, field, detail });

export function parseLogLine(line: string): ParseResult {
  if (typeof line !== 'string') return fail('log', 'log must be a string');
  if (line.length > MAX_LINE_LENGTH) return fail('log', `log is longer than ${MAX_LINE_LENGTH} characters`);
  const text = line.trim();
  if (text === '') return fail('log', 'log is empty; expected "<IP> <METHOD> <URI> <STATUS>"');
  const parts = text.split(' ');
  if (parts.length !== 4 || parts.includes('')) {
    const why = parts.includes('') ? 'fields must be separated by exactly one space' : `got ${parts.length}`;
    return fail('log', `log must have 4 space-separated fields "<IP> <METHOD> <URI> <STATUS>"; ${why}`);
  }
  const [ip, method, uri, status] = parts as [string, string, string, string];
  const ipError = checkIp(ip);
  if (ipError) return fail('ip', `ip ${quote(ip)} ${ipError}`);
  if (!METHOD_SET.has(method)) {
    return fail('method', `method ${quote(method)} is not one of ${LOG_METHODS.join(' ')} (case-sensitive)`);
  }
  const uriError = checkUri(uri);
  if (uriError) return fail('uri', `uri ${quote(uri)} ${uriError}`);
  if (!STATUS.test(status)) {
    return fail(
      'status_code',
      `status_code ${quote(status)} is not an integer 100-599 without sign or leading zeros`,
    );
  }
  return { ok: true, value: { ip, method: method as LogMethod, uri, status_code: Number(status) } };
}

function checkIp(ip: string): string | undefined {
  if (ip.includes('%')) return 'has an IPv6 zone id, which is not accepted';
  const version = isIP(ip);
  if (version === 0) return 'is not a valid IPv4 or IPv6 address';
  // Node already rejects these today; the rule is ours, so it is checked here too.
  if (version === 4 && IPV4_LEADING_ZERO.test(ip)) return 'has an octet with a leading zero';
  return undefined;
}

function checkUri(uri: string): string | undefined {
  if (uri.length > MAX_URI_LENGTH) return `is longer than ${MAX_URI_LENGTH} characters (${uri.length})`;
  // The whole-string test is the hot path; the loop only runs to explain a failure.
  if (!URI_CHARS.test(uri)) return explainBadUriChar(uri);
  if (BAD_PERCENT.test(uri)) return 'contains a "%" not followed by two hex digits';
  if (uri.startsWith('/')) return undefined;
  if (!/^https?:\/\//i.test(uri)) return 'must start with "/" or be an absolute http:// or https:// URI';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not a valid absolute URI';
  }
  if (url.hostname === '') return 'has no host';
  return undefined;
}

function explainBadUriChar(uri: string): string {
  for (let i = 0; i < uri.length; i++) {
    const ch = uri[i]!;
    if (URI_CHAR.test(ch)) continue;
    const code = ch.codePointAt(0)!;
    if (code <= 0x20 || (code >= 0x7f && code <= 0x9f) || /\s/.test(ch)) {
      return `contains whitespace or a control character at position ${i}`;
    }
    if (ch === '#') return 'contains a fragment (#), which is never part of a request target';
    return `contains ${JSON.stringify(ch)} at position ${i}, which must be percent-encoded`;
  }
  return 'contains a character not allowed in a URI';
}

/** Quotes a field for an error detail, shortened so a 2 KB URI does not flood the response. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 61)}...` : value);
}

// ---------------------------------------------------------------------------------------------
// Generators for the client simulator and tests. `rng` returns floats in [0, 1) like Math.random.

export type Rng = () => number;

const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

function weighted<T>(rng: Rng, table: readonly (readonly [T, number])[]): T {
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

function generateIpv4(rng: Rng): string {
  return [int(rng, 1, 223), int(rng, 0, 255), int(rng, 0, 255), int(rng, 1, 254)].join('.');
}

function generateIpv6(rng: Rng): string {
  const group = () => int(rng, 0, 0xffff).toString(16);
  const style = rng();
  if (style < 0.4) return `2001:db8:${group()}:${group()}::${group()}`;
  if (style < 0.5) return `::ffff:${generateIpv4(rng)}`;
  if (style < 0.6) return `fe80::${group()}:${group()}`;
  return Array.from({ length: 8 }, group).join(':');
}

function generatePath(rng: Rng): string {
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
export function generateLogLine(rng: Rng = Math.random): string {
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
const INVALID_KINDS: readonly { kind: string; field: LogField; make: (f: Fields, rng: Rng) => string }[] = [
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
  { kind: 'other scheme', field: 'uri', make: (f) => replaceField(f, 2, 'ftp://example.com/file').join(' ') },
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
export function generateInvalidLine(rng: Rng = Math.random, kind?: string): InvalidLine {
  const spec = kind === undefined ? pick(rng, INVALID_KINDS) : INVALID_KINDS.find((k) => k.kind === kind);
  if (!spec) throw new Error(`unknown invalid-line kind ${JSON.stringify(kind)}`);
  const fields = generateLogLine(rng).split(' ') as Fields;
  return { line: spec.make(fields, rng), field: spec.field, kind: spec.kind };
}
