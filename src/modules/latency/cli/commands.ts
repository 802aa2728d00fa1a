// CLI adapters for the latency module: `telelab load` (load.ts) and `telelab latency-target`. The engine
// and the target are imported when a command runs, so `telelab --help` does not load them.
import { Command } from 'commander';
import {
  EXIT,
  listenFailure,
  MAX_TIMER_MS,
  port,
  serveUntilShutdown,
  timeOption,
  usageErrorsExit2,
} from '../../../platform/cli-kit';

export { loadCommand } from './load';

interface TargetFlags {
  port: number;
  host: string;
  delayMs: number;
  jitterMs: number;
  stallEveryMs?: number;
  stallMs?: number;
}

export function latencyTargetCommand(): Command {
  return usageErrorsExit2(new Command('latency-target'))
    .description('Run the original\'s target server: GET /api/latency -> {"message":"pong"} after a delay')
    .option('--port <port>', 'port to listen on (0: any free port)', port, 8080)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--delay-ms <ms>', 'delay before each answer', timeOption('ms', { zero: true }), 0)
    .option('--jitter-ms <ms>', 'extra uniform random delay, 0..J', timeOption('ms', { zero: true }), 0)
    .option('--stall-every-ms <ms>', 'after this much normal service, stall one answer', timeOption('ms'))
    .option('--stall-ms <ms>', 'how long a stalled answer takes', timeOption('ms'))
    .action(async (flags: TargetFlags, cmd: Command) => {
      // One answer waits delay + jitter, in one timer.
      if (flags.delayMs + flags.jitterMs > MAX_TIMER_MS)
        cmd.error(`error: --delay-ms + --jitter-ms must be at most ${MAX_TIMER_MS} (ms)`);
      const { startLatencyTarget } = await import('../engine/target');
      const target = await startLatencyTarget(flags).catch((e: unknown) => {
        const line = listenFailure(
          e,
          flags.host,
          flags.port,
          'choose another with --port <port> (0: any free one)',
        );
        if (line === null) throw e;
        process.stderr.write(`telelab latency-target: ${line}\n`);
        return process.exit(EXIT.FAILURE);
      });
      process.stdout.write(`latency target listening on ${target.latencyUrl}\n`);
      await serveUntilShutdown(() => target.close());
    });
}
