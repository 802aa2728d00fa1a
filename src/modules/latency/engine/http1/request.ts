/** The request a pool sends, serialised once and written as is for every exchange. */
export interface Http1Request {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Name/value pairs. Host is added unless given; Content-Length is computed. */
  headers: readonly string[];
  body: string | Buffer | null;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const METHODS_WITH_PAYLOAD = new Set(['POST', 'PUT', 'PATCH']);

/** The request's bytes. Throws on what would let a header or the path split the request. */
export function serializeRequest(origin: URL, r: Http1Request): Buffer {
  if (!TOKEN.test(r.method)) throw new TypeError(`invalid method '${r.method}'`);
  if (!/^[\x21-\x7e]+$/.test(r.path)) throw new TypeError('the path must be printable ASCII without spaces');
  if (r.headers.length % 2 !== 0) throw new TypeError('headers must be name/value pairs');
  const lines = [`${r.method} ${r.path} HTTP/1.1`];
  let host = false;
  for (let i = 0; i < r.headers.length; i += 2) {
    const name = r.headers[i]!;
    const value = r.headers[i + 1]!;
    if (!TOKEN.test(name)) throw new TypeError(`invalid header name '${name}'`);
    if (/[\r\n\0]/.test(value)) throw new TypeError(`header ${name}: control characters are not allowed`);
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection') {
      throw new TypeError(`header ${name} is set by the client itself`);
    }
    if (lower === 'host') host = true;
    lines.push(`${name}: ${value}`);
  }
  if (!host) lines.unshift(lines.shift()!, `host: ${origin.host}`);
  const body = r.body === null ? null : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  if (body !== null || METHODS_WITH_PAYLOAD.has(r.method)) lines.push(`content-length: ${body?.length ?? 0}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === null ? head : Buffer.concat([head, body]);
}
