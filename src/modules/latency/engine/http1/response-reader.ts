import { Http1Error } from '../errors';

// Parser states.
const HEAD = 0;
const BODY = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;

const CRLF = Buffer.from('\r\n');
const INCOMPLETE = -1;
const FAILED = -2;
const CONTENT_LENGTH = Buffer.from('content-length');
const CONNECTION = Buffer.from('connection');
const TRANSFER_ENCODING = Buffer.from('transfer-encoding');
const KEEP_ALIVE = Buffer.from('keep-alive');

/** Index of the next LF at or after `from`, or -1. */
function lineEnd(buf: Buffer, from: number, len: number): number {
  for (let i = from; i < len; i++) if (buf[i] === 0x0a) return i;
  return -1;
}

/** buf[start, end) equals `lower` (lowercase ASCII letters, digits and '-'), ignoring case. */
function nameIs(buf: Buffer, start: number, end: number, lower: Buffer): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((buf[start + i]! | 0x20) !== lower[i]) return false;
  return true;
}
const MAX_HEAD = 64 * 1024;
const MAX_LINE = 8 * 1024;

/**
 * Reads HTTP/1.1 responses off a connection's bytes: just what framing needs (status, Content-Length,
 * chunked, Connection / Keep-Alive); bodies are skipped. The connection (connection.ts) extends it.
 */
export abstract class ResponseReader {
  /** Handlers of the requests written and not yet answered, oldest first. */
  abstract readonly waiting: readonly unknown[];
  /** No new request: the server asked to close, the socket failed, or the response ends at close. */
  abstract retired: boolean;
  abstract dead: boolean;
  /** Date.now() after which the idle connection is not reused (0: no response yet). */
  abstract reuseUntil: number;
  protected abstract readonly pool: { readonly isHead: boolean; readonly keepAliveMs: number };

  private state = HEAD;
  private partial: Buffer | null = null;
  private remaining = 0;
  private status = 0;
  private keepAlive = true;

  /** Fails the connection: the error goes to every request waiting on it. */
  abstract fail(err: Error): void;
  /** A whole response has been read. */
  protected abstract responseComplete(status: number, keepAlive: boolean): void;

  /** The response being read runs to the end of the connection. */
  protected get readsUntilClose(): boolean {
    return this.state === UNTIL_CLOSE;
  }

  /**
   * Reads every complete response in `chunk`; keeps (a copy of) what a line or the head needs
   * across chunks. `shared`: chunk lives in the pool's read buffer and is overwritten by the next read.
   */
  protected readonly onData = (chunk: Buffer, shared = false) => {
    let buf = chunk;
    if (this.partial !== null) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
      shared = false;
    }
    let pos = 0;
    const len = buf.length;
    while (pos < len && !this.dead) {
      switch (this.state) {
        case HEAD: {
          const next = this.head(buf, pos, len);
          if (next === INCOMPLETE) return this.hold(buf, pos, shared, MAX_HEAD, 'response head');
          if (next === FAILED) return;
          pos = next;
          break;
        }
        case BODY: {
          const n = Math.min(this.remaining, len - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.complete();
          break;
        }
        case CHUNK_SIZE: {
          const eol = buf.indexOf(CRLF, pos);
          if (eol < 0) return this.hold(buf, pos, shared, MAX_LINE, 'chunk size line');
          let size = 0;
          let digits = 0;
          let i = pos;
          for (; i < eol; i++) {
            const c = buf[i]!;
            const d =
              c >= 48 && c <= 57 ? c - 48 : (c | 0x20) >= 97 && (c | 0x20) <= 102 ? (c | 0x20) - 87 : -1;
            if (d < 0) break;
            size = size * 16 + d;
            digits++;
          }
          // After the digits only whitespace or a chunk extension (`;name=value`) may follow.
          if (
            digits === 0 ||
            digits > 12 ||
            (i < eol && buf[i] !== 0x3b && buf[i] !== 0x20 && buf[i] !== 0x09)
          ) {
            return this.invalid('invalid chunk size');
          }
          pos = eol + 2;
          if (size === 0) this.state = TRAILERS;
          else {
            this.state = CHUNK_DATA;
            this.remaining = size;
          }
          break;
        }
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, len - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = CHUNK_END;
            this.remaining = 2;
          }
          break;
        }
        case CHUNK_END: {
          // The CRLF after a chunk's data, possibly split across reads.
          const expected = this.remaining === 2 ? 13 : 10;
          if (buf[pos] !== expected) return this.invalid('chunk data not followed by CRLF');
          pos++;
          if (--this.remaining === 0) this.state = CHUNK_SIZE;
          break;
        }
        case TRAILERS: {
          // Trailer lines are skipped; an empty line ends the response.
          const eol = buf.indexOf(CRLF, pos);
          if (eol < 0) return this.hold(buf, pos, shared, MAX_LINE, 'trailer line');
          const empty = eol === pos;
          pos = eol + 2;
          if (empty) this.complete();
          break;
        }
        case UNTIL_CLOSE:
          pos = len;
          break;
      }
    }
  };

  /** Keeps buf[pos..] (a copy if it lives in the shared read buffer) until more bytes arrive. */
  private hold(buf: Buffer, pos: number, shared: boolean, max: number, what: string): void {
    if (buf.length - pos > max) {
      this.invalid(`${what} longer than ${max / 1024} KiB`);
      return;
    }
    this.partial = shared ? Buffer.from(buf.subarray(pos)) : buf.subarray(pos);
  }

  /**
   * Parses the response head starting at buf[pos], in one pass over its bytes (a native indexOf per
   * line costs more than the scan). Returns the position after it, INCOMPLETE (nothing is changed;
   * it is parsed again with more bytes), or FAILED (the connection was failed).
   */
  private head(buf: Buffer, pos: number, len: number): number {
    let eol = lineEnd(buf, pos, len);
    if (eol < 0) return INCOMPLETE;
    if (this.waiting.length === 0) return this.invalid('a response arrived with no request waiting');
    // "HTTP/1.x SSS" — the reason phrase is ignored.
    if (
      eol - pos < 12 ||
      buf[pos] !== 0x48 ||
      buf[pos + 1] !== 0x54 ||
      buf[pos + 2] !== 0x54 ||
      buf[pos + 3] !== 0x50 ||
      buf[pos + 4] !== 0x2f ||
      buf[pos + 5] !== 0x31 ||
      buf[pos + 6] !== 0x2e ||
      buf[pos + 8] !== 0x20
    ) {
      return this.invalid('not an HTTP/1.x response');
    }
    const s0 = buf[pos + 9]! - 48;
    const s1 = buf[pos + 10]! - 48;
    const s2 = buf[pos + 11]! - 48;
    if (s0 < 1 || s0 > 5 || s1 < 0 || s1 > 9 || s2 < 0 || s2 > 9) return this.invalid('invalid status code');
    const status = s0 * 100 + s1 * 10 + s2;
    let keepAlive = buf[pos + 7] !== 0x30; // HTTP/1.0 closes unless it says keep-alive
    let length = -1;
    let chunked = false;
    let keepAliveSeconds = 0;
    let line = eol + 1;
    for (;;) {
      eol = lineEnd(buf, line, len);
      if (eol < 0) return INCOMPLETE;
      const end = eol > line && buf[eol - 1] === 0x0d ? eol - 1 : eol;
      if (end === line) break; // the empty line ends the head
      // Only names starting with c, t or k can matter here.
      const first = buf[line]! | 0x20;
      if (first === 0x63 || first === 0x74 || first === 0x6b) {
        let colon = line;
        while (colon < end && buf[colon] !== 0x3a) colon++;
        if (colon === end) return this.invalid('a header line without a colon');
        let v = colon + 1;
        while (v < end && (buf[v] === 0x20 || buf[v] === 0x09)) v++;
        let ve = end;
        while (ve > v && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
        if (nameIs(buf, line, colon, CONTENT_LENGTH)) {
          let n = 0;
          for (let i = v; i < ve; i++) {
            const d = buf[i]! - 48;
            if (d < 0 || d > 9 || i - v >= 15) return this.invalid('invalid Content-Length');
            n = n * 10 + d;
          }
          if (ve === v || (length >= 0 && length !== n)) return this.invalid('invalid Content-Length');
          length = n;
        } else if (nameIs(buf, line, colon, CONNECTION)) {
          if (!nameIs(buf, v, ve, KEEP_ALIVE)) {
            const value = buf.toString('latin1', v, ve).toLowerCase();
            if (value.includes('close')) keepAlive = false;
            else if (value.includes('keep-alive')) keepAlive = true;
          } else keepAlive = true;
        } else if (nameIs(buf, line, colon, TRANSFER_ENCODING)) {
          chunked = /(?:^|,)\s*chunked$/i.test(buf.toString('latin1', v, ve));
        } else if (nameIs(buf, line, colon, KEEP_ALIVE)) {
          const m = /timeout\s*=\s*(\d+)/i.exec(buf.toString('latin1', v, ve));
          if (m) keepAliveSeconds = Number(m[1]);
        }
      }
      line = eol + 1;
    }
    const next = eol + 1;
    if (status < 200) {
      if (status === 101) {
        return this.invalid('the server switched protocols (101), which a load test cannot follow');
      }
      return next; // 1xx informational: the real response follows
    }
    this.status = status;
    this.keepAlive = keepAlive;
    // Stop reusing a second before the server's announced keep-alive timeout, as undici does.
    this.reuseUntil =
      Date.now() +
      (keepAliveSeconds > 0 ? Math.max(0, keepAliveSeconds * 1000 - 1000) : this.pool.keepAliveMs);
    if (this.pool.isHead || status === 204 || status === 304) this.complete();
    else if (chunked) this.state = CHUNK_SIZE;
    else if (length === 0) this.complete();
    else if (length > 0) {
      this.state = BODY;
      this.remaining = length;
    } else {
      // No length: the body runs to the end of the connection (RFC 9112 §6.3).
      this.state = UNTIL_CLOSE;
      this.keepAlive = false;
      this.retired = true;
    }
    return next;
  }

  protected complete(): void {
    this.state = HEAD;
    this.responseComplete(this.status, this.keepAlive);
  }

  private invalid(message: string): typeof FAILED {
    this.fail(new Http1Error('INVALID_RESPONSE', `invalid response: ${message}`));
    return FAILED;
  }
}
