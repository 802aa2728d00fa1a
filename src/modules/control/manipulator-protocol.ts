// The controller -> manipulator wire protocol, shared by the manipulator (cli/manipulator.ts) and the
// controller's client (manipulator-client.ts).
//
// Protocol (newline-delimited, UTF-8), one command per line:
//   client -> server  {"datetime": "YYYY-MM-DDTHH:MM:SS", "status": "up" | "down"}\n
//   server -> client  ok\n                 for every valid command, in order
//                     error <code>\n       for every invalid line (codes below)
// The reply is what lets the client report a command as delivered only when the manipulator has it; a
// client that never reads replies (netcat, the original controller) loses nothing.
import type { ControlStatus } from './model';
import { parseSensorDatetime } from './windows';

export interface ManipulatorCommand {
  datetime: string;
  status: ControlStatus;
}

/** The two calls we make on a logger; a pino Logger satisfies it. */
export interface ControlLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLogger: ControlLogger = { info() {}, warn() {} };

export type CommandErrorCode =
  | 'invalid_json'
  | 'invalid_command'
  | 'invalid_status'
  | 'invalid_datetime'
  | 'line_too_long';

export type ParsedLine =
  | { ok: true; command: ManipulatorCommand }
  | { ok: false; code: CommandErrorCode; message: string };

/** Default cap on one line; a command is ~50 bytes, so anything near this is garbage or an attack. */
export const MAX_LINE_BYTES = 64 * 1024;

/** The wire form of a command: one JSON line. */
export function encodeCommand(command: ManipulatorCommand): string {
  return `${JSON.stringify({ datetime: command.datetime, status: command.status })}\n`;
}

/** Validates one received line (without its newline). */
export function parseCommandLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, code: 'invalid_json', message: 'line is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'invalid_command', message: 'command must be a JSON object' };
  }
  const { datetime, status } = value as Record<string, unknown>;
  if (status !== 'up' && status !== 'down') {
    return {
      ok: false,
      code: 'invalid_status',
      message: `status must be "up" or "down", got ${JSON.stringify(status)}`,
    };
  }
  if (typeof datetime !== 'string' || parseSensorDatetime(datetime) === null) {
    return {
      ok: false,
      code: 'invalid_datetime',
      message: 'datetime must be ISO 8601, e.g. 2024-05-01T12:00:05',
    };
  }
  return { ok: true, command: { datetime, status } };
}

/**
 * Splits a byte stream into lines (without the newline and a trailing '\r'), never holding more than
 * `maxLineBytes` of one line: an oversized line is reported once through `onTooLong` and skipped up to
 * its newline.
 */
export function lineReader(
  maxLineBytes: number,
  onLine: (line: string) => void,
  onTooLong: () => void,
): { push(chunk: Buffer): void; readonly pendingBytes: number } {
  // Bytes of the line not yet terminated; `discarding` skips the rest of an oversized line.
  let parts: Buffer[] = [];
  let partBytes = 0;
  let discarding = false;
  const drop = () => {
    parts = [];
    partBytes = 0;
    onTooLong();
  };
  return {
    push(chunk: Buffer): void {
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl === -1) {
          const rest = chunk.subarray(start);
          if (!discarding && partBytes + rest.length > maxLineBytes) {
            discarding = true;
            drop();
          } else if (!discarding) {
            parts.push(rest);
            partBytes += rest.length;
          }
          return;
        }
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        if (discarding) {
          discarding = false;
          continue;
        }
        if (partBytes + piece.length > maxLineBytes) {
          drop();
          continue;
        }
        const line = partBytes === 0 ? piece : Buffer.concat([...parts, piece]);
        parts = [];
        partBytes = 0;
        onLine(line.toString('utf8').replace(/\r$/, ''));
      }
    },
    get pendingBytes() {
      return partBytes;
    },
  };
}
