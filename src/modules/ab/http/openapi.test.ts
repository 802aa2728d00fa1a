import { expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers';
import { createAbModule } from '../index';

it('documents every ab route with an operationId, the ab tag and a summary', async () => {
  const app = await buildTestApp({ modules: [createAbModule] });
  const res = await app.http.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  const paths = res.json().paths as Record<
    string,
    Record<string, { operationId?: string; tags?: string[]; summary?: string }>
  >;
  const ops = Object.entries(paths)
    .filter(
      ([path]) =>
        path.startsWith('/api/v1/experiments') ||
        path.startsWith('/api/v1/admin/experiments') ||
        path === '/pages/experiment-stats',
    )
    .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, ...op })));
  expect(ops.map((o) => `${o.method} ${o.path}`).sort()).toEqual([
    'delete /api/v1/admin/experiments/{name}',
    'get /api/v1/admin/experiments',
    'get /api/v1/admin/experiments/{name}',
    'get /api/v1/experiments',
    'get /api/v1/experiments/explain',
    'get /api/v1/experiments/stats',
    'get /pages/experiment-stats',
    'post /api/v1/admin/experiments',
    'post /api/v1/admin/experiments/{name}/stop',
    'put /api/v1/admin/experiments/{name}/weights',
  ]);
  for (const op of ops) {
    expect(op.operationId, `${op.method} ${op.path}`).toMatch(/^ab[A-Z]/);
    expect(op.tags).toEqual(['ab']);
    expect(op.summary).toBeTruthy();
  }
});
