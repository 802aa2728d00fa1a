/**
 * The leader's link to the manipulator: opened when this process becomes leader, closed when it steps
 * down. `deliver` sends a decision's command and records its outcome on the decision; it never throws.
 */
import type { Logger } from '../../platform/logger';
import type { DecisionsStore } from './decisions.store';
import { ManipulatorClient } from './manipulator-client';
import type { ControlLogger } from './manipulator-protocol';
import type { AckMode, SendResult, StoredDecision } from './model';
import { formatTaskDatetime } from './windows';

export type CreateClient = (opts: {
  host: string;
  port: number;
  ack: AckMode;
  logger: ControlLogger;
}) => ManipulatorClient;

export interface CommandLinkDeps {
  store: Pick<DecisionsStore, 'recordDelivery'>;
  logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  manipulator: { host: string; port: number; ack?: AckMode };
  /** Upper bound on one command's delivery. */
  sendTimeoutMs: number;
  createClient?: CreateClient;
  onDelivery?: (d: StoredDecision, result: SendResult) => void;
}

export function createCommandLink(deps: CommandLinkDeps) {
  const { store, logger, sendTimeoutMs } = deps;
  let client: ManipulatorClient | null = null;

  return {
    open(): void {
      const { host, port } = deps.manipulator;
      const ack = deps.manipulator.ack ?? 'auto';
      const clientLogger: ControlLogger = {
        info: (obj, msg) => logger.info(obj, msg),
        warn: (obj, msg) => logger.warn(obj, msg),
      };
      client = deps.createClient
        ? deps.createClient({ host, port, ack, logger: clientLogger })
        : new ManipulatorClient({ host, port, ack, logger: clientLogger, timeoutMs: sendTimeoutMs });
      client.start();
    },

    async close(): Promise<void> {
      const c = client;
      client = null;
      await c?.close();
    },

    /** Sends the decision's command; resolves when its delivery is known and recorded. */
    deliver(d: StoredDecision): Promise<SendResult> {
      const command = { datetime: formatTaskDatetime(d.decidedAt), status: d.status };
      const sending = client
        ? client.send(command, { timeoutMs: sendTimeoutMs })
        : Promise.resolve<SendResult>({
            delivered: false,
            outcome: 'failed',
            error: 'no manipulator connection',
          });
      return sending.then(async (result) => {
        d.delivered = result.delivered;
        d.delivery = result.outcome;
        d.deliveryError = result.error ?? null;
        if (!result.delivered) {
          logger.debug({ decidedAt: d.decidedAt, error: result.error }, 'Command not delivered');
        }
        try {
          await store.recordDelivery(d.decidedAt, result.outcome, result.error ?? null);
        } catch (err) {
          logger.warn({ err, decidedAt: d.decidedAt }, 'Could not record the delivery of a command');
        }
        deps.onDelivery?.(d, result);
        return result;
      });
    },

    get connected(): boolean {
      return client?.connected ?? false;
    },
    /** What the manipulator turned out to be (auto mode learns it from the first command). */
    get peer() {
      return client?.peer ?? null;
    },
  };
}
