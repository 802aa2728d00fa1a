import { createServer, type Server } from 'node:net';
import ttest2 from '@stdlib/stats-ttest2';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestDb, type TestApp } from '../../../test/helpers';
import { type Manipulator, type ReceivedCommand, startManipulator } from './manipulator';
import {
  captureLogger,
  controlApp,
  type FakeClock,
  fakeClock,
  payloads,
  postReading,
  startSocketserverManipulator,
  T0,
  waitFor,
} from './test-support';

const I = 5000;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function manipulator(port = 0): Promise<{ m: Manipulator; commands: ReceivedCommand[] }> {
  const commands: ReceivedCommand[] = [];
  const m = await startManipulator({ port, onCommand: (c) => commands.push(c) });
  cleanups.push(() => m.close());
  return { m, commands };
}

/** A free port with nothing listening on it (the manipulator is "down"). */
async function closedPort(): Promise<number> {
  const m = await startManipulator({ port: 0 });
  await m.close();
  return m.port;
}

/**
 * Posts `values` spread evenly over the window starting at `startMs`, with the clock inside that window;
 * concurrently, as sensors do, so the batch writer batches them.
 */
async function fillWindow(app: TestApp, clock: FakeClock, startMs: number, values: number[]) {
  clock.set(startMs + 1);
  const responses = await Promise.all(
    values.map((v, i) =>
      postReading(app, new Date(startMs + Math.floor((i * I) / values.length)).toISOString(), v),
    ),
  );
  for (const res of responses) expect(res.json()).toEqual({ accepted: true });
}

async function decisions(app: TestApp, query = '') {
  const res = await app.http.inject({ method: 'GET', url: `/decisions${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Record<string, unknown>[]>();
}

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
    cleanups.push(async () => {
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
    cleanups.push(() => m.close());
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
    cleanups.push(() => m.close());
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

describe('decision loop: state and timing', () => {
  it('keeps the last status across a restart', async () => {
    const db = await openTestDb();
    cleanups.push(() => db.close());
    const clock = fakeClock();
    const first = await controlApp({ clock, db, env: { MANIPULATOR_PORT: String(await closedPort()) } });
    await fillWindow(first.app, clock, T0, payloads(8, 20, 100, 3));
    await fillWindow(first.app, clock, T0 + I, payloads(9, 20, 200, 3));
    clock.set(T0 + 2 * I);
    expect((await first.control.controller.tick(clock.now())).decision?.status).toBe('up');
    await first.app.close();

    const second = await controlApp({ clock, db, env: { MANIPULATOR_PORT: String(await closedPort()) } });
    clock.set(T0 + 3 * I);
    const r = await second.control.controller.tick(clock.now());
    // Window 2 vs window 1 with no new readings: no evidence, so the restored status stays.
    expect(r.decision).toMatchObject({ previousStatus: 'up', status: 'up', reason: 'insufficient_data' });
    const status = await second.app.http.inject({ method: 'GET', url: '/control/status' });
    expect(status.json()).toMatchObject({ status: 'up' });
    await second.app.close();
  });

  it('decides once per decision time, however often it is ticked', async () => {
    const clock = fakeClock(T0 + I);
    const { app, control } = await controlApp({
      clock,
      env: { MANIPULATOR_PORT: String(await closedPort()) },
    });
    const results = await Promise.all([0, 3, 4999].map((ms) => control.controller.tick(T0 + I + ms)));
    expect(results.map((r) => r.outcome)).toEqual(['decided', 'already_decided', 'already_decided']);
    expect(await decisions(app)).toHaveLength(1);
  });

  it('after a late wake-up, decides for the latest decision time and records how many were missed', async () => {
    const clock = fakeClock(T0 + I);
    const { app, control } = await controlApp({
      clock,
      env: { MANIPULATOR_PORT: String(await closedPort()) },
    });
    await control.controller.tick(T0 + I);
    const late = await control.controller.tick(T0 + 4 * I + 1200);
    expect(late.decision).toMatchObject({ decidedAt: new Date(T0 + 4 * I), missed: 2 });
    expect((await decisions(app)).map((d) => d.decided_at)).toEqual([
      '2030-01-01T00:00:20.000Z',
      '2030-01-01T00:00:05.000Z',
    ]);
  });

  it('with CONTROL_MIN_DWELL, a change right after a change waits', async () => {
    const clock = fakeClock();
    const { app, control } = await controlApp({
      clock,
      env: { CONTROL_MIN_DWELL: '2', MANIPULATOR_PORT: String(await closedPort()) },
    });
    const means = [100, 200, 100, 100];
    for (let k = 0; k < means.length; k++)
      await fillWindow(app, clock, T0 + k * I, payloads(20 + k, 20, means[k]!, 3));
    clock.set(T0 + 2 * I);
    expect((await control.controller.tick(clock.now())).decision).toMatchObject({
      status: 'up',
      changed: true,
    });
    clock.set(T0 + 3 * I);
    expect((await control.controller.tick(clock.now())).decision).toMatchObject({
      status: 'up',
      changed: false,
      reason: 'min_dwell',
    });
  });

  it('with CONTROL_DETECTOR=cusum, continues its sums and baseline from the stored decisions and says why', async () => {
    const clock = fakeClock();
    const { app, control } = await controlApp({
      clock,
      env: {
        CONTROL_DETECTOR: 'cusum',
        CONTROL_CUSUM_ARL: '500',
        MANIPULATOR_PORT: String(await closedPort()),
      },
    });
    const means = [100, 100, 100, 130];
    for (let k = 0; k < means.length; k++)
      await fillWindow(app, clock, T0 + k * I, payloads(40 + k, 20, means[k]!, 5));
    for (let k = 2; k <= 4; k++) {
      clock.set(T0 + k * I);
      await control.controller.tick(clock.now());
    }
    const rows = await decisions(app, '?order=asc');
    expect(rows.map((d) => [d.detector, d.reason, d.status])).toEqual([
      ['cusum', 'cusum_below_threshold', 'down'],
      ['cusum', 'cusum_below_threshold', 'down'],
      ['cusum', 'cusum_increase', 'up'],
    ]);
    // The first decision's baseline is window 0; each later one adds the window it judged.
    expect(rows.map((d) => (d.cusum as { baseline_windows: number }).baseline_windows)).toEqual([2, 3, 0]);
    const [, second, third] = rows as unknown as { cusum: Record<string, number>; detail: string }[];
    expect(second!.cusum.reference).toBeCloseTo(
      (payloads(40, 20, 100, 5).reduce((a, b) => a + b) + payloads(41, 20, 100, 5).reduce((a, b) => a + b)) /
        40,
      9,
    );
    expect(third!.cusum).toMatchObject({ alarm: 'up', arl: 500, k: 0.5 });
    expect(third!.cusum.s_up).toBeGreaterThan(third!.cusum.threshold as number);
    expect(third!.detail).toMatch(/^z=.*S\+ over h=5\.063 \(ARL 500, k 0\.5\).*down -> up$/);
    const status = await app.http.inject({ method: 'GET', url: '/control/status' });
    expect(status.json().detector).toMatchObject({ type: 'cusum', arl: 500, k: 0.5 });
  });

  it('deletes readings older than the retention after a decision, and keeps the windows it needs', async () => {
    const clock = fakeClock();
    const { app, control } = await controlApp({
      clock,
      env: { MANIPULATOR_PORT: String(await closedPort()) },
      module: { retentionMs: 3 * I },
    });
    for (let k = 0; k < 6; k++) await fillWindow(app, clock, T0 + k * I, [1, 2]);
    clock.set(T0 + 6 * I);
    await control.controller.tick(clock.now());
    const left = async () =>
      (await app.db.query<{ datetime: Date }>('SELECT datetime FROM control.readings ORDER BY datetime')).map(
        (r) => r.datetime.getTime(),
      );
    await waitFor(async () => (await left()).length === 6);
    expect(Math.min(...(await left()))).toBe(T0 + 3 * I);
  });

  it('runs on its own timer at aligned times (real clock, 200 ms interval)', async () => {
    const { app } = await controlApp({
      env: { CONTROL_DECISION_INTERVAL: '0.2', MANIPULATOR_PORT: String(await closedPort()) },
      module: { loop: 'timer' },
    });
    await waitFor(async () => (await decisions(app)).length >= 3, 3000);
    const rows = (await decisions(app, '?order=asc')).slice(0, 3);
    for (const d of rows) {
      expect(Date.parse(d.decided_at as string) % 200).toBe(0);
      expect(d.lag_ms as number).toBeGreaterThanOrEqual(0);
      // Not a speed assertion (machines are noisy): a decision is made for its own window, not a later one.
      expect(d.lag_ms as number).toBeLessThan(2000);
    }
    const times = rows.map((d) => Date.parse(d.decided_at as string));
    // Consecutive unless the loop fell behind, in which case the skipped times are counted.
    expect(times[1]! - times[0]!).toBe(200 * (1 + (rows[1]!.missed as number)));
    expect(times[2]! - times[1]!).toBe(200 * (1 + (rows[2]!.missed as number)));
    const status = await app.http.inject({ method: 'GET', url: '/control/status' });
    expect(status.json()).toMatchObject({
      leader: { this_process: true },
      loop: { enabled: true, running: true },
    });
  });
});
