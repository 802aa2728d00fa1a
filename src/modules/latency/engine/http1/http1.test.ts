import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Http1Handler, Http1Pool, type Http1PoolOptions, serializeRequest } from './index';

type Outcome = { status: number } | { error: string; code: string | undefined };

const servers: Server[] = [];
const pools: Http1Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
  for (const s of servers.splice(0)) s.close();
});

/** A raw TCP server: `onRequest` gets each request's head (as text) and writes the answer itself. */
async function rawServer(onRequest: (socket: Socket, head: string, n: number) => void): Promise<string> {
  let n = 0;
  const server = createServer((socket) => {
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        const length = /content-length: (\d+)/i.exec(head);
        const total = end + 4 + (length ? Number(length[1]) : 0);
        if (buf.length < total) break;
        buf = buf.slice(total);
        onRequest(socket, head, n++);
      }
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function pool(origin: string, opts: Partial<Http1PoolOptions> = {}): Http1Pool {
  const p = new Http1Pool({
    origin,
    request: { method: 'GET', path: '/x', headers: [], body: null },
    connections: 1,
    pipelining: 1,
    timeoutMs: 2000,
    ...opts,
  });
  pools.push(p);
  return p;
}

function send(p: Http1Pool): Promise<Outcome> {
  return new Promise((resolve) => {
    const h: Http1Handler = {
      onSent() {},
      onResponse: (status) => resolve({ status }),
      onError: (err) => resolve({ error: err.message, code: (err as { code?: string }).code }),
    };
    p.dispatch(h);
  });
}

/** Writes `text` in pieces of `size` bytes, one per tick, so the client sees every split. */
async function writeSplit(socket: Socket, text: string, size: number): Promise<void> {
  const bytes = Buffer.from(text, 'latin1');
  for (let i = 0; i < bytes.length; i += size) {
    socket.write(bytes.subarray(i, i + size));
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('serializeRequest', () => {
  it('writes the request line, host, headers, content-length and body', () => {
    const bytes = serializeRequest(new URL('http://example.test:8080'), {
      method: 'POST',
      path: '/a?b=1',
      headers: ['x-one', '1'],
      body: '{"k":"é"}',
    });
    expect(bytes.toString('utf8')).toBe(
      'POST /a?b=1 HTTP/1.1\r\nhost: example.test:8080\r\nx-one: 1\r\ncontent-length: 10\r\n\r\n{"k":"é"}',
    );
  });

  it('keeps a Host header given by the caller and refuses what would split the request', () => {
    const origin = new URL('http://127.0.0.1');
    const req = { method: 'GET', path: '/', body: null };
    expect(serializeRequest(origin, { ...req, headers: ['Host', 'a.test'] }).toString()).toBe(
      'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n',
    );
    expect(() => serializeRequest(origin, { ...req, headers: ['x', 'a\r\nb: c'] })).toThrow(/control/);
    expect(() => serializeRequest(origin, { ...req, headers: ['bad name', 'v'] })).toThrow(/header name/);
    expect(() => serializeRequest(origin, { ...req, path: '/a b', headers: [] })).toThrow(/path/);
    expect(() => serializeRequest(origin, { ...req, headers: ['Content-Length', '5'] })).toThrow(/itself/);
  });
});

describe('Http1Pool response framing', () => {
  it('reads Content-Length, chunked (with extensions and trailers) and 204 bodies, split at every byte', async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n',
      'HTTP/1.1 204 No Content\r\n\r\n',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n',
    ];
    const origin = await rawServer((socket, _head, n) => void writeSplit(socket, answers[n % 4]!, 1));
    const p = pool(origin);
    const got: Outcome[] = [];
    for (let i = 0; i < 4; i++) got.push(await send(p));
    expect(got).toEqual([{ status: 200 }, { status: 201 }, { status: 204 }, { status: 202 }]);
  });

  it('reads several pipelined responses from one read, in order', async () => {
    let heads: string[] = [];
    const origin = await rawServer((socket, head) => {
      heads.push(head);
      if (heads.length === 3) {
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na' +
            'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n' +
            'HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n',
        );
        heads = [];
      }
    });
    const p = pool(origin, { pipelining: 3 });
    const got = await Promise.all([send(p), send(p), send(p)]);
    expect(got).toEqual([{ status: 200 }, { status: 404 }, { status: 500 }]);
  });

  it('takes a body without length as running to the end of the connection, then reconnects', async () => {
    const origin = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil close'));
    const p = pool(origin);
    expect(await send(p)).toEqual({ status: 200 });
    expect(await send(p)).toEqual({ status: 200 });
  });

  it('does not read a body after HEAD', async () => {
    const origin = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n'));
    const p = pool(origin, { request: { method: 'HEAD', path: '/', headers: [], body: null } });
    expect(await send(p)).toEqual({ status: 200 });
    expect(await send(p)).toEqual({ status: 200 });
  });

  it('fails an exchange on a malformed response, a timeout or a connection closed mid-response', async () => {
    const origin = await rawServer((socket, head) => {
      if (head.startsWith('GET /garbage')) socket.write('SSH-2.0-OpenSSH\r\n\r\n');
      else if (head.startsWith('GET /cut')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
      // /silent: never answers
    });
    const req = (path: string) => ({ request: { method: 'GET', path, headers: [], body: null } });
    expect(await send(pool(origin, req('/garbage')))).toMatchObject({ code: 'INVALID_RESPONSE' });
    expect(await send(pool(origin, req('/cut')))).toMatchObject({ code: 'SOCKET_CLOSED' });
    expect(await send(pool(origin, { ...req('/silent'), timeoutMs: 200 }))).toMatchObject({
      code: 'RESPONSE_TIMEOUT',
    });
  });

  it('reports a refused connection with its code', async () => {
    const origin = await rawServer(() => {});
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(await send(pool(origin))).toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('Http1Pool connections', () => {
  it('queues requests beyond connections × pipelining and serves them as connections free up', async () => {
    const sockets = new Set<Socket>();
    const origin = await rawServer((socket) => {
      sockets.add(socket);
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 5);
    });
    const p = pool(origin, { connections: 2 });
    const got = await Promise.all(Array.from({ length: 20 }, () => send(p)));
    expect(got.every((g) => 'status' in g && g.status === 200)).toBe(true);
    expect(sockets.size).toBe(2);
  });

  it('does not reuse a connection the server said it will close, nor one past its Keep-Alive timeout', async () => {
    const sockets = new Set<Socket>();
    const origin = await rawServer((socket, _head, n) => {
      sockets.add(socket);
      socket.write(
        n === 0
          ? 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
          : 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 0\r\n\r\n',
      );
    });
    const p = pool(origin);
    await send(p); // connection 1, closed by the server's answer
    await send(p); // connection 2: keep-alive 1 s, so reused for 0 s (1 s minus a second of margin)
    await new Promise((r) => setTimeout(r, 20));
    await send(p); // connection 3
    expect(sockets.size).toBe(3);
  });

  it('keeps one connection per user against a node:http server and closes cleanly', async () => {
    const server = createHttpServer((_req, res) => res.end('pong'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    let connections = 0;
    server.on('connection', () => connections++);
    try {
      const p = pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 3 });
      for (let round = 0; round < 5; round++) {
        const got = await Promise.all([send(p), send(p), send(p)]);
        expect(got).toEqual([{ status: 200 }, { status: 200 }, { status: 200 }]);
      }
      expect(connections).toBe(3);
      await p.close();
      await new Promise((r) => setTimeout(r, 50));
      expect(await new Promise((r) => server.getConnections((_e, n) => r(n)))).toBe(0);
    } finally {
      server.close();
    }
  });
});

/** A self-signed certificate for localhost (EC P-256, valid until 2126), for the TLS path only. */
const SELF_SIGNED = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsPFyj3jZxUObLZ80
G7z00RE3o8SpybN2EX2Te2BxTMmhRANCAAQdovSrFnTcxuLncLsDhTOQTIypUSrl
1TwyN528eL8GoMdaHpmBoYL+5KhzENWeVTkKdm3TP2eiwHUUyA+VrPYz
-----END PRIVATE KEY-----`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBljCCATugAwIBAgIUa2EV1W0YvUAVlxAdafGqGUGQI4IwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNDE1MDIwNVoYDzIxMjYxMDMx
MTUwMjA1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQdovSrFnTcxuLncLsDhTOQTIypUSrl1TwyN528eL8GoMdaHpmBoYL+
5KhzENWeVTkKdm3TP2eiwHUUyA+VrPYzo2kwZzAdBgNVHQ4EFgQUelYARSS3QKjJ
qQC+XeWHO3J40ZkwHwYDVR0jBBgwFoAUelYARSS3QKjJqQC+XeWHO3J40ZkwDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID
SQAwRgIhAPg6HoFINkRlesuu9nuD4ydRWzV3+NOfv0T4p2YL43Q/AiEAyztxTsGn
sD/G4yWicDmybjs99ITgff4SATsUNEG9fZ8=
-----END CERTIFICATE-----`,
};

describe('Http1Pool over TLS', () => {
  it('speaks HTTPS and verifies the certificate, as any client should', async () => {
    const server = createHttpsServer(SELF_SIGNED, (_req, res) => res.end('pong'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as AddressInfo).port;
      const got = await send(pool(`https://localhost:${port}`));
      // The handshake happened (over plain TCP there would be no certificate to refuse).
      expect(got).toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    } finally {
      server.close();
    }
  });
});
