import { isIP } from 'node:net';
import { LOG_METHODS, type LogEntry, type LogField, type LogMethod } from './model';

/**
 * The access-log line grammar: `<IP> <METHOD> <URI> <STATUS>`.
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

export const MAX_URI_LENGTH = 2048;
/** Lines far beyond any valid one are refused before splitting them. */
const MAX_LINE_LENGTH = 8192;

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
