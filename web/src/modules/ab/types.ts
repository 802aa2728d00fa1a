/** Names for the A/B module's answers, taken from the generated API types (../../api.gen.ts). */
import type { AbCreateExperimentBody, AbStatsResponse } from '../../api.gen';

export type { AbCreateExperimentBody as NewExperiment } from '../../api.gen';

export type StatsAnswer = AbStatsResponse;
export type ExperimentStats = StatsAnswer['experiments'][number];
export type OptionValue = AbCreateExperimentBody['options'][number]['value'];
