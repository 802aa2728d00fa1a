import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  captureControlLogger as captureLogger,
  testClient as client,
  command as cmd,
  testManipulator as manipulator,
  rawSocket,
  sleep,
} from '../link-test-support';
import { parseCommandLine } from '../manipulator-protocol';
import { waitFor } from '../test-support';
import { type CommandIo, manipulatorCommand } from './commands';
import { startManipulator } from './manipulator';

describe('parseCommandLine', () => {
  it('accepts the task message', () => {
    expect(parseCommandLine('{"datetime": "2024-05-01T12:00:05", "status": "up"}')).toEqual({
      ok: true,
      command: cmd('up'),
    });
  });

  it.each([
    ['not json', 'invalid_json'],
    ['[1,2]', 'invalid_command'],
    ['{"datetime":"2024-05-01T12:00:05","status":"UP"}', 'invalid_status'],
    ['{"datetime":"2024-13-01T12:00:05","status":"up"}', 'invalid_datetime'],
    ['{"status":"down"}', 'invalid_datetime'],
  ])('rejects %s with %s', (line, code) => {
    expect(parseCommandLine(line)).toMatchObject({ ok: false, code });
  });
});

describe('manipulator robustness', () => {
  it('warns about garbage, answers with an error code and keeps serving the same connection', async () => {
    const { logger, lines } = captureLogger();
    const m = await manipulator({ logger });
    const raw = await rawSocket(m.port);
    raw.socket.write('hello\n{"datetime":"2024-05-01T12:00:05","status":"sideways"}\n\n');
    raw.socket.write('{"datetime":"2024-05-01T12:00:05","status":"up"}\r\n');
    expect(await raw.waitReplies(3)).toEqual(['error invalid_json', 'error invalid_status', 'ok']);
    expect(m.received).toBe(1);
    expect(m.rejected).toBe(2);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
  });

  it('buffers a command split across packets until its newline', async () => {
    const m = await manipulator();
    const raw = await rawSocket(m.port);
    const line = '{"datetime":"2024-05-01T12:00:05","status":"down"}\n{"datetime":"2024-05-01T12:00:10",';
    raw.socket.write(line.slice(0, 7));
    await sleep(20);
    raw.socket.write(line.slice(7, 30));
    await sleep(20);
    raw.socket.write(line.slice(30));
    await sleep(20);
    expect(m.received).toBe(1);
    raw.socket.write('"status":"up"}\n');
    expect(await raw.waitReplies(2)).toEqual(['ok', 'ok']);
    expect(m.last?.command).toEqual(cmd('up', '2024-05-01T12:00:10'));
  });

  it('drops an oversized line once, skips to the next newline and keeps serving', async () => {
    const m = await manipulator();
    const raw = await rawSocket(m.port);
    const chunk = 'x'.repeat(40 * 1024);
    raw.socket.write(chunk);
    raw.socket.write(chunk); // now over 64 KiB without a newline
    raw.socket.write(`${chunk}\n`);
    raw.socket.write('{"datetime":"2024-05-01T12:00:05","status":"up"}\n');
    expect(await raw.waitReplies(2)).toEqual(['error line_too_long', 'ok']);
    expect(m.rejected).toBe(1);
    expect(m.received).toBe(1);
  });

  it('rejects a complete line that is too long', async () => {
    const m = await manipulator({ maxLineBytes: 100 });
    const raw = await rawSocket(m.port);
    raw.socket.write(`{"datetime":"2024-05-01T12:00:05","status":"up","pad":"${'p'.repeat(100)}"}\n`);
    expect(await raw.waitReplies(1)).toEqual(['error line_too_long']);
  });

  it('survives a client that resets the connection mid-line', async () => {
    const m = await manipulator();
    const raw = await rawSocket(m.port);
    raw.socket.write('{"datetime":"2024-05-');
    await sleep(20);
    raw.socket.resetAndDestroy();
    await waitFor(() => m.connections === 0);
    const c = client(m.port);
    expect((await c.send(cmd('up'))).delivered).toBe(true);
  });

  it('close() ends open connections and resolves', async () => {
    const m = await startManipulator({ port: 0 });
    const c = client(m.port);
    await c.send(cmd('up'));
    const disconnected = once(c, 'disconnected');
    await m.close();
    await disconnected;
    expect(c.connected).toBe(false);
  });
});

describe('telelab manipulator', () => {
  /** The command with its output captured; `exit` throws, as the real one never returns. */
  function command() {
    const out = { stdout: '', stderr: '', code: null as number | null };
    const sink = (key: 'stdout' | 'stderr') =>
      ({
        write: (d: string) => {
          out[key] += d;
          return true;
        },
      }) as unknown as NodeJS.WritableStream;
    const io: CommandIo = {
      stdout: sink('stdout'),
      stderr: sink('stderr'),
      exit: (code) => {
        out.code = code;
        throw new Error(`exit ${code}`);
      },
    };
    return { out, run: (...args: string[]) => manipulatorCommand(io).parseAsync(args, { from: 'user' }) };
  }

  it('a port in use: one line naming the port and --port, exit 1', async () => {
    const taken = await startManipulator({ port: 0 });
    try {
      const { out, run } = command();
      await expect(run('--port', String(taken.port))).rejects.toThrow('exit 1');
      expect(out.code).toBe(1);
      expect(out.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`port ${taken.port} on 127\\.0\\.0\\.1 is in use.*--port`)),
      ]);
      expect(out.stdout).toBe('');
    } finally {
      await taken.close();
    }
  });
});
