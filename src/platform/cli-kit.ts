/**
 * What every `telelab` command shares: exit codes, usage errors, option parsers and one shutdown handler.
 * Deliberately light (commander only): every command's `--help` loads this and nothing heavier.
 */
import { type Command, InvalidArgumentError } from 'commander';

export const EXIT = {
  OK: 0,
  /** The run could not do its job (nothing accepted, target unreachable, the API cannot run). */
  FAILURE: 1,
  /** Bad flags, arguments or configuration: running again unchanged fails again. */
  USAGE: 2,
  /** `telelab load`: a threshold or a baseline comparison failed (k6 uses 99 too). */
  THRESHOLD: 99,
  /**
   * A second Ctrl-C (or signal) left at once, without the graceful shutdown; also a `telelab load` run that
   * a first one cut short (its summary printed, but no verdict on a run shorter than asked may pass).
   */
  INTERRUPTED: 130,
} as const;

/** Usage errors exit 2 (commander would use 1), help and version 0; applied to every subcommand. */
export function usageErrorsExit2<C extends Command>(
  cmd: C,
  exit: (code: number) => never = (code) => process.exit(code),
): C {
  cmd.showHelpAfterError('(add --help for usage)');
  cmd.exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') exit(EXIT.OK);
    // Bare `telelab` (no command) is a usage error; `telelab help` is not.
    if (err.code === 'commander.help') exit(process.argv.length > 2 ? EXIT.OK : EXIT.USAGE);
    exit(err.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
  });
  for (const sub of cmd.commands) usageErrorsExit2(sub, exit);
  return cmd;
}

// ---- option parsers (commander argParser functions: throw InvalidArgumentError with what to type) ----

const number = (value: string): number => (value.trim() === '' ? Number.NaN : Number(value));

export const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    const n = number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        max !== Number.MAX_SAFE_INTEGER
          ? `must be an integer ${min}..${max}`
          : min === 1
            ? 'must be an integer > 0'
            : `must be an integer >= ${min}`,
      );
    return n;
  };

export function positiveNumber(value: string): number {
  const n = number(value);
  if (!(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError('must be a number > 0');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = number(value);
  if (!(n >= 0 && Number.isFinite(n))) throw new InvalidArgumentError('must be a number >= 0');
  return n;
}

export function finiteNumber(value: string): number {
  const n = number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}

export function port(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port 0..65535');
  return n;
}

/** The longest delay a Node.js timer holds (about 24.8 days): a longer one fires after 1 ms, with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TimeOptionSpec {
  /** Accept 0 (default: > 0 only). */
  zero?: boolean;
  /** Whole numbers only. */
  integer?: boolean;
  /** What the option's timers add to it must still fit in MAX_TIMER_MS. */
  headroomMs?: number;
}

/**
 * A time option in seconds or milliseconds that a timer can hold: refuses, naming the maximum, what would
 * overflow it (with `headroomMs` to spare). The maximum is shown in whole units.
 */
export const timeOption =
  (unit: 's' | 'ms', spec: TimeOptionSpec = {}) =>
  (value: string): number => {
    const n = spec.integer
      ? integer(spec.zero ? 0 : 1)(value)
      : (spec.zero ? nonNegativeNumber : positiveNumber)(value);
    const maxMs = MAX_TIMER_MS - (spec.headroomMs ?? 0);
    const max = Math.floor(unit === 's' ? maxMs / 1000 : maxMs);
    if (n > max) {
      const days = Math.floor(maxMs / 8_640_000) / 10;
      throw new InvalidArgumentError(
        `must be at most ${max} (${unit === 's' ? 'seconds' : 'ms'}; about ${days} days, the longest timer Node.js holds)`,
      );
    }
    return n;
  };

/**
 * The one line a command prints when its server cannot listen (a port in use names `fix`, what moves it),
 * or null when `error` is something else.
 */
export function listenFailure(error: unknown, host: string, port: number, fix: string): string | null {
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') return `port ${port} on ${host} is in use; ${fix}`;
  if (e?.syscall === 'listen' || e?.syscall === 'getaddrinfo')
    return `cannot listen on ${host}:${port}: ${e.message}`;
  return null;
}

// ---- shutdown ----

/** The same signal again within this long is one event delivered twice, not an impatient second press. */
const DUPLICATE_SIGNAL_MS = 1_000;

export interface ShutdownOptions {
  /** Called with the second signal; default: exit 130 at once. */
  onSecondSignal?: () => void;
  /** When the parent is gone (nobody left to send a second signal), exit anyway after this long. */
  parentGoneExitMs?: number;
}

/**
 * Calls `stop` once on the first SIGINT, SIGTERM or SIGHUP, or when the parent process is gone; a second
 * signal exits at once. Returns the remover. The parent is watched when it can vanish without signalling
 * us: a `telelab up` child (its IPC channel closes even on `kill -9`) or a command run by npm (npm killed
 * by SIGHUP or SIGKILL forwards nothing; we notice being re-parented).
 */
export function onShutdown(stop: (reason: string) => void, options: ShutdownOptions = {}): () => void {
  let stoppingSince = 0;
  const second = options.onSecondSignal ?? (() => process.exit(EXIT.INTERRUPTED));
  const onSignal = (reason: string) => {
    if (stoppingSince) {
      // A terminal's Ctrl-C reaches npm and us at once, and npm forwards it again: one press, two signals.
      if (Date.now() - stoppingSince >= DUPLICATE_SIGNAL_MS) second();
      return;
    }
    stoppingSince = Date.now();
    stop(reason);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);
  const unwatch = watchParent(() => {
    if (stoppingSince) return;
    setTimeout(() => process.exit(EXIT.FAILURE), options.parentGoneExitMs ?? 3_000).unref();
    onSignal('parent process gone');
  });
  return () => {
    for (const s of signals) process.off(s, onSignal);
    unwatch();
  };
}

/**
 * For a command that serves until stopped: resolves once the first shutdown signal (see onShutdown) has
 * run `close` to its end; a second signal meanwhile exits at once. Rejects when `close` fails.
 */
export async function serveUntilShutdown(
  close: () => Promise<void>,
  options: ShutdownOptions = {},
): Promise<void> {
  let remove = () => {};
  try {
    await new Promise<void>((resolve, reject) => {
      remove = onShutdown(() => close().then(resolve, reject), options);
    });
  } finally {
    remove();
  }
}

/** Our parent as it was when this process started (by the time a command listens it may be gone). */
const STARTED_BY = process.ppid;
/** The pid of the `telelab up` that started us (platform/supervisor.ts), or 0; not passed further down. */
const SUPERVISOR = Number(process.env.TELELAB_SUPERVISOR_PID) || 0;
delete process.env.TELELAB_SUPERVISOR_PID;
/** The pid of the `telelab up` running this process, if one does. */
export const supervisorPid = (): number | undefined => SUPERVISOR || undefined;
/** Reparented: the supervisor died, possibly before we could listen on its IPC channel. */
const supervisorGone = () => SUPERVISOR !== 0 && process.ppid !== SUPERVISOR;
let watchers = 0;

/**
 * For the moments before a command has its shutdown handler in place (loading, connecting): a child of
 * `telelab up` whose parent is gone simply exits, since it has nothing to flush yet. Called first thing.
 */
export function exitWithParentUntilWatched(): void {
  if (!SUPERVISOR) return;
  const exitUnlessWatched = () => {
    if (watchers === 0) process.exit(EXIT.FAILURE);
  };
  if (supervisorGone()) exitUnlessWatched();
  // The channel must not keep the process alive: a finished command still exits on its own.
  process.channel?.unref();
  process.once('disconnect', exitUnlessWatched);
}

/** Calls `onGone` once the process that started us is gone (at once if it already is). See onShutdown. */
export function watchParent(onGone: () => void): () => void {
  let done = false;
  const gone = () => {
    if (done) return;
    done = true;
    onGone();
  };
  if (SUPERVISOR) {
    watchers++;
    // The IPC channel closes the moment the supervisor dies, even by kill -9; the reparenting check
    // covers a channel that closed before anyone listened.
    process.channel?.unref();
    process.once('disconnect', gone);
    const timer = setInterval(() => supervisorGone() && gone(), 250);
    timer.unref();
    if (supervisorGone()) setImmediate(gone);
    return () => {
      watchers--;
      clearInterval(timer);
      process.off('disconnect', gone);
    };
  }
  if (!process.env.npm_lifecycle_event) return () => {};
  const timer = setInterval(() => {
    if (process.ppid !== STARTED_BY) {
      clearInterval(timer);
      gone();
    }
  }, 250);
  if (process.ppid !== STARTED_BY) setImmediate(gone);
  timer.unref();
  return () => clearInterval(timer);
}
