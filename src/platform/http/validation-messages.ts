/**
 * Turns ajv's schema errors into a `detail` that names the field and says what to type instead:
 * a pattern is described in words (never the regular expression), an enum lists its values, an unknown
 * query parameter lists the ones the route takes.
 *
 * A schema says how its pattern reads to a person with `errorMessage` (ajv-errors' shape: a string, or
 * `{ pattern: '...' }`), e.g. "a host name or IP address without a scheme, e.g. 127.0.0.1". Without one,
 * simple character-class patterns (`^[A-Za-z0-9._:-]{1,64}$`) are described automatically, and any
 * other pattern falls back to the schema's examples.
 */
import type { ErrorObject } from 'ajv';

type Schema = Record<string, unknown>;

const FORMATS: Record<string, string> = {
  uuid: 'a UUID, e.g. 0190c6d2-7b3a-7c1e-9f00-3a5b2c1d4e5f',
  'date-time': 'an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z',
  'iso-date-time': 'an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z',
  time: 'a time of day, e.g. 12:00:00Z',
  'iso-time': 'a time of day, e.g. 12:00:00',
  date: 'a date, e.g. 2024-05-01',
  email: 'an e-mail address',
  uri: 'an absolute URI, e.g. http://127.0.0.1:8001/',
};

/** `where` is Fastify's validation context: body, querystring, params or headers. */
export function describeValidationErrors(where: string, errors: readonly ErrorObject[]): string | null {
  const v = errors[0];
  if (!v) return null;
  const params = v.params as Record<string, unknown>;
  let field = `${where}${v.instancePath.replaceAll('/', '.')}`;
  // No body at all (no Content-Type, or an empty one): Fastify validates undefined.
  if (where === 'body' && v.instancePath === '' && v.data == null) {
    return 'body: a JSON body is required (Content-Type: application/json)';
  }
  switch (v.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      const allowed = literalsOf((v.parentSchema?.properties as Schema | undefined)?.[missing]);
      const choices = allowed ? ` (one of ${allowed.join(', ')})` : '';
      return `${field}.${missing}: ${v.message ?? 'is required'}${choices}`;
    }
    case 'additionalProperties': {
      field += `.${String(params.additionalProperty)}`;
      if (where !== 'querystring') return `${field}: unknown field (not allowed)`;
      const known = Object.keys((v.parentSchema?.properties as Schema | undefined) ?? {});
      return `${field}: unknown query parameter; this route takes ${known.length ? known.join(', ') : 'none'}`;
    }
    case 'enum':
      return `${field}: must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'const': {
      // A union of literals (TypeBox's Type.Union([Type.Literal(...)...])) fails every branch, then anyOf.
      const union = errors.find((e) => e.keyword === 'anyOf' && e.instancePath === v.instancePath);
      const allowed = literalsOf(union?.parentSchema);
      if (allowed) return `${field}: must be one of ${allowed.join(', ')}`;
      return `${field}: must be ${JSON.stringify(params.allowedValue)}`;
    }
    case 'pattern':
      return `${field}: must be ${describePattern(v.parentSchema ?? {}, String(params.pattern))}`;
    case 'minItems':
      return `${field}: must have at least ${count(params.limit, 'item')}`;
    case 'maxItems':
      return `${field}: must have at most ${count(params.limit, 'item')}`;
    case 'minLength':
      return `${field}: must be at least ${count(params.limit, 'character')} long`;
    case 'maxLength':
      return `${field}: must be at most ${count(params.limit, 'character')} long`;
    case 'type': {
      if (typeof v.data === 'number' && !Number.isFinite(v.data)) {
        return `${field}: must be a finite number; this one is beyond the largest a double holds (about 1.8e308)`;
      }
      // A union of types (TypeBox's Type.Union([Type.String(), Type.Number()])) fails each branch.
      const union = errors.find((e) => e.keyword === 'anyOf' && e.instancePath === v.instancePath);
      const types = (union?.parentSchema?.anyOf as Schema[] | undefined)?.map((b) => b.type);
      if (types && types.length > 1 && types.every((t) => typeof t === 'string')) {
        return `${field}: must be ${orList(types.map((t) => A_TYPE[t as string] ?? String(t)))}`;
      }
      if (params.type === 'boolean') return `${field}: must be true or false`;
      break;
    }
    case 'format': {
      const fmt = String(params.format);
      const message = `${field}: must be ${FORMATS[fmt] ?? `a valid ${fmt}`}`;
      // A URL's query decodes '+' to a space: '…T00:00:00+02:00' typed into a URL arrives as '…T00:00:00 02:00'.
      const plusDecoded =
        where === 'querystring' && typeof v.data === 'string' && / \d{2}(:?\d{2})?$/.test(v.data);
      return plusDecoded
        ? `${message}; in a URL write the offset's + as %2B (e.g. …T00:00:00%2B02:00)`
        : message;
    }
  }
  return `${field}: ${v.message ?? 'is invalid'}`;
}

/** What a pattern-checked string must look like, in words. */
export function describePattern(schema: Schema, pattern: string): string {
  const hint = schema.errorMessage;
  if (typeof hint === 'string') return hint;
  if (hint && typeof hint === 'object' && typeof (hint as Schema).pattern === 'string') {
    return (hint as Schema).pattern as string;
  }
  const auto = describeSimplePattern(pattern);
  if (auto) return auto;
  const examples = Array.isArray(schema.examples) ? schema.examples.map((e) => JSON.stringify(e)) : [];
  return examples.length
    ? `in the accepted format, e.g. ${examples.join(' or ')}`
    : 'in the accepted format (see this field in /docs)';
}

/**
 * `^[class]{m,n}$`, `^[class]+$`, `^[class]*$` and `^literal` (a fixed prefix) in words; null for anything
 * else, so that a pattern this cannot read is never half-described.
 */
export function describeSimplePattern(pattern: string): string | null {
  const prefix = /^\^([A-Za-z0-9/_.:-]+)$/.exec(pattern);
  if (prefix) return `text starting with "${prefix[1]}"`;
  const m = /^\^\[([^\]\\]+)\](\{(\d+)(,(\d*))?\}|\+|\*)?\$$/.exec(pattern);
  if (!m) return null;
  const chars = describeClass(m[1]!);
  if (!chars) return null;
  const q = m[2];
  let min = 1;
  let max: number | null = 1;
  if (q === '+') max = null;
  else if (q === '*') [min, max] = [0, null];
  else if (q) {
    min = Number(m[3]);
    max = m[4] === undefined ? min : m[5] ? Number(m[5]) : null;
  }
  const count =
    max === null
      ? `${min} or more`
      : min === max
        ? `${min}`
        : min === 0
          ? `up to ${max}`
          : `${min} to ${max}`;
  return `${count} character${max === 1 ? '' : 's'} of ${chars}`;
}

function describeClass(cls: string): string | null {
  if (cls.startsWith('^')) return null;
  let rest = cls;
  const parts: string[] = [];
  const take = (re: RegExp, name: string) => {
    if (re.test(rest)) {
      rest = rest.replace(re, '');
      parts.push(name);
    }
  };
  if (/A-Z/.test(rest) && /a-z/.test(rest)) {
    rest = rest.replace('A-Z', '').replace('a-z', '');
    parts.push('letters');
  }
  take(/A-Z/, 'capital letters');
  take(/a-z/, 'small letters');
  take(/0-9/, 'digits');
  // A '-' left over is a literal (first or last in the class); any other range is left to a hint.
  if (/.-./.test(rest.slice(1, -1))) return null;
  for (const c of rest) parts.push(`"${c}"`);
  return parts.length ? andList(parts) : null;
}

/** The values an enum or a union of literals allows, or null for any other schema. */
function literalsOf(schema: unknown): string[] | null {
  if (!schema || typeof schema !== 'object') return null;
  const s = schema as Schema;
  if (Array.isArray(s.enum)) return s.enum.map(String);
  const branches = s.anyOf as Schema[] | undefined;
  return branches?.every((b) => 'const' in b) ? branches.map((b) => String(b.const)) : null;
}

const count = (n: unknown, noun: string) => `${String(n)} ${noun}${n === 1 ? '' : 's'}`;

const A_TYPE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function andList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
