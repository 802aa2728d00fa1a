/**
 * Exact proportions without coin flips: an experiment's weights (reduced by their gcd) become a deck of
 * D = sum(weights) option positions, shuffled once with a seeded PRNG. The k-th device (k from 0) to
 * enter a deck version takes slot k mod D, so after every full deck each option has exactly its weight,
 * and at any moment each option is within one deck of its share. The deck is stored with the experiment;
 * the seed only makes it reproducible (tests, the seed migration).
 */
import { mulberry32 } from '../../stats/random';

/** Decks larger than this are refused: they are stored per version and kept in memory. */
export const MAX_DECK_SIZE = 10_000;

export function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** Weights divided by their greatest common divisor: [75, 10, 5, 10] -> [15, 2, 1, 2]. */
export function reduceWeights(weights: readonly number[]): number[] {
  const g = weights.reduce((acc, w) => gcd(acc, w), 0);
  return weights.map((w) => w / g);
}

/** Each deck version gets its own shuffle; version 1 uses the experiment's seed itself. */
export function versionSeed(seed: number, version: number): number {
  return (seed + Math.imul(version - 1, 0x9e3779b9)) >>> 0;
}

/**
 * The shuffled deck for positive integer weights: an array of option positions (indexes into the
 * weights), each position w/gcd times, Fisher-Yates shuffled with mulberry32(seed).
 */
export function buildDeck(weights: readonly number[], seed: number): number[] {
  for (const w of weights) {
    if (!Number.isSafeInteger(w) || w < 1)
      throw new RangeError(`weights must be positive integers, got ${w}`);
  }
  const reduced = reduceWeights(weights);
  const deck: number[] = [];
  reduced.forEach((w, position) => {
    for (let i = 0; i < w; i++) deck.push(position);
  });
  const random = mulberry32(seed);
  for (let i = deck.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [deck[i], deck[j]] = [deck[j]!, deck[i]!];
  }
  return deck;
}

/** The option position the k-th device entering this deck takes. */
export function slotOption(deck: readonly number[], k: number): number {
  return deck[k % deck.length]!;
}

/** Sum of the reduced weights: the deck size buildDeck would produce, without building it. */
export function deckSize(weights: readonly number[]): number {
  return reduceWeights(weights).reduce((s, w) => s + w, 0);
}
