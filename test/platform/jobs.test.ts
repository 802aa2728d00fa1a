import { describe, expect, it } from 'vitest';
import type { ModuleFactory } from '../../src/platform/module';
import { buildTestApp } from '../helpers';

describe('background jobs', () => {
  it('sends, works and completes a job on this database', async () => {
    const seen: unknown[] = [];
    const probe: ModuleFactory = ({ jobs }) => {
      jobs.define<{ n: number }>({
        name: 'test-double',
        handler: async (data) => {
          seen.push(data);
          return { doubled: data.n * 2 };
        },
      });
      return { name: 'probe' };
    };
    const app = await buildTestApp({ modules: [probe] });
    const id = await app.jobs.send('test-double', { n: 21 });
    expect(id).toBeTruthy();
    let state = await app.jobs.get('test-double', id!);
    for (let i = 0; i < 100 && state?.state !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = await app.jobs.get('test-double', id!);
    }
    expect(state?.state).toBe('completed');
    expect(state?.output).toEqual({ doubled: 42 });
    expect(seen).toEqual([{ n: 21 }]);
  });
});
