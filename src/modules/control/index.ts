/**
 * control module: sensor readings in, a leader-elected decision (Welch's t-test or CUSUM) every
 * CONTROL_DECISION_INTERVAL seconds, commands to the manipulator over TCP, decisions and merged history
 * out. The sensor, manipulator and replay programs are in cli/.
 */
import { ingestBatch } from '../../platform/ingest';
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import type { CreateClient } from './command-link';
import { type Controller, createController } from './controller';
import { createDecisionsService } from './decisions.service';
import { createDecisionsStore } from './decisions.store';
import { describeDetector } from './detectors';
import { controlRoutes } from './http/control.routes';
import { replayRoutes } from './http/replay.routes';
import { sensorDataRoutes } from './http/sensor-data.routes';
import { createIngestService } from './ingest.service';
import { createLeadership } from './leadership';
import { createLiveHub } from './live.service';
import { createControlMetrics } from './metrics';
import type { ControlSettings, DetectorConfig } from './model';
import { createReadingsStore } from './readings.store';
import { createReplayService } from './replay.service';

export interface ControlModuleOptions {
  /**
   * 'timer' (default): start() runs the decision loop on the clock. 'manual': nothing ticks by itself;
   * tests drive `controller.tick(at)` with a fake clock.
   */
  loop?: 'timer' | 'manual';
  /** Instance id (default host:pid:random). */
  leaderId?: string;
  sendTimeoutMs?: number;
  settleTimeoutMs?: number;
  livePollMs?: number;
  /** Readings older than this are deleted by the leader (default max(CONTROL_RETENTION, 3 intervals)). */
  retentionMs?: number;
  createClient?: CreateClient;
}

/** Most decision times one replay covers (about 14 h at 5 s; the answer holds one decision per time). */
const REPLAY_MAX_DECISIONS = 10_000;

function settingsFromConfig(config: ModuleDeps['config'], retentionMs?: number): ControlSettings {
  const intervalMs = Math.round(config.CONTROL_DECISION_INTERVAL * 1000);
  const detector: DetectorConfig =
    config.CONTROL_DETECTOR === 'cusum'
      ? { type: 'cusum', arl: config.CONTROL_CUSUM_ARL, k: config.CONTROL_CUSUM_K }
      : { type: 'ttest', alpha: config.CONTROL_ALPHA, minDwell: config.CONTROL_MIN_DWELL };
  return {
    intervalMs,
    alpha: config.CONTROL_ALPHA,
    minDwell: config.CONTROL_MIN_DWELL,
    detector,
    // Readings must cover the two windows of a decision.
    retentionMs: retentionMs ?? Math.max(config.CONTROL_RETENTION * 1000, 3 * intervalMs),
    enabled: config.CONTROL_ENABLED,
    manipulator: {
      host: config.MANIPULATOR_HOST,
      port: config.MANIPULATOR_PORT,
      ack: config.MANIPULATOR_ACK,
    },
  };
}

export interface ControlModule extends TelelabModule {
  readonly controller: Controller;
}

export function createControlModule(
  deps: Pick<ModuleDeps, 'config' | 'db' | 'logger' | 'metrics' | 'clock'>,
  options: ControlModuleOptions = {},
): ControlModule {
  const { config, db, clock } = deps;
  const logger = deps.logger.child({ module: 'control' });
  const settings = settingsFromConfig(config, options.retentionMs);
  const { intervalMs } = settings;
  const metrics = createControlMetrics(deps.metrics);
  const store = { ...createReadingsStore(db), ...createDecisionsStore(db) };

  const ingest = createIngestService({
    store,
    clock,
    intervalMs,
    ...ingestBatch(deps, 'control', { help: 'Time to commit one batch of readings' }),
    onAccepted: metrics.readingAccepted,
    onOutdated: metrics.readingOutdated,
    onRejected: metrics.readingRejected,
  });
  const live = createLiveHub({ store, clock, logger, intervalMs, pollMs: options.livePollMs });
  const leadership = createLeadership(db, {
    id: options.leaderId,
    // A decision's queries take milliseconds; a session that does not answer in this long is gone.
    queryTimeoutMs: Math.min(30_000, Math.max(2000, intervalMs)),
    // After a lost session: long enough for a follower's lock attempt at t_k, short against an interval.
    yieldMs: Math.min(1000, intervalMs / 4),
  });
  const controller = createController(
    {
      store,
      ingest,
      leadership,
      clock,
      logger,
      // PGlite runs no autovacuum: reclaim the space of deleted readings now and then.
      maintain: db.kind === 'pglite' ? () => db.exec('VACUUM (ANALYZE) control.readings') : undefined,
      createClient: options.createClient,
      onDecision: (d) => {
        metrics.decided(d);
        live.publishDecision(d);
      },
      onDelivery: (d, r) => {
        metrics.delivered(r);
        live.publishDelivery(d);
      },
    },
    {
      intervalMs,
      detector: settings.detector,
      manipulator: settings.manipulator,
      sendTimeoutMs: options.sendTimeoutMs,
      settleTimeoutMs: options.settleTimeoutMs,
      retentionMs: settings.retentionMs,
    },
  );
  const decisions = createDecisionsService({
    store,
    clock,
    settings,
    loop: {
      get isLeader() {
        return controller.isLeader;
      },
      get loopRunning() {
        return controller.loopRunning;
      },
      get manipulatorConnected() {
        return controller.manipulatorConnected;
      },
      get manipulatorPeer() {
        return controller.manipulatorPeer;
      },
      currentLeader: () => leadership.currentLeader(),
    },
  });
  const replay = createReplayService({
    store,
    clock,
    intervalMs,
    retentionMs: settings.retentionMs,
    maxDecisions: REPLAY_MAX_DECISIONS,
  });
  metrics.watch({
    lastDecision: () => store.lastDecision(),
    get isLeader() {
      return controller.isLeader;
    },
    get manipulatorConnected() {
      return controller.manipulatorConnected;
    },
  });

  return {
    name: 'control',
    migrations: migrationSet('control'),
    controller,
    routes(app) {
      sensorDataRoutes(app, ingest);
      controlRoutes(app, decisions, live);
      replayRoutes(app, replay, settings);
    },
    async start({ background }) {
      if (!config.CONTROL_ENABLED || !background) return;
      if (options.loop !== 'manual') controller.start();
      logger.info(
        {
          intervalSeconds: intervalMs / 1000,
          detector: describeDetector(settings.detector),
          database: db.kind,
        },
        db.kind === 'postgres'
          ? 'Controller started; competing for leadership at every decision time'
          : 'Controller started (embedded database: this process is the leader)',
      );
    },
    async stop() {
      live.stop();
      await controller.stop();
      await ingest.close();
    },
  };
}
