/**
 * The experiments: create (starts now), stop, change weights, delete, list, and their statistics.
 * Validation that a schema cannot express (distinct values, the deck size, matching option sets) lives
 * here and names the offending field of its input (`options.2.value`).
 */
import { randomInt } from 'node:crypto';
import { conflict, invalidInput, notFound } from '../../platform/errors';
import type { Clock } from '../../platform/module';
import { buildDeck, deckSize, MAX_DECK_SIZE, reduceWeights, versionSeed } from './deck';
import type { ExperimentsStore } from './experiments.store';
import type { Experiment, OptionValue } from './model';
import { type ExperimentStats, experimentStats } from './sample-ratio';

export interface OptionInput {
  value: OptionValue;
  weight: number;
}

export interface ExperimentsServiceDeps {
  store: ExperimentsStore;
  clock: Clock;
  /** Called after a change that alters answers already given, with the new answers epoch. */
  onAnswersChanged(epoch: number): void;
}

const sameValue = (a: OptionValue, b: OptionValue) => typeof a === typeof b && a === b;
const show = (v: OptionValue) => JSON.stringify(v);

function checkDistinct(options: OptionInput[]): void {
  options.forEach((o, i) => {
    const first = options.findIndex((p) => sameValue(p.value, o.value));
    if (first !== i) {
      throw invalidInput(
        `options.${i}.value`,
        `${show(o.value)} repeats options.${first}.value; option values must be distinct`,
        'AB_OPTION_VALUES_NOT_DISTINCT',
      );
    }
  });
}

function checkDeckSize(weights: number[]): void {
  const size = deckSize(weights);
  if (size > MAX_DECK_SIZE) {
    throw invalidInput(
      'options',
      `the weights reduced by their gcd (${reduceWeights(weights).join(':')}) sum to ${size}; ` +
        `at most ${MAX_DECK_SIZE} is allowed`,
      'AB_DECK_TOO_LARGE',
    );
  }
}

export type ExperimentsService = ReturnType<typeof createExperimentsService>;

export function createExperimentsService(deps: ExperimentsServiceDeps) {
  const { store } = deps;
  const now = () => new Date(deps.clock.now());

  async function mustGet(name: string): Promise<Experiment> {
    const e = await store.byName(name);
    if (!e) throw notFound('AB_EXPERIMENT_NOT_FOUND', `No experiment named ${JSON.stringify(name)}`);
    return e;
  }

  return {
    list: () => store.list(),
    get: mustGet,

    /** Every experiment's devices per option and sample-ratio check, as of `generatedAt`. */
    async statistics(): Promise<{ generatedAt: Date; experiments: ExperimentStats[] }> {
      const [experiments, versions, counts] = await Promise.all([
        store.list(),
        store.versions(),
        store.counts(),
      ]);
      return {
        generatedAt: now(),
        experiments: experiments.map((e) => experimentStats(e, versions, counts)),
      };
    },

    async create(name: string, options: OptionInput[]): Promise<Experiment> {
      checkDistinct(options);
      const weights = options.map((o) => o.weight);
      checkDeckSize(weights);
      const seed = randomInt(0, 2 ** 31 - 1);
      const created = await store.create(
        { name, values: options.map((o) => o.value), weights, seed, deck: buildDeck(weights, seed) },
        now,
      );
      if (!created)
        throw conflict('AB_EXPERIMENT_EXISTS', `An experiment named ${JSON.stringify(name)} exists`);
      return created;
    },

    /** No new devices enter from now on; devices already in keep their values. Stopping twice is a no-op. */
    async stop(name: string): Promise<Experiment> {
      const stopped = await store.stop(name, now);
      if (!stopped) throw notFound('AB_EXPERIMENT_NOT_FOUND', `No experiment named ${JSON.stringify(name)}`);
      return stopped;
    },

    /**
     * New weights for devices entering from now on, as a new deck version (its own counter, so the new
     * proportions are exact from the change). `options` lists every existing value once. Unchanged
     * weights (same reduced ratio) keep the current version.
     */
    async changeWeights(name: string, options: OptionInput[]): Promise<Experiment> {
      const current = await mustGet(name);
      if (current.stoppedAt) {
        throw conflict(
          'AB_EXPERIMENT_STOPPED',
          `${JSON.stringify(name)} is stopped; no device would use new weights`,
        );
      }
      checkDistinct(options);
      const weights = current.values.map((value) => {
        const given = options.find((o) => sameValue(o.value, value));
        if (!given) {
          throw invalidInput(
            'options',
            `the option ${show(value)} is missing; list every option of the experiment once`,
            'AB_OPTIONS_MISMATCH',
          );
        }
        return given.weight;
      });
      const unknown = options.find((o) => !current.values.some((v) => sameValue(v, o.value)));
      if (unknown) {
        throw invalidInput(
          `options.${options.indexOf(unknown)}.value`,
          `${show(unknown.value)} is not an option of ${JSON.stringify(name)}`,
          'AB_OPTIONS_MISMATCH',
        );
      }
      checkDeckSize(weights);
      if (weights.join() === current.weights.join()) return current;
      const version = current.version + 1;
      const deck = buildDeck(weights, versionSeed(current.seed, version));
      if (!(await store.addVersion(current.id, version, weights, deck, now))) {
        throw conflict(
          'AB_CONCURRENT_CHANGE',
          `${JSON.stringify(name)} was changed concurrently; read it and retry`,
        );
      }
      return mustGet(name);
    },

    /** Removes the experiment and every device's value in it: the one change that alters given answers. */
    async delete(name: string): Promise<void> {
      const epoch = await store.delete(name, now);
      if (epoch === null)
        throw notFound('AB_EXPERIMENT_NOT_FOUND', `No experiment named ${JSON.stringify(name)}`);
      deps.onAnswersChanged(epoch);
    },
  };
}
