import { describe, expect, it } from 'vitest';
import { buildDeck, deckSize, gcd, reduceWeights, slotOption, versionSeed } from './deck';

const countBy = (xs: number[]) => {
  const out: Record<number, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
};

describe('deck', () => {
  it('reduces weights by their gcd', () => {
    expect(gcd(75, 10)).toBe(5);
    expect(reduceWeights([75, 10, 5, 10])).toEqual([15, 2, 1, 2]);
    expect(reduceWeights([1, 1, 1])).toEqual([1, 1, 1]);
    expect(reduceWeights([6, 4])).toEqual([3, 2]);
    expect(deckSize([75, 10, 5, 10])).toBe(20);
  });

  it('holds each option exactly its reduced weight times', () => {
    const deck = buildDeck([75, 10, 5, 10], 42);
    expect(deck).toHaveLength(20);
    expect(countBy(deck)).toEqual({ 0: 15, 1: 2, 2: 1, 3: 2 });
  });

  it('is the same for the same seed and differs between seeds', () => {
    const weights = [5, 3, 2, 7, 1];
    expect(buildDeck(weights, 1234)).toEqual(buildDeck(weights, 1234));
    const decks = new Set([1, 2, 3, 4, 5].map((seed) => buildDeck(weights, seed).join()));
    expect(decks.size).toBeGreaterThan(1);
  });

  it('gives each version of an experiment its own seed, version 1 the experiment seed', () => {
    expect(versionSeed(99, 1)).toBe(99);
    expect(versionSeed(99, 2)).not.toBe(99);
    expect(versionSeed(99, 2)).toBe(versionSeed(99, 2));
  });

  it('assigns exact proportions after every full deck and stays within one deck in between', () => {
    const weights = [75, 10, 5, 10];
    const deck = buildDeck(weights, 7);
    const seen = [0, 0, 0, 0];
    for (let k = 0; k < 1000; k++) {
      seen[slotOption(deck, k)]!++;
      const n = k + 1;
      for (let o = 0; o < 4; o++) {
        const share = (n * reduceWeights(weights)[o]!) / deck.length;
        expect(Math.abs(seen[o]! - share)).toBeLessThanOrEqual(reduceWeights(weights)[o]!);
      }
      if (n % 20 === 0) expect(seen).toEqual([(n / 20) * 15, (n / 20) * 2, (n / 20) * 1, (n / 20) * 2]);
    }
    expect(seen).toEqual([750, 100, 50, 100]);
  });

  it('refuses weights that are not positive integers', () => {
    expect(() => buildDeck([1, 0], 1)).toThrow(RangeError);
    expect(() => buildDeck([1, 1.5], 1)).toThrow(RangeError);
  });
});
