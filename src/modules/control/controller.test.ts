import { createServer, type Server } from 'node:net';
import ttest2 from '@stdlib/stats-ttest2';
import { describe, expect, it } from 'vitest';
import { afterTest } from '../../../test/helpers';
import {
  closedPort,
  recordingManipulator as manipulator,
  startSocketserverManipulator,
} from './link-test-support';
import {
  captureLogger,
  controlApp,
  decisionsJson as decisions,
  fakeClock,
  fillWindow,
  payloads,
  T0,
  waitFor,
} from './test-support';

const I = 5000;

describe('decision loop end to end (fake clock, real manipulator on port 0)', () => {
  it('decides up on a known mean shift, stores the explanation, sends the command and logs the change', async () => {
    const { m, commands } = await manipulator();
    const clock = fakeClock();
    const { logger, lines } = captureLogger();
    const { app, control } = await controlApp({ clock, logger, env: { MANIPULATOR_PORT: String(m.port) } });
    const before = payloads(1, 60, 100, 10);
    const after = payloads(2, 40, 110, 10);
    await fillWindow(app, clock, T0, before);
    await fillWindow(app, clock, T0 + I, after);

    clock.set(T0 + 2 * I + 7); // the loop woke 7 ms after t_k
    const result = await control.controller.tick(clock.now());
    expect(result.outcome).toBe('decided');
    expect(await result.delivery).toEqual({ delivered: true, outcome: 'acknowledged' });

    const reference = ttest2(after, before); // independent of our SQL and t-test code
    const [d] = await decisions(app);
    expect(d).toMatchObject({
      decided_at: '2030-01-01T00:00:10.000Z',
      made_at: '2030-01-01T00:00:10.007Z',
      lag_ms: 7,
      previous_window: {
        from_datetime: '2030-01-01T00:00:00.000Z',
        to_datetime: '2030-01-01T00:00:05.000Z',
        n: 60,
      },
      current_window: {
        from_datetime: '2030-01-01T00:00:05.000Z',
        to_datetime: '2030-01-01T00:00:10.000Z',
        n: 40,
      },
      previous_status: 'down',
      status: 'up',
      changed: true,
      reason: 'significant_increase',
      missed: 0,
      delivered: true,
      delivery_error: null,
      leader_id: control.controller.leaderId,
    });
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect((d!.previous_window as { mean: number }).mean).toBeCloseTo(mean(before), 10);
    expect((d!.current_window as { mean: number }).mean).toBeCloseTo(mean(after), 10);
    expect(d!.t as number).toBeCloseTo(reference.statistic, 8);
    expect(d!.df as number).toBeCloseTo(reference.df, 8);
    expect(d!.p as number).toBeCloseTo(reference.pValue, 10);
    expect(d!.p as number).toBeLessThan(0.05);

    await waitFor(() => commands.length === 1);
    expect(commands[0]!.command).toEqual({ datetime: '2030-01-01T00:00:10', status: 'up' });
    const change = lines.find((l) => l.msg.startsWith('Changing status'));
    expect(change).toMatchObject({ level: 30, msg: "Changing status from 'down' to 'up'" });
  });

  it('sends the command after every decision, changed or not, and merges the history', async () => {
    const { m, commands } = await manipulator();
    const clock = fakeClock();
    const { app, control } = await controlApp({ clock, env: { MANIPULATOR_PORT: String(m.port) } });
    const tick = async (k: number) => {
      clock.set(T0 + k * I);
      const r = await control.controller.tick(clock.now());
      await r.delivery;
      return r;
    };
    await fillWindow(app, clock, T0, payloads(3, 30, 100, 5));
    expect((await tick(1)).decision).toMatchObject({ status: 'down', reason: 'insufficient_data' });
    await fillWindow(app, clock, T0 + I, payloads(4, 30, 100, 5));
    expect((await tick(2)).decision).toMatchObject({ status: 'down', changed: false });
    await fillWindow(app, clock, T0 + 2 * I, payloads(5, 30, 150, 5));
    expect((await tick(3)).decision).toMatchObject({ status: 'up', changed: true });
    await fillWindow(app, clock, T0 + 3 * I, payloads(6, 30, 150, 5));
    expect((await tick(4)).decision).toMatchObject({ status: 'up', changed: false });
    await fillWindow(app, clock, T0 + 4 * I, payloads(7, 30, 90, 5));
    expect((await tick(5)).decision).toMatchObject({ status: 'down', changed: true });

    await waitFor(() => commands.length === 5);
    expect(commands.map((c) => c.command.status)).toEqual(['down', 'down', 'up', 'up', 'down']);
    expect(commands.map((c) => c.command.datetime)).toEqual([
      '2030-01-01T00:00:05',
      '2030-01-01T00:00:10',
      '2030-01-01T00:00:15',
      '2030-01-01T00:00:20',
      '2030-01-01T00:00:25',
    ]);

    clock.set(T0 + 27_000);
    const res = await app.http.inject({ method: 'GET', url: '/history' });
    expect(res.json()).toEqual([
      { from_datetime: '2030-01-01T00:00:05.000Z', to_datetime: '2030-01-01T00:00:15.000Z', status: 'down' },
      { from_datetime: '2030-01-01T00:00:15.000Z', to_datetime: '2030-01-01T00:00:25.000Z', status: 'up' },
      { from_datetime: '2030-01-01T00:00:25.000Z', to_datetime: '2030-01-01T00:00:27.000Z', status: 'down' },
    ]);
  });

  it('records undelivered commands while the manipulator is down, keeps deciding, and delivers once it is back', async () => {
    const port = await closedPort();
    const clock = fakeClock();
    const { app, control } = await controlApp({ clock, env: { MANIPULATOR_PORT: String(port) } });

    for (const k of [1, 2]) {
      clock.set(T0 + k * I);
      const r = await control.controller.tick(clock.now());
      expect(r.outcome).toBe('decided');
      expect((await r.delivery)?.delivered).toBe(false);
    }
    const down = await decisions(app, '?order=asc');
    expect(down.map((d) => d.delivered)).toEqual([false, false]);
    expect(down[0]!.delivery_error).toMatch(/not connected|ECONNREFUSED/);

    const { commands } = await manipulator(port);
    await waitFor(() => control.controller.manipulatorConnected);
    clock.set(T0 + 3 * I);
    const r = await control.controller.tick(clock.now());
    expect(await r.delivery).toEqual({ delivered: true, outcome: 'acknowledged' });
    expect(commands.map((c) => c.command.datetime)).toEqual(['2030-01-01T00:00:15']);
    expect((await decisions(app))[0]).toMatchObject({
      decided_at: '2030-01-01T00:00:15.000Z',
      delivered: true,
    });
  });

  it('never waits for a manipulator that accepts the connection but does not answer', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    afterTest(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    });
    const port = (silent.address() as { port: number }).port;
    const clock = fakeClock(T0 + I);
    const { app, control } = await controlApp({
      clock,
      env: { MANIPULATOR_PORT: String(port) },
      module: { sendTimeoutMs: 300 },
    });
    await waitFor(async () => {
      await control.controller.tick(clock.now()); // first tick makes this process leader and connects
      return control.controller.manipulatorConnected;
    });
    clock.set(T0 + 2 * I);
    const r = await control.controller.tick(clock.now());
    let settled = false;
    void r.delivery?.then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(false); // the tick returned while the command was still waiting for its ack
    expect(await r.delivery).toMatchObject({
      delivered: false,
      outcome: 'failed',
      error: expect.stringMatching(/acknowledgement/),
    });
    expect((await decisions(app))[0]).toMatchObject({ delivered: false, delivery: 'failed' });
  });

  it('records commands to a manipulator like the original (one line per connection, no reply) as sent, without warnings', async () => {
    const m = await startSocketserverManipulator();
    afterTest(() => m.close());
    const clock = fakeClock();
    const { logger, lines } = captureLogger();
    const { app, control } = await controlApp({ clock, logger, env: { MANIPULATOR_PORT: String(m.port) } });
    const K = 6;
    for (let k = 1; k <= K; k++) {
      clock.set(T0 + k * I);
      const r = await control.controller.tick(clock.now());
      expect(r.outcome).toBe('decided');
      expect(await r.delivery).toEqual({ delivered: true, outcome: 'sent' });
    }
    const rows = await decisions(app, '?order=asc');
    expect(rows.map((d) => [d.delivered, d.delivery, d.delivery_error])).toEqual(
      Array(K).fill([true, 'sent', null]),
    );
    // Every decision's command arrived, in order, each on its own connection: no reconnect storm.
    expect(m.lines.map((l) => JSON.parse(l))).toEqual(
      rows.map((d) => ({ datetime: (d.decided_at as string).slice(0, 19), status: d.status })),
    );
    expect(m.connections()).toBe(K);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    const metrics = await app.http.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain(`telelab_control_commands_total{delivered="true",outcome="sent"} ${K}`);
    expect(metrics.body).not.toContain('outcome="failed"');
    const status = await app.http.inject({ method: 'GET', url: '/control/status' });
    expect(status.json().manipulator).toMatchObject({ ack: 'auto', replies: false, connected: true });
  });

  it('with MANIPULATOR_ACK=on, the same manipulator fails every command', async () => {
    const m = await startSocketserverManipulator();
    afterTest(() => m.close());
    const clock = fakeClock();
    const { app, control } = await controlApp({
      clock,
      env: { MANIPULATOR_PORT: String(m.port), MANIPULATOR_ACK: 'on' },
    });
    clock.set(T0 + I);
    const r = await control.controller.tick(clock.now());
    expect(await r.delivery).toMatchObject({ delivered: false, outcome: 'failed' });
    expect((await decisions(app))[0]).toMatchObject({ delivered: false, delivery: 'failed' });
    expect(m.lines).toHaveLength(1);
  });
});
