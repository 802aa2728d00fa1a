import { describe, expect, it } from 'vitest';
import { ConfigError, configMarkdown, configSpec, loadConfig } from './config';

/** The ConfigError loadConfig throws for `env` (the test fails if it accepts it). */
function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`loadConfig accepted an invalid environment: ${Object.keys(env).join(', ')}`);
}

const problemsOf = (env: Record<string, string>): string[] => configErrorOf(env).problems;

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    const cfg = loadConfig({});
    expect(cfg.PORT).toBe(8000);
    expect(cfg.HOST).toBe('127.0.0.1');
    expect(cfg.DATA_DIR).toBe('./.telelab');
    expect(cfg.DATABASE_URL).toBeUndefined();
    expect(cfg.TELELAB_API_TOKEN).toBeUndefined();
    expect(cfg.LOG_LEVEL).toBe('info');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', HOST: '' }).PORT).toBe(8000);
  });

  it('parses valid values into their types', () => {
    const cfg = loadConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://u@db:5432/x',
      CONTROL_ENABLED: 'off',
      BATCH_MAX_DELAY_MS: '2.5',
      DEVICES_RECALC_CRON: '*/15 * * * *',
    });
    expect(cfg).toMatchObject({
      PORT: 0,
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://u@db:5432/x',
      CONTROL_ENABLED: false,
      BATCH_MAX_DELAY_MS: 2.5,
      DEVICES_RECALC_CRON: '*/15 * * * *',
    });
  });

  it('returns a frozen object', () => {
    const cfg = loadConfig({});
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(() => {
      (cfg as { PORT: number }).PORT = 1;
    }).toThrow(TypeError);
  });

  it('rejects a bad value with a ConfigError naming the variable and the expected form', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(problemsOf({ PORT: 'abc' })).toEqual(['PORT="abc" is invalid: expected integer 0..65535']);
  });

  it('rejects values out of range, not only malformed ones', () => {
    expect(problemsOf({ PORT: '65536' })).toEqual(['PORT="65536" is invalid: expected integer 0..65535']);
    expect(problemsOf({ PORT: '8000.5' })[0]).toMatch(/^PORT=/);
    expect(problemsOf({ CONTROL_ALPHA: '1.5' })[0]).toMatch(
      /^CONTROL_ALPHA="1.5" is invalid: expected number strictly between 0 and 1/,
    );
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      HOST: 'no spaces allowed',
      CONTROL_ENABLED: 'maybe',
    });
    expect(problems.map((p) => p.split('=')[0])).toEqual(['PORT', 'HOST', 'LOG_LEVEL', 'CONTROL_ENABLED']);
    expect(problems[2]).toContain('expected fatal | error | warn | info | debug | trace | silent');
  });

  it('does not echo the value of a secret variable', () => {
    const err = configErrorOf({ DATABASE_URL: 'mysql://admin:s3cr3t-pw@db/x' });
    expect(err.message).toContain('DATABASE_URL=<hidden> is invalid: expected postgres://');
    expect(err.message).not.toContain('s3cr3t');
    expect(err.message).not.toContain('mysql');
  });

  it('lets overrides replace validated values', () => {
    expect(loadConfig({ PORT: '1234' }, { PORT: 0 }).PORT).toBe(0);
  });
});

describe('configMarkdown', () => {
  it('documents every variable in one table row', () => {
    const rows = configMarkdown().split('\n').slice(2);
    expect(rows).toHaveLength(Object.keys(configSpec).length);
    expect(rows.find((r) => r.startsWith('| `PORT` |'))).toContain('`8000`');
  });
});
