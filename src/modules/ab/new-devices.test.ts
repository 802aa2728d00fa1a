/**
 * New devices only: a device takes part in an experiment iff the experiment had started when the device
 * was first seen (started_at <= first_seen_at) and was not stopped by then (first_seen_at < stopped_at).
 * Time comes from an injected clock.
 */
import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../test/helpers';
import { createAbModule } from './index';
import { admin, createExperiment, fakeClock, getAnswer, newToken, valueIn } from './test-support';

const explain = async (app: Awaited<ReturnType<typeof buildTestApp>>, token: string) =>
  (
    await app.http.inject({
      method: 'GET',
      url: '/api/v1/experiments/explain',
      headers: { 'device-token': token },
    })
  ).json();

describe('new devices only', () => {
  it('applies an experiment from its start to its stop, by first-seen time', async () => {
    const clock = fakeClock();
    const t0 = clock.now();
    const app = await buildTestApp({ modules: [createAbModule], clock });
    const options = [
      { value: 'on', weight: 1 },
      { value: 'off', weight: 1 },
    ];

    const before = newToken();
    await getAnswer(app, before); // first seen at t0

    clock.set(t0 + 1000);
    const created = await admin(app, 'POST', '', { name: 'dark_mode', options });
    expect(created.json().started_at).toBe(new Date(t0 + 1000).toISOString());

    const atStart = newToken(); // first seen in the very millisecond the experiment started: in
    expect(valueIn(await getAnswer(app, atStart), 'dark_mode')).toBeDefined();
    clock.set(t0 + 2000);
    const during = newToken();
    const duringValue = valueIn(await getAnswer(app, during), 'dark_mode');
    expect(duringValue).toBeDefined();

    clock.set(t0 + 3000);
    expect((await admin(app, 'POST', '/dark_mode/stop')).json().stopped_at).toBe(
      new Date(t0 + 3000).toISOString(),
    );
    const atStop = newToken(); // first seen in the millisecond it stopped: out
    expect(valueIn(await getAnswer(app, atStop), 'dark_mode')).toBeUndefined();

    clock.set(t0 + 9000);
    expect(valueIn(await getAnswer(app, before), 'dark_mode')).toBeUndefined();
    expect(valueIn(await getAnswer(app, during), 'dark_mode')).toBe(duringValue);

    const old = await explain(app, before);
    expect(old.first_seen_at).toBe(new Date(t0).toISOString());
    expect(old.experiments.find((e: { name: string }) => e.name === 'dark_mode')).toMatchObject({
      participating: false,
      reason: 'started_after_first_seen',
    });
    const late = await explain(app, atStop);
    expect(late.experiments.find((e: { name: string }) => e.name === 'dark_mode')).toMatchObject({
      participating: false,
      reason: 'stopped_before_first_seen',
    });
    const unknown = await explain(app, newToken());
    expect(unknown.experiments.find((e: { name: string }) => e.name === 'dark_mode')).toMatchObject({
      participating: false,
      reason: 'stopped',
    });
  });

  it('never gives a device seen before an experiment started that experiment, even from a cold cache', async () => {
    const clock = fakeClock();
    const app = await buildTestApp({ modules: [createAbModule], clock, env: { AB_CACHE_SIZE: '0' } });
    const tokens = Array.from({ length: 10 }, newToken);
    for (const t of tokens) await getAnswer(app, t);
    clock.advance(1);
    const res = await createExperiment(app, 'onboarding', [
      ['short', 1],
      ['long', 1],
    ]);
    expect(res.statusCode).toBe(201);
    for (const t of tokens) {
      const answer = await getAnswer(app, t);
      expect(answer.map((o) => Object.keys(o)[0])).toEqual(['button_color', 'price']);
    }
    expect(valueIn(await getAnswer(app, newToken()), 'onboarding')).toBeDefined();
  });
});
