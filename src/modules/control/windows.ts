// Decision windows on the UTC clock and the datetime formats of the task's messages.
//
// Decisions happen at aligned times t_k = k * interval (milliseconds since the Unix epoch, so a 5 s interval
// decides at :00, :05, :10 ... of every minute on every node, whichever process is leader). Window k holds
// readings with t_(k-1) <= datetime < t_k and is judged at t_k against window k-1.

import { type IsoDateTimeOptions, parseIsoDateTime } from '../../platform/time';
import type { TimeWindow } from './model';

function toMs(time: Date | number): number {
  return typeof time === 'number' ? time : time.getTime();
}

function checkInterval(intervalMs: number): void {
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`intervalMs must be a positive integer, got ${intervalMs}`);
  }
}

/** Start of the aligned slot that contains `ms` (floor, also correct before 1970). */
function slotStart(ms: number, intervalMs: number): number {
  return Math.floor(ms / intervalMs) * intervalMs;
}

/** The window [t_(k-1), t_k) that contains `time`. */
export function windowFor(time: Date | number, intervalMs: number): TimeWindow {
  checkInterval(intervalMs);
  const start = slotStart(toMs(time), intervalMs);
  return { start: new Date(start), end: new Date(start + intervalMs) };
}

/**
 * Start of the window being filled now, which is also the time of the last decision. Readings created
 * before it are outdated.
 */
export function currentWindowStart(now: Date | number, intervalMs: number): Date {
  checkInterval(intervalMs);
  return new Date(slotStart(toMs(now), intervalMs));
}

/** The first decision time strictly after `now` (a loop woken exactly at t_k gets t_(k+1)). */
export function nextDecisionAt(now: Date | number, intervalMs: number): Date {
  checkInterval(intervalMs);
  return new Date(slotStart(toMs(now), intervalMs) + intervalMs);
}

/**
 * The two windows a decision at `decisionAt` compares: `curr` = [t_k - I, t_k) and `prev` = the one before.
 * `decisionAt` is rounded down to its aligned time, so a loop that wakes a few ms late still reads the right
 * windows.
 */
export function decisionWindows(
  decisionAt: Date | number,
  intervalMs: number,
): { prev: TimeWindow; curr: TimeWindow } {
  checkInterval(intervalMs);
  const tk = slotStart(toMs(decisionAt), intervalMs);
  return {
    prev: { start: new Date(tk - 2 * intervalMs), end: new Date(tk - intervalMs) },
    curr: { start: new Date(tk - intervalMs), end: new Date(tk) },
  };
}

/**
 * The task's rule: a message created before the last decision is outdated and ignored. With aligned
 * decisions that is "datetime < start of the current window".
 */
export function isOutdated(readingAt: Date | number, now: Date | number, intervalMs: number): boolean {
  return toMs(readingAt) < currentWindowStart(now, intervalMs).getTime();
}

/**
 * The sensors' datetime: ISO 8601 with or without fraction ('.' or ','; below a millisecond truncated), with
 * or without offset (hours and minutes, '+02:00' or '+0200'); no offset means UTC. Strict: out-of-range
 * fields (month 13, Feb 30, hour 24, second 60) and anything that is not this shape give null.
 */
const SENSOR_DATETIME: IsoDateTimeOptions = {
  decimalComma: true,
  hourOnlyOffset: false,
  bounded: false,
  maxLength: 64,
};

export function parseSensorDatetime(s: string): Date | null {
  const parsed = parseIsoDateTime(s, SENSOR_DATETIME);
  return parsed.ok ? parsed.value : null;
}

/** The task's message format 'YYYY-MM-DDTHH:MM:SS' in UTC, optionally with '.mmm'. */
export function formatTaskDatetime(d: Date, ms = false): string {
  return d.toISOString().slice(0, ms ? 23 : 19);
}
