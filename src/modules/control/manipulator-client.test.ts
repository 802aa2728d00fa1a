import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { afterTest } from '../../../test/helpers';
import { startManipulator } from './cli/manipulator';
import {
  captureControlLogger as captureLogger,
  testClient as client,
  command as cmd,
  testManipulator as manipulator,
  sleep,
  startSocketserverManipulator,
} from './link-test-support';
import { waitFor } from './test-support';

describe('manipulator + client over TCP', () => {
  it('delivers a command, acknowledges it and logs "Received command: up"', async () => {
    const { logger, lines } = captureLogger();
    const m = await manipulator({ logger });
    const c = client(m.port);
    expect(await c.send(cmd('up'))).toEqual({ delivered: true, outcome: 'acknowledged' });
    expect(m.received).toBe(1);
    expect(m.last?.command).toEqual(cmd('up'));
    expect(lines.some((l) => l.level === 'info' && l.msg === 'Received command: up')).toBe(true);
    expect(c.connected).toBe(true);
  });

  it('keeps one persistent connection across sends', async () => {
    const m = await manipulator();
    const c = client(m.port);
    for (const s of ['up', 'down', 'up'] as const) expect((await c.send(cmd(s))).delivered).toBe(true);
    expect(m.received).toBe(3);
    expect(m.connections).toBe(1);
  });

  it('serves many connections at once', async () => {
    const m = await manipulator();
    const clients = [0, 1, 2, 3, 4].map(() => client(m.port));
    const results = await Promise.all(clients.map((c) => c.send(cmd('down'))));
    expect(results.every((r) => r.delivered)).toBe(true);
    expect(m.received).toBe(5);
  });

  it('reports undelivered while the manipulator is down and reconnects by itself when it is back', async () => {
    const first = await startManipulator({ port: 0 });
    const port = first.port;
    const c = client(port);
    expect((await c.send(cmd('up'))).delivered).toBe(true);

    const disconnected = once(c, 'disconnected');
    await first.close();
    await disconnected;
    const whileDown = await c.send(cmd('down'));
    expect(whileDown.delivered).toBe(false);
    expect(whileDown.error).toMatch(/not connected/);

    const second = await manipulator({ port });
    await once(c, 'connected');
    expect(await c.send(cmd('down'))).toEqual({ delivered: true, outcome: 'acknowledged' });
    expect(second.received).toBe(1);
  });

  it('answers within the timeout when the peer never acknowledges, then reconnects', async () => {
    const silent = createServer(() => {});
    const sockets: Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    afterTest(() => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => silent.close(r));
    });
    const port = (silent.address() as { port: number }).port;
    const c = client(port, { timeoutMs: 150 });
    const started = Date.now();
    const r = await c.send(cmd('up'));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(r).toEqual({ delivered: false, outcome: 'failed', error: 'no acknowledgement within 150 ms' });
    await waitFor(() => sockets.length >= 2); // the unacknowledged connection was replaced
  });

  it('records commands to a manipulator that reads one line per connection and closes as sent, quietly (auto)', async () => {
    const m = await startSocketserverManipulator();
    afterTest(() => m.close());
    const { logger, lines } = captureLogger();
    const c = client(m.port, { logger });
    let reconnects = 0;
    c.on('reconnecting', () => reconnects++);
    const results = [];
    for (let i = 0; i < 5; i++) {
      results.push(await c.send(cmd(i % 2 ? 'up' : 'down', `2024-05-01T12:00:0${i}`)));
      await sleep(20); // the next command finds the connection closed by the peer
    }
    expect(results).toEqual(Array(5).fill({ delivered: true, outcome: 'sent' }));
    expect(m.lines.map((l) => JSON.parse(l).datetime)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `2024-05-01T12:00:0${i}`),
    );
    expect(m.connections()).toBe(5); // one per command: no reconnect storm
    expect(reconnects).toBe(0);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(lines.filter((l) => /closes the connection after each command/.test(l.msg))).toHaveLength(1);
    expect(c.peer).toBe('silent');
    expect(c.connected).toBe(true);
  });

  it('with ack on, a manipulator that closes without replying is a failure', async () => {
    const m = await startSocketserverManipulator();
    afterTest(() => m.close());
    const c = client(m.port, { ack: 'on' });
    const r = await c.send(cmd('up'));
    expect(r).toMatchObject({ delivered: false, outcome: 'failed' });
    expect(r.error).toMatch(/connection lost before acknowledgement/);
    expect(m.lines).toHaveLength(1);
  });

  it('with ack off, a command is sent once written, to either kind of manipulator', async () => {
    const silent = await startSocketserverManipulator();
    afterTest(() => silent.close());
    const c1 = client(silent.port, { ack: 'off' });
    expect(await c1.send(cmd('up'))).toEqual({ delivered: true, outcome: 'sent' });
    await waitFor(() => silent.lines.length === 1);
    await sleep(20);
    expect(await c1.send(cmd('down'))).toEqual({ delivered: true, outcome: 'sent' });
    await waitFor(() => silent.lines.length === 2);
    const replying = await manipulator();
    const c2 = client(replying.port, { ack: 'off' });
    expect(await c2.send(cmd('up'))).toEqual({ delivered: true, outcome: 'sent' });
    await waitFor(() => replying.received === 1);
  });

  it('in auto mode, a manipulator that has replied before and then closes mid-command is a failure', async () => {
    const sockets: Socket[] = [];
    let n = 0;
    // Replies ok to the first command, then hangs up on the second without a reply.
    const server = createServer((s) => {
      sockets.push(s);
      s.on('data', () => {
        if (++n === 1) s.write('ok\n');
        else s.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    afterTest(() => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    });
    const c = client((server.address() as { port: number }).port);
    expect(await c.send(cmd('up'))).toEqual({ delivered: true, outcome: 'acknowledged' });
    expect(c.peer).toBe('replies');
    const r = await c.send(cmd('down'));
    expect(r).toMatchObject({ delivered: false, outcome: 'failed' });
    expect(r.error).toMatch(/connection lost before acknowledgement/);
  });

  it('never throws and reports undelivered after close()', async () => {
    const m = await manipulator();
    const c = client(m.port);
    await c.close();
    expect(await c.send(cmd('up'))).toEqual({ delivered: false, outcome: 'failed', error: 'client closed' });
  });

  it('rejects an invalid command locally without sending it', async () => {
    const m = await manipulator();
    const c = client(m.port);
    const r = await c.send({ datetime: 'yesterday', status: 'up' });
    expect(r.delivered).toBe(false);
    expect(m.rejected).toBe(0);
  });
});
