/**
 * Exact proportions: the k-th device entering an experiment takes slot k mod D of its deck, so counts
 * are exact after every full deck, also with concurrent requests and two app instances on one database.
 */
import { describe, expect, it } from 'vitest';
import { afterFile, buildTestApp, openTestDb } from '../../../test/helpers';
import { createAbModule } from './index';
import { createExperiment, newDevices, tally, twoApps } from './test-support';

async function freshApp() {
  const db = await openTestDb();
  afterFile(() => db.close());
  return buildTestApp({ db, modules: [createAbModule] });
}

describe('the seeded experiments on a fresh database', () => {
  it('splits 600 new devices 200/200/200 by button_color', async () => {
    const app = await freshApp();
    const answers = await newDevices(app, 600);
    expect(tally(answers, 'button_color')).toEqual({ '#FF0000': 200, '#00FF00': 200, '#0000FF': 200 });
  });

  it('gives the first 20 new devices prices 15/2/1/2 (75:10:5:10 reduced)', async () => {
    const app = await freshApp();
    const answers = await newDevices(app, 20, 20);
    expect(tally(answers, 'price')).toEqual({ '10': 15, '20': 2, '50': 1, '5': 2 });
  });

  it('gives 1 000 new devices prices exact to the deck: 750/100/50/100', async () => {
    const app = await freshApp();
    const answers = await newDevices(app, 1000, 100);
    expect(tally(answers, 'price')).toEqual({ '10': 750, '20': 100, '50': 50, '5': 100 });
    // And the stats agree with what devices were told.
    const stats = (await app.http.inject({ method: 'GET', url: '/api/v1/experiments/stats' })).json();
    const price = stats.experiments.find((e: { name: string }) => e.name === 'price');
    expect(price.devices).toBe(1000);
    expect(price.options.map((o: { devices: number }) => o.devices)).toEqual([750, 100, 50, 100]);
  });
});

describe('an experiment created through the admin API', () => {
  it('keeps exact proportions for a non-trivial deck (3:2:1 over 10 decks)', async () => {
    const app = await freshApp();
    const res = await createExperiment(app, 'layout', [
      ['grid', 30],
      ['list', 20],
      ['cards', 10],
    ]);
    expect(res.statusCode).toBe(201);
    const answers = await newDevices(app, 60);
    expect(tally(answers, 'layout')).toEqual({ grid: 30, list: 20, cards: 10 });
  });
});

describe('two app instances on one database', () => {
  it('share one counter: 600 devices split across both give 200/200/200 and 30 price decks', async () => {
    const [a, b] = await twoApps();
    const [fromA, fromB] = await Promise.all([newDevices(a, 300, 25), newDevices(b, 300, 25)]);
    const all = [...fromA, ...fromB];
    expect(tally(all, 'button_color')).toEqual({ '#FF0000': 200, '#00FF00': 200, '#0000FF': 200 });
    expect(tally(all, 'price')).toEqual({ '10': 450, '20': 60, '50': 30, '5': 60 });
  });
});
