import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs to stdout (pino); `pretty` prints compact human lines on a TTY without extra deps. */
export function createLogger(level: string, name = 'telelab'): Logger {
  return pino({ level, name, timestamp: pino.stdTimeFunctions.isoTime });
}
