import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../test/deterministic';
import { parseLogLine } from './log-line';
import { generateInvalidLine, generateLogLine, INVALID_LINE_KINDS } from './log-traffic';

describe('generators', () => {
  it('every generated line parses (property)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const rng = mulberry32(seed);
        for (let i = 0; i < 20; i++) {
          const line = generateLogLine(rng);
          const result = parseLogLine(line);
          if (!result.ok) throw new Error(`${JSON.stringify(line)}: ${result.detail}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('every generated invalid line fails on the expected field (property)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const invalid = generateInvalidLine(mulberry32(seed));
        const result = parseLogLine(invalid.line);
        expect(result, `${invalid.kind}: ${JSON.stringify(invalid.line)}`).toMatchObject({
          ok: false,
          field: invalid.field,
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('each invalid kind fails on its field for many base lines', () => {
    const rng = mulberry32(42);
    for (const kind of INVALID_LINE_KINDS) {
      for (let i = 0; i < 50; i++) {
        const invalid = generateInvalidLine(rng, kind);
        expect(parseLogLine(invalid.line), `${kind}: ${JSON.stringify(invalid.line)}`).toMatchObject({
          ok: false,
          field: invalid.field,
        });
      }
    }
    // Every field is covered by at least one kind.
    const fields = new Set(INVALID_LINE_KINDS.map((kind) => generateInvalidLine(rng, kind).field));
    expect([...fields].sort()).toEqual(['ip', 'log', 'method', 'status_code', 'uri']);
  });

  it('produces a realistic mix', () => {
    const rng = mulberry32(7);
    const lines = Array.from({ length: 5000 }, () => parseLogLine(generateLogLine(rng)));
    const values = lines.map((r) => (r.ok ? r.value : undefined)).filter((v) => v !== undefined);
    const share = (pred: (v: (typeof values)[number]) => boolean) =>
      values.filter(pred).length / values.length;
    expect(values).toHaveLength(5000);
    expect(share((v) => v.method === 'GET')).toBeGreaterThan(0.6);
    expect(share((v) => v.ip.includes(':'))).toBeGreaterThan(0.1);
    expect(share((v) => v.uri.includes('?'))).toBeGreaterThan(0.2);
    expect(share((v) => v.status_code >= 400)).toBeGreaterThan(0.1);
    expect(share((v) => v.status_code < 300)).toBeGreaterThan(0.6);
  });
});
