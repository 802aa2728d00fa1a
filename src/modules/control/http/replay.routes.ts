/** `POST /control/replay`: what another detector would have decided on the stored readings. */
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { ControlSettings } from '../model';
import type { ReplayService } from '../replay.service';
import { ReplayBody, ReplayResponse } from './replay.schemas';
import { replayJson, replayRequest } from './replay.views';

export function replayRoutes(app: App, replay: ReplayService, settings: ControlSettings): void {
  const live = {
    alpha: settings.alpha,
    minDwell: settings.minDwell,
    arl: settings.detector.type === 'cusum' ? settings.detector.arl : 500,
    k: settings.detector.type === 'cusum' ? settings.detector.k : 0.5,
  };
  app.post(
    '/control/replay',
    {
      // Malformed parameters are 400 (schema); a period or parameter that cannot be replayed is 422.
      config: { serviceInput: 'body', serviceInputStatus: 422 },
      schema: {
        operationId: 'controlReplay',
        tags: ['control'],
        summary: 'Replay the stored readings of a period through a detector',
        description:
          'Returns the decisions the detector would have made at every decision time of the period, in the ' +
          'shape of GET /decisions, plus counts (switches, time in each status, and the false-switch rate ' +
          'over an optional `stationary` segment) for the replay and for the live decisions of the same ' +
          'period. The period must lie within the readings retention (CONTROL_RETENTION) and hold at most ' +
          '10 000 decision times. Read-only: the live controller is not affected.',
        body: ReplayBody,
        response: { 200: ReplayResponse, ...problemResponses(400, 422, 503) },
      },
    },
    async (req) => replayJson(await replay.replay(replayRequest(req.body, live))),
  );
}
