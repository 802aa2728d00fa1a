/**
 * Child processes that never outlive their parent: each child gets an IPC channel (it closes when we die,
 * even by `kill -9`, and the child then shuts itself down: see cli-kit's onShutdown) and its own process
 * group (a terminal's Ctrl-C reaches only us, and we stop the children in order). Output goes straight to
 * the child's log file, so a child never writes into a pipe that breaks when we die.
 * A crashed child is restarted with backoff; a child that keeps failing at start (a taken port, a locked
 * data directory, a configuration error) is given up on with the reason from its log, not retried forever.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ChildSpec {
  name: string;
  /** Arguments after `node`, e.g. ['--import', 'tsx', 'src/cli.ts', 'serve']. */
  args: string[];
  env?: Record<string, string>;
  logFile: string;
  /** Called with every complete line the child writes (for echoing chosen lines on the terminal). */
  onLine?: (line: string) => void;
}

/** Exits of a child within this long after its start count as failures to start. */
export const START_WINDOW_MS = 10_000;
/** After this many failures to start in a row, the child is given up on. */
export const START_ATTEMPTS = 3;
/** Exit code of a usage or configuration error: running again unchanged fails the same way. */
const EXIT_USAGE = 2;

export interface SupervisedChild {
  readonly name: string;
  readonly pid: number | undefined;
  /** Resolves once the child is stopped for good (given up on, or stopped by stop()). */
  readonly settled: Promise<{ gaveUp: boolean; reason?: string }>;
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves when the process has exited. */
  stop(killAfterMs: number): Promise<void>;
}

export function supervise(
  spec: ChildSpec,
  say: (line: string) => void,
  onGiveUp: (reason: string) => void,
): SupervisedChild {
  const log = openSync(spec.logFile, 'a');
  let child: ChildProcess | null = null;
  let startedAt = 0;
  let quickFailures = 0;
  let crashes = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopping = false;
  let settle!: (s: { gaveUp: boolean; reason?: string }) => void;
  const settled = new Promise<{ gaveUp: boolean; reason?: string }>((r) => {
    settle = r;
  });
  const tail = spec.onLine ? followFile(spec.logFile, spec.onLine) : null;
  let finished = false;
  /** Once only: a child given up on is stopped again when everything stops. */
  const finish = (s: { gaveUp: boolean; reason?: string }) => {
    if (finished) return;
    finished = true;
    tail?.stop();
    closeSync(log);
    settle(s);
  };

  const start = () => {
    timer = null;
    startedAt = Date.now();
    child = spawn(process.execPath, spec.args, {
      // TELELAB_SUPERVISOR_PID: the child checks it is still ours (platform/cli-kit.ts, watchParent).
      env: { ...process.env, ...spec.env, TELELAB_SUPERVISOR_PID: String(process.pid) },
      stdio: ['ignore', log, log, 'ipc'],
      detached: true,
    });
    child.on('error', (err) => say(`[${spec.name}] could not start: ${err.message}`));
    child.on('exit', (code, signal) => {
      child = null;
      if (stopping) return;
      tail?.flush();
      const ranMs = Date.now() - startedAt;
      quickFailures = ranMs < START_WINDOW_MS ? quickFailures + 1 : 0;
      if (ranMs > 60_000) crashes = 0;
      const how = signal ?? `code ${code}`;
      const why = lastLogLine(spec.logFile);
      if (code === EXIT_USAGE || quickFailures >= START_ATTEMPTS) {
        const reason =
          code === EXIT_USAGE
            ? `exited with a usage or configuration error: ${why}`
            : `failed ${quickFailures} times within ${START_WINDOW_MS / 1000} s of starting (${how}): ${why}`;
        say(`[${spec.name}] ${reason}; not restarting (log: ${spec.logFile})`);
        finish({ gaveUp: true, reason });
        onGiveUp(reason);
        return;
      }
      const delay = Math.min(30_000, 1000 * 2 ** crashes++);
      say(`[${spec.name}] exited (${how}): ${why}; restarting in ${delay / 1000}s (log: ${spec.logFile})`);
      timer = setTimeout(start, delay);
    });
  };
  start();

  return {
    name: spec.name,
    get pid() {
      return child?.pid;
    },
    settled,
    async stop(killAfterMs) {
      if (stopping) return;
      stopping = true;
      if (timer) clearTimeout(timer);
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        await new Promise<void>((resolve) => {
          const kill = setTimeout(() => c.kill('SIGKILL'), killAfterMs);
          c.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          c.kill('SIGTERM');
        });
      }
      tail?.flush();
      finish({ gaveUp: false });
    },
  };
}

/** The last meaningful line of a log: pino's `msg` (and its error) for JSON lines, else the line itself. */
export function lastLogLine(file: string): string {
  let text = '';
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, 8192));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '(no log)';
  }
  // Skip stack frames and the version line Node prints after an uncaught error.
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !/^\s+at |^Node\.js v\d/.test(l));
  const last = lines.at(-1)?.trim();
  if (!last) return '(no output)';
  try {
    const j = JSON.parse(last) as { msg?: string; err?: { message?: string } };
    return [j.msg, j.err?.message].filter(Boolean).join(': ') || last;
  } catch {
    return last;
  }
}

/** Calls onLine with each complete line appended to `file` from now on (polled: cheap and portable). */
function followFile(file: string, onLine: (line: string) => void): { flush(): void; stop(): void } {
  let offset = fstatSafe(file);
  let partial = '';
  const buf = Buffer.alloc(64 * 1024);
  const flush = () => {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return;
    }
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        const lines = (partial + buf.toString('utf8', 0, n)).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) if (l) onLine(l);
      }
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(flush, 250);
  return {
    flush,
    stop() {
      clearInterval(timer);
      flush();
    },
  };
}

function fstatSafe(file: string): number {
  try {
    const fd = openSync(file, 'r');
    try {
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}
