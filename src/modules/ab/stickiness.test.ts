/** Once a device has a value it keeps it: across weight changes, stops and app restarts. */
import { describe, expect, it } from 'vitest';
import { afterFile, buildTestApp, openTestDb } from '../../../test/helpers';
import { createAbModule } from './index';
import { admin, getAnswer, newDevices, newToken, tally } from './test-support';

describe('stickiness', () => {
  it('keeps values after a weight change, while later devices follow the new weights exactly', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    const tokens = Array.from({ length: 30 }, newToken);
    const before = await Promise.all(tokens.map((t) => getAnswer(app, t)));

    const res = await admin(app, 'PUT', '/price/weights', {
      options: [
        { value: 10, weight: 1 },
        { value: 20, weight: 1 },
        { value: 50, weight: 1 },
        { value: 5, weight: 1 },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version: 2, deck_size: 4 });

    expect(await Promise.all(tokens.map((t) => getAnswer(app, t)))).toEqual(before);
    // The new version has its own counter: 40 devices after the change are exactly 10 of each.
    const later = await newDevices(app, 40);
    expect(tally(later, 'price')).toEqual({ '10': 10, '20': 10, '50': 10, '5': 10 });
  });

  it('keeps values of devices in an experiment after it stops', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    const token = newToken();
    const before = await getAnswer(app, token);
    expect((await admin(app, 'POST', '/button_color/stop')).statusCode).toBe(200);
    expect(await getAnswer(app, token)).toEqual(before);
  });

  it('keeps values across an app restart on the same database, read from a cold cache', async () => {
    const db = await openTestDb();
    afterFile(() => db.close());
    const first = await buildTestApp({ db, modules: [createAbModule] });
    const tokens = Array.from({ length: 20 }, newToken);
    const before = await Promise.all(tokens.map((t) => getAnswer(first, t)));
    await first.close();

    const second = await buildTestApp({ db, modules: [createAbModule] });
    expect(await Promise.all(tokens.map((t) => getAnswer(second, t)))).toEqual(before);
    const devices = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ab.devices`);
    expect(devices[0]!.n).toBe(20);
  });
});
