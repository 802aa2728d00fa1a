import { describe, expect, it } from 'vitest';
import { afterTest, openTestDb } from '../../../test/helpers';
import { controlAppWithoutManipulator } from './link-test-support';
import { decisionsJson as decisions, fakeClock, fillWindow, payloads, T0, waitFor } from './test-support';

const I = 5000;

describe('decision loop: state and timing', () => {
  it('keeps the last status across a restart', async () => {
    const db = await openTestDb();
    afterTest(() => db.close());
    const clock = fakeClock();
    const first = await controlAppWithoutManipulator({ clock, db });
    await fillWindow(first.app, clock, T0, payloads(8, 20, 100, 3));
    await fillWindow(first.app, clock, T0 + I, payloads(9, 20, 200, 3));
    clock.set(T0 + 2 * I);
    expect((await first.control.controller.tick(clock.now())).decision?.status).toBe('up');
    await first.app.close();

    const second = await controlAppWithoutManipulator({ clock, db });
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
    const { app, control } = await controlAppWithoutManipulator({ clock });
    const results = await Promise.all([0, 3, 4999].map((ms) => control.controller.tick(T0 + I + ms)));
    expect(results.map((r) => r.outcome)).toEqual(['decided', 'already_decided', 'already_decided']);
    expect(await decisions(app)).toHaveLength(1);
  });

  it('after a late wake-up, decides for the latest decision time and records how many were missed', async () => {
    const clock = fakeClock(T0 + I);
    const { app, control } = await controlAppWithoutManipulator({ clock });
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
    const { app, control } = await controlAppWithoutManipulator({ clock, env: { CONTROL_MIN_DWELL: '2' } });
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
    const { app, control } = await controlAppWithoutManipulator({
      clock,
      env: {
        CONTROL_DETECTOR: 'cusum',
        CONTROL_CUSUM_ARL: '500',
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
    const { app, control } = await controlAppWithoutManipulator({
      clock,
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
    const { app } = await controlAppWithoutManipulator({
      env: { CONTROL_DECISION_INTERVAL: '0.2' },
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
