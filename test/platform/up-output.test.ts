/** What `telelab up` echoes from its components' logs: JSON log lines as a person reads them. */
import { describe, expect, it } from 'vitest';
import { readable } from '../../src/up';

describe('telelab up echo', () => {
  it('prints a JSON log line as its message, with the level when worse than info and the error', () => {
    const info = JSON.stringify({ level: 30, time: 1, pid: 7, msg: "Changing status from 'down' to 'up'" });
    expect(readable(info)).toBe("Changing status from 'down' to 'up'");
    const error = JSON.stringify({ level: 50, msg: 'Controller decision failed', err: { message: 'boom' } });
    expect(readable(error)).toBe('error: Controller decision failed (boom)');
  });

  it('leaves other lines as they are', () => {
    expect(readable('Received command: up')).toBe('Received command: up');
    expect(readable('{not json')).toBe('{not json');
    expect(readable('{"level":30}')).toBe('{"level":30}');
  });
});
