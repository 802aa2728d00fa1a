/** Names for the control module's answers, taken from the generated API types (../../api.gen.ts). */
import type {
  ControlHistoryResponse,
  ControlListDecisionsResponse,
  ControlReplayBody,
  ControlReplayResponse,
} from '../../api.gen';

export type { ControlStatusResponse as ControlStatus } from '../../api.gen';

/** GET /decisions items and the stream's `decision` / `delivery` events. */
export type Decision = ControlListDecisionsResponse[number];
export type DecisionWindow = Decision['current_window'];
export type Status = Decision['status'];
export type Period = ControlHistoryResponse[number];

/** The stream's `live` event (event payloads are not part of the OpenAPI document). */
export interface Live {
  at: string;
  current_window: DecisionWindow;
  previous_window: DecisionWindow;
}

export type ReplayRequest = ControlReplayBody;
export type ReplayAnswer = ControlReplayResponse;
export type ReplayDecision = ReplayAnswer['decisions'][number];
export type ReplaySummary = ReplayAnswer['summary'];
