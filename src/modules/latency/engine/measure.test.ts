import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureOnce } from './measure';

describe('measureOnce', () => {
  const server = createServer((_req, res) => res.end('pong'));
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('answers with the status and a latency', async () => {
    const r = await measureOnce({ url: `http://127.0.0.1:${port}/` });
    expect(r).toMatchObject({ status_code: 200, error: null });
    expect(r.latency_ms).toBeGreaterThan(0);
  });

  it('https to a plain HTTP port: one line with the reason and what to do, not OpenSSL internals', async () => {
    const r = await measureOnce({ scheme: 'https', host: '127.0.0.1', port, path: '/' });
    expect(r.status_code).toBe(0);
    expect(r.error).toMatch(
      /TLS handshake failed: wrong version number \(does the target speak plain HTTP\? then use http\)$/,
    );
    expect(r.error).not.toMatch(/openssl|\.c:\d|\n/);
  });
});
