/**
 * Returning devices are answered from the in-process cache; the cache is cleared when an answer can
 * change (an experiment is deleted): at once in the process that deleted, within a poll in the others.
 */
import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../test/helpers';
import type { TelelabApp } from '../../app';
import { createAbModule } from './index';
import { admin, getAnswer, newToken, twoApps, valueIn } from './test-support';

const forgetDevice = (app: TelelabApp, token: string) =>
  app.db.query(`DELETE FROM ab.devices WHERE token = $1`, [token]);
const deviceRows = async (app: TelelabApp, token: string) =>
  (await app.db.query(`SELECT 1 FROM ab.devices WHERE token = $1`, [token])).length;
const options = [
  { value: 'a', weight: 1 },
  { value: 'b', weight: 1 },
];

describe('answer cache', () => {
  it('answers a returning device without reading the database', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    const token = newToken();
    const first = await getAnswer(app, token);
    await forgetDevice(app, token); // only the cache still knows it
    expect(await getAnswer(app, token)).toEqual(first);
    expect(await deviceRows(app, token)).toBe(0);
  });

  it('is off with AB_CACHE_SIZE=0: every request reads the database', async () => {
    const app = await buildTestApp({ modules: [createAbModule], env: { AB_CACHE_SIZE: '0' } });
    const token = newToken();
    await getAnswer(app, token);
    await forgetDevice(app, token);
    await getAnswer(app, token);
    expect(await deviceRows(app, token)).toBe(1); // recorded again, as a new device
  });

  it('drops answers at once when this process deletes an experiment', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    expect((await admin(app, 'POST', '', { name: 'short_lived', options })).statusCode).toBe(201);
    const token = newToken();
    expect(valueIn(await getAnswer(app, token), 'short_lived')).toBeDefined();
    expect((await admin(app, 'DELETE', '/short_lived')).statusCode).toBe(204);
    expect(valueIn(await getAnswer(app, token), 'short_lived')).toBeUndefined();
  });

  it('drops answers in another process within its epoch poll', async () => {
    const [a, b] = await twoApps();
    await admin(a, 'POST', '', { name: 'shared', options });
    const token = newToken();
    const fromA = await getAnswer(a, token);
    expect(await getAnswer(b, token)).toEqual(fromA); // now cached in both
    await admin(a, 'DELETE', '/shared');
    const deadline = Date.now() + 3000;
    let seenByB = await getAnswer(b, token);
    while (valueIn(seenByB, 'shared') !== undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      seenByB = await getAnswer(b, token);
    }
    expect(valueIn(seenByB, 'shared')).toBeUndefined();
    expect(seenByB).toEqual(fromA.filter((o) => !('shared' in o)));
  });

  it('keeps answers through changes that cannot alter them: create, stop, weights', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    const token = newToken();
    const first = await getAnswer(app, token);
    await forgetDevice(app, token); // a cache miss would now show up as a re-recorded device
    await admin(app, 'POST', '', { name: 'later', options });
    await admin(app, 'PUT', '/price/weights', {
      options: [10, 20, 50, 5].map((value) => ({ value, weight: 1 })),
    });
    await admin(app, 'POST', '/button_color/stop');
    expect(await getAnswer(app, token)).toEqual(first);
    expect(await deviceRows(app, token)).toBe(0);
  });
});
