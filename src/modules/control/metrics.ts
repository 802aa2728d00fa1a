/** The control module's Prometheus metrics (`telelab_control_*`); the batch flush histogram is ingestBatch's. */
import { counter, gauge, histogram, type Metrics } from '../../platform/metrics';
import type { SendResult, StoredDecision } from './model';

/** What the state gauges read at scrape time. */
export interface ControlState {
  lastDecision(): Promise<StoredDecision | null>;
  readonly isLeader: boolean;
  readonly manipulatorConnected: boolean;
}

export function createControlMetrics(metrics: Metrics) {
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
  const decisions = counter(metrics, 'telelab_control_decisions_total', 'Decisions by reason', ['reason']);
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

  return {
    readingAccepted: () => readings.inc({ outcome: 'accepted' }),
    readingOutdated: () => readings.inc({ outcome: 'outdated' }),
    readingRejected(field: string): void {
      readings.inc({ outcome: 'rejected' });
      rejectedByField.inc({ field });
    },
    decided(d: StoredDecision): void {
      decisions.inc({ reason: d.reason });
      lag.observe((d.madeAt.getTime() - d.decidedAt.getTime()) / 1000);
    },
    delivered(r: SendResult): void {
      commands.inc({ delivered: String(r.delivered), outcome: r.outcome });
    },

    /** Gauges read from the database and the loop when /metrics is scraped. */
    watch(state: ControlState): void {
      gauge(
        metrics,
        'telelab_control_status',
        'Current status from the last decision: 1 = up, 0 = down',
        [],
        async function collect() {
          // Left at its previous value while the database cannot answer.
          const last = await state.lastDecision().catch(() => undefined);
          if (last !== undefined) this.set(last?.status === 'up' ? 1 : 0);
        },
      );
      gauge(metrics, 'telelab_control_leader', '1 when this process runs the decision loop', [], function () {
        this.set(state.isLeader ? 1 : 0);
      });
      gauge(
        metrics,
        'telelab_control_manipulator_connected',
        '1 when this process holds a connection to the manipulator (only the leader does)',
        [],
        function () {
          this.set(state.manipulatorConnected ? 1 : 0);
        },
      );
    },
  };
}
