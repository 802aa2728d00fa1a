import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../platform/cli-kit';
import { controlApp, fakeClock, payloads, postReading, T0 } from '../test-support';
import { controlReplayCommand } from './commands';
import { replayBody, runReplayCli } from './replay';

const I = 5000;
const iso = (ms: number) => new Date(ms).toISOString();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

/** A listening server whose live t-test saw a step up at window 2. */
async function server(): Promise<string> {
  const clock = fakeClock();
  const { app, control } = await controlApp({ clock, env: { MANIPULATOR_PORT: '1' } });
  cleanups.push(() => app.close());
  const means = [100, 100, 110, 110, 110];
  for (let k = 0; k < means.length; k++) {
    clock.set(T0 + k * I + 1);
    await Promise.all(
      payloads(200 + k, 20, means[k]!, 5).map((v, i) => postReading(app, iso(T0 + k * I + i * 200), v)),
    );
    if (k >= 1) {
      clock.set(T0 + (k + 1) * I);
      await (await control.controller.tick(clock.now())).delivery;
    }
  }
  return app.http.listen({ port: 0, host: '127.0.0.1' });
}

const flags = (api: string, extra: Record<string, unknown> = {}) => ({
  api,
  from: iso(T0 + 2 * I),
  to: iso(T0 + 5 * I),
  detector: 'ttest' as const,
  ...extra,
});

describe('telelab control-replay', () => {
  it('prints the replay next to the live controller', async () => {
    const api = await server();
    const out = sink();
    const err = sink();
    const code = await runReplayCli(flags(api, { decisions: true }), {
      stdout: out.stream,
      stderr: err.stream,
    });
    expect(err.text()).toBe('');
    expect(code).toBe(EXIT.OK);
    const lines = out.text().split('\n');
    expect(lines[0]).toBe(
      'Replay 2030-01-01T00:00:10.000Z .. 2030-01-01T00:00:25.000Z: ttest (alpha 0.05, min_dwell 0)',
    );
    // Decisions at 10, 15, 20, 25 s: one switch (the step up at 15 s); up from 15 s to 25 s.
    expect(lines[2]).toMatch(/^replay ttest\s+4\s+1\s+10\s+5\s+—$/);
    expect(lines[3]).toMatch(/^live\s+4\s+1\s+10\s+5\s+—$/);
    expect(lines.filter((l) => / up +\* significant_increase: /.test(l))).toHaveLength(1);
  });

  it('prints JSON with --json, as the API answers it', async () => {
    const api = await server();
    const out = sink();
    const code = await runReplayCli(flags(api, { detector: 'cusum', arl: 200, json: true }), {
      stdout: out.stream,
      stderr: sink().stream,
    });
    expect(code).toBe(EXIT.OK);
    const body = JSON.parse(out.text());
    expect(body.detector).toMatchObject({ type: 'cusum', arl: 200, k: 0.5 });
    expect(body.decisions).toHaveLength(4);
  });

  it('exits 2 with the server detail when the server refuses the input', async () => {
    const api = await server();
    const err = sink();
    const code = await runReplayCli(flags(api, { arl: 500 }), { stdout: sink().stream, stderr: err.stream });
    expect(code).toBe(EXIT.USAGE);
    expect(err.text()).toBe(
      'error: 422 body.arl: applies to detector cusum only; remove it or set detector to cusum\n',
    );
  });

  it('exits 1 when the server cannot be reached', async () => {
    const err = sink();
    const code = await runReplayCli(flags('http://127.0.0.1:1'), {
      stdout: sink().stream,
      stderr: err.stream,
    });
    expect(code).toBe(EXIT.FAILURE);
    expect(err.text()).toMatch(/^error: cannot reach http:\/\/127\.0\.0\.1:1\/control\/replay/);
  });

  it('builds the period from --last and refuses clashing flags', () => {
    const now = new Date('2030-01-01T01:00:00Z');
    expect(replayBody({ api: '', detector: 'cusum', last: 5, k: 1 }, now)).toEqual({
      from: '2030-01-01T00:55:00.000Z',
      to: '2030-01-01T01:00:00.000Z',
      detector: 'cusum',
      k: 1,
    });
    expect(replayBody({ api: '', detector: 'ttest', last: 5, from: iso(T0) }, now)).toBe(
      'use either --last or --from/--to',
    );
    expect(replayBody({ api: '', detector: 'ttest', stationaryFrom: iso(T0) }, now)).toBe(
      '--stationary-from and --stationary-to go together',
    );
  });

  it('refuses an unknown detector as a usage error (exit 2)', async () => {
    const err = sink();
    let exitCode: number | undefined;
    const cmd = controlReplayCommand({
      stdout: sink().stream,
      stderr: err.stream,
      exit: ((code: number) => {
        exitCode = code;
        throw new Error('exit');
      }) as (code: number) => never,
    });
    cmd.configureOutput({ writeErr: (s) => err.stream.write(s) });
    await expect(cmd.parseAsync(['--detector', 'page-hinkley'], { from: 'user' })).rejects.toThrow('exit');
    expect(exitCode).toBe(EXIT.USAGE);
    expect(err.text()).toMatch(/--detector.*page-hinkley.*Allowed choices are ttest, cusum/);
  });
});
