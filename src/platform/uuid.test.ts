import { describe, expect, it } from 'vitest';
import { uuidv7 } from './uuid';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('has version 7, the RFC 4122 variant, and the time in its first 48 bits', () => {
    // RFC 9562 appendix A.6 example: 2022-02-22T19:22:22.000Z is 0x017F22E279B0.
    const t = Date.parse('2022-02-22T19:22:22.000Z');
    expect(t.toString(16)).toBe('17f22e279b0');
    const id = uuidv7(t);
    expect(id).toMatch(V7);
    expect(id.slice(0, 13)).toBe('017f22e2-79b0');
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(t);
  });

  it('ids from later milliseconds sort after earlier ones; ids are unique', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    const same = Array.from({ length: 10_000 }, () => uuidv7(1_700_000_000_000));
    expect(new Set(same).size).toBe(same.length);
    for (const id of same) expect(id).toMatch(V7);
  });
});
