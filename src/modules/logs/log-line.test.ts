import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_URI_LENGTH, parseLogLine } from './log-line';
import { LOG_METHODS, type LogField } from './model';

const failure = (line: string) => {
  const result = parseLogLine(line);
  if (result.ok) throw new Error(`expected ${JSON.stringify(line)} to be rejected`);
  return result;
};

/** A well-formed line and the record it parses to. */
const accepted = (ip: string, method: string, uri: string, status_code: number) =>
  [`${ip} ${method} ${uri} ${status_code}`, { ip, method, uri, status_code }] as const;

describe('parseLogLine accepts', () => {
  it.each([
    accepted('192.168.0.1', 'GET', '/index.html', 200),
    accepted('0.0.0.0', 'HEAD', '/', 100),
    accepted('255.255.255.255', 'PATCH', '/a?b=c&d=%20e', 599),
    accepted('::1', 'POST', '/api/data', 201),
    accepted('2001:db8::8a2e:370:7334', 'DELETE', '/x', 404),
    accepted('::ffff:10.0.0.1', 'OPTIONS', '/*', 204),
    accepted('FE80::ABCD', 'PUT', '/Upper/Case', 409),
    accepted('1.2.3.4', 'GET', 'http://example.com/a?x=1', 301),
    accepted('1.2.3.4', 'TRACE', 'HTTPS://example.com:8443', 302),
    accepted('1.2.3.4', 'CONNECT', 'http://[::1]:80/', 200),
  ])('%j', (line, value) => {
    expect(parseLogLine(line)).toEqual({ ok: true, value });
  });

  it('trims whitespace at the ends only', () => {
    expect(parseLogLine(' \t10.0.0.1 GET / 200\r\n')).toMatchObject({ ok: true, value: { ip: '10.0.0.1' } });
  });

  it(`accepts a URI of exactly ${MAX_URI_LENGTH} characters`, () => {
    const uri = `/${'a'.repeat(MAX_URI_LENGTH - 1)}`;
    expect(parseLogLine(`1.1.1.1 GET ${uri} 200`)).toMatchObject({ ok: true, value: { uri } });
  });

  it('accepts every listed method', () => {
    for (const method of LOG_METHODS) expect(parseLogLine(`1.1.1.1 ${method} / 200`).ok).toBe(true);
  });
});

describe('parseLogLine rejects', () => {
  it.each<[string, LogField, RegExp]>([
    ['', 'log', /empty/],
    ['   ', 'log', /empty/],
    ['1.2.3.4 GET /', 'log', /4 space-separated fields.*got 3/],
    ['1.2.3.4 GET / 200 extra', 'log', /got 5/],
    ['1.2.3.4  GET / 200', 'log', /exactly one space/],
    ['1.2.3.4\tGET\t/\t200', 'log', /got 1/],
    ['1.2.3.4 GET /a b 200', 'log', /got 5/],
    ['x'.repeat(9000), 'log', /longer than/],
    ['256.0.0.1 GET / 200', 'ip', /not a valid IPv4 or IPv6/],
    ['01.2.3.4 GET / 200', 'ip', /not a valid|leading zero/],
    ['1.2.3 GET / 200', 'ip', /not a valid/],
    ['1.2.3.4.5 GET / 200', 'ip', /not a valid/],
    ['fe80::1%eth0 GET / 200', 'ip', /zone id/],
    ['[::1] GET / 200', 'ip', /not a valid/],
    ['1::2::3 GET / 200', 'ip', /not a valid/],
    ['localhost GET / 200', 'ip', /not a valid/],
    ['1.2.3.4 get / 200', 'method', /not one of GET HEAD/],
    ['1.2.3.4 Get / 200', 'method', /case-sensitive/],
    ['1.2.3.4 PURGE / 200', 'method', /"PURGE"/],
    ['1.2.3.4 GET index.html 200', 'uri', /must start with "\/"/],
    ['1.2.3.4 GET ftp://example.com/a 200', 'uri', /must start with/],
    ['1.2.3.4 GET http:/x 200', 'uri', /must start with/],
    ['1.2.3.4 GET http:// 200', 'uri', /not a valid absolute URI/],
    ['1.2.3.4 GET /a\tb 200', 'uri', /whitespace or a control character at position 2/],
    ['1.2.3.4 GET /a\u0000 200', 'uri', /control character/],
    ['1.2.3.4 GET /a\u007f 200', 'uri', /control character/],
    ['1.2.3.4 GET /a\u00a0b 200', 'uri', /whitespace/],
    ['1.2.3.4 GET /café 200', 'uri', /"é" at position 4, which must be percent-encoded/],
    ['1.2.3.4 GET /a"b 200', 'uri', /must be percent-encoded/],
    ['1.2.3.4 GET /a%2 200', 'uri', /"%" not followed by two hex digits/],
    ['1.2.3.4 GET /a%zz 200', 'uri', /"%" not followed/],
    ['1.2.3.4 GET /page#top 200', 'uri', /fragment/],
    [`1.2.3.4 GET /${'a'.repeat(MAX_URI_LENGTH)} 200`, 'uri', /longer than 2048 characters \(2049\)/],
    ['1.2.3.4 GET / 99', 'status_code', /100-599/],
    ['1.2.3.4 GET / 600', 'status_code', /100-599/],
    ['1.2.3.4 GET / 0200', 'status_code', /leading zeros/],
    ['1.2.3.4 GET / +200', 'status_code', /sign/],
    ['1.2.3.4 GET / -200', 'status_code', /"-200"/],
    ['1.2.3.4 GET / 200.0', 'status_code', /"200.0"/],
    ['1.2.3.4 GET / 2e2', 'status_code', /"2e2"/],
    ['1.2.3.4 GET / OK', 'status_code', /"OK"/],
  ])('%j -> %s', (line, field, detail) => {
    const result = failure(line);
    expect(result.field).toBe(field);
    expect(result.detail).toMatch(detail);
    // The detail must name the field, so a client can tell what to fix.
    expect(result.detail.startsWith(field)).toBe(true);
  });

  it('reports the first bad field from the left', () => {
    expect(failure('999.1.1.1 get x 7').field).toBe('ip');
    expect(failure('1.1.1.1 get x 7').field).toBe('method');
    expect(failure('1.1.1.1 GET x 7').field).toBe('uri');
  });

  it('shortens a long value in the detail', () => {
    const detail = failure(`1.2.3.4 GET /${'a'.repeat(3000)} 200`).detail;
    expect(detail.length).toBeLessThan(200);
  });
});

describe('parseLogLine and independent arbitraries', () => {
  it('lines built from independent arbitraries parse (property)', () => {
    const ip = fc.oneof(fc.ipV4(), fc.ipV6());
    const path = fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`));
    const query = fc.option(fc.webQueryParameters(), { nil: undefined });
    fc.assert(
      fc.property(
        ip,
        fc.constantFrom(...LOG_METHODS),
        path,
        query,
        fc.integer({ min: 100, max: 599 }),
        (a, m, p, q, s) => {
          const uri = q === undefined ? p : `${p}?${q}`;
          const result = parseLogLine(`${a} ${m} ${uri} ${s}`);
          expect(result, `${a} ${m} ${uri} ${s}`).toEqual({
            ok: true,
            value: { ip: a, method: m, uri, status_code: s },
          });
        },
      ),
      { numRuns: 1000 },
    );
  });
});
