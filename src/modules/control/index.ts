/**
 * control module (seed 003): sensor readings in, a leader-elected Welch t-test decision every
 * CONTROL_DECISION_INTERVAL seconds, commands to the manipulator over TCP, decisions and merged history
 * out. The sensor and manipulator programs are in commands.ts.
 */
import { counter, gauge, histogram } from '../../platform/metrics';
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import { controlRoutes } from './control.routes';
import { createControlStore } from './control.store';
import { type Controller, createController } from './controller';
import { createDecisionsService } from './decisions.service';
import { type DetectorConfig, describeDetector } from './detectors';
import { createIngestService } from './ingest.service';
import { createLeadership } from './leadership';
import { createLiveHub } from './live';
import type { AckMode, ManipulatorClient } from './manipulator-client';
import { replayRoutes } from './replay.routes';
import { createReplayService } from './replay.service';
import { sensorDataRoutes } from './sensor-data.routes';

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
  createClient?: (opts: { host: string; port: number; ack: AckMode }) => ManipulatorClient;
}

/** Most decision times one replay covers (about 14 h at 5 s; the answer holds one decision per time). */
const REPLAY_MAX_DECISIONS = 10_000;

function detectorFromConfig(config: ModuleDeps['config']): DetectorConfig {
  return config.CONTROL_DETECTOR === 'cusum'
    ? { type: 'cusum', arl: config.CONTROL_CUSUM_ARL, k: config.CONTROL_CUSUM_K }
    : { type: 'ttest', alpha: config.CONTROL_ALPHA, minDwell: config.CONTROL_MIN_DWELL };
}

export interface ControlModule extends TelelabModule {
  readonly controller: Controller;
}

export function createControlModule(
  deps: Pick<ModuleDeps, 'config' | 'db' | 'logger' | 'metrics' | 'clock'>,
  options: ControlModuleOptions = {},
): ControlModule {
  const { config, db, metrics, clock } = deps;
  const logger = deps.logger.child({ module: 'control' });
  const intervalMs = Math.round(config.CONTROL_DECISION_INTERVAL * 1000);
  const settings = {
    intervalMs,
    alpha: config.CONTROL_ALPHA,
    minDwell: config.CONTROL_MIN_DWELL,
    detector: detectorFromConfig(config),
    // Readings must cover the two windows of a decision.
    retentionMs: options.retentionMs ?? Math.max(config.CONTROL_RETENTION * 1000, 3 * intervalMs),
    enabled: config.CONTROL_ENABLED,
    manipulator: {
      host: config.MANIPULATOR_HOST,
      port: config.MANIPULATOR_PORT,
      ack: config.MANIPULATOR_ACK,
    },
  };

  // config.ts accepts CONTROL_ALPHA 0 and 1 (a closed range); decide() needs 0 < alpha < 1 and would
  // record every decision as invalid_input. Say so loudly instead of switching never.
  if (!(settings.alpha > 0 && settings.alpha < 1)) {
    logger.error(
      { alpha: settings.alpha },
      'CONTROL_ALPHA must be between 0 and 1 (exclusive); decisions will not change the status',
    );
  }

  const readings = counter(
    metrics,
    'telelab_control_readings_total',
    'Sensor readings by outcome (accepted = stored, outdated = ignored, rejected = invalid)',
    ['outcome'],
  );
  const rejectedByField = counter(
    metrics,
    'telelab_control_readings_rejected_total',
    'Invalid sensor readings by the field at fault',
    ['field'],
  );
  const flushSeconds = histogram(
    metrics,
    'telelab_control_batch_flush_seconds',
    'Time to commit one batch of readings',
    ['ok'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );
  const decisionsTotal = counter(metrics, 'telelab_control_decisions_total', 'Decisions by reason', [
    'reason',
  ]);
  const commands = counter(
    metrics,
    'telelab_control_commands_total',
    'Commands by delivery: delivered true|false, outcome acknowledged|sent|failed',
    ['delivered', 'outcome'],
  );
  const lag = histogram(
    metrics,
    'telelab_control_decision_lag_seconds',
    'How long after its aligned time t_k a decision was made',
    [],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );

  const store = createControlStore(db);
  const ingest = createIngestService({
    store,
    clock,
    intervalMs,
    batch: {
      maxRows: config.BATCH_MAX_ROWS,
      maxDelayMs: config.BATCH_MAX_DELAY_MS,
      maxQueue: config.BATCH_MAX_QUEUE,
      // PGlite has one connection. On PostgreSQL a commit waits for its WAL flush; batches committing
      // together share one flush (group commit), so more in flight means more rows per fsync.
      concurrency: db.kind === 'postgres' ? 4 : 1,
    },
    onAccepted: () => readings.inc({ outcome: 'accepted' }),
    onOutdated: () => readings.inc({ outcome: 'outdated' }),
    onRejected: (field) => {
      readings.inc({ outcome: 'rejected' });
      rejectedByField.inc({ field });
    },
    onFlush: ({ ms, ok }) => flushSeconds.observe({ ok: String(ok) }, ms / 1000),
  });
  const live = createLiveHub({ store, clock, logger, intervalMs, pollMs: options.livePollMs });
  const leadership = createLeadership(db, {
    id: options.leaderId,
    // A decision's queries take milliseconds; a session that does not answer in this long is gone.
    queryTimeoutMs: Math.min(30_000, Math.max(2000, intervalMs)),
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
        decisionsTotal.inc({ reason: d.reason });
        lag.observe((d.madeAt.getTime() - d.decidedAt.getTime()) / 1000);
        live.publishDecision(d);
      },
      onDelivery: (d, r) => {
        commands.inc({ delivered: String(r.delivered), outcome: r.outcome });
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

  gauge(
    metrics,
    'telelab_control_status',
    'Current status from the last decision: 1 = up, 0 = down',
    [],
    async function collect() {
      // Left at its previous value while the database cannot answer.
      const last = await store.lastDecision().catch(() => undefined);
      if (last !== undefined) this.set(last?.status === 'up' ? 1 : 0);
    },
  );
  gauge(metrics, 'telelab_control_leader', '1 when this process runs the decision loop', [], function () {
    this.set(controller.isLeader ? 1 : 0);
  });
  gauge(
    metrics,
    'telelab_control_manipulator_connected',
    '1 when this process holds a connection to the manipulator (only the leader does)',
    [],
    function () {
      this.set(controller.manipulatorConnected ? 1 : 0);
    },
  );

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
