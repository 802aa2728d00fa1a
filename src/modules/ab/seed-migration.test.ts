import { expect, it } from 'vitest';
import { openTestDb } from '../../../test/helpers';
import { buildDeck, versionSeed } from './deck';

it('creates button_color and price with the decks deck.ts builds from their stored seeds', async () => {
  const db = await openTestDb();
  try {
    const rows = await db.query<{
      name: string;
      option_values: unknown;
      seed: number;
      weights: number[];
      deck: number[];
    }>(
      `SELECT e.name, e.option_values, e.seed, d.weights, d.deck
       FROM ab.experiments e JOIN ab.decks d ON d.experiment_id = e.id AND d.version = 1 ORDER BY e.id`,
    );
    expect(rows.map((r) => [r.name, r.option_values, r.weights])).toEqual([
      ['button_color', ['#FF0000', '#00FF00', '#0000FF'], [1, 1, 1]],
      ['price', [10, 20, 50, 5], [75, 10, 5, 10]],
    ]);
    for (const r of rows) expect(r.deck).toEqual(buildDeck(r.weights, versionSeed(r.seed, 1)));
  } finally {
    await db.close();
  }
});
