/**
 * Issue 9, item 2: input fuzzing. For every operation in /openapi.json, fast-check generates
 * malformed requests (see support/openapi-fuzz.ts) and sends them through app.http.inject to an app
 * with all five modules. Contract: no status >= 500, no crash (the app still answers /healthz and
 * /readyz, vitest fails on any unhandled error), no hang, and every 4xx is application/problem+json
 * with a non-empty detail and the same status.
 *
 * Reproduce a run with RELIABILITY_SEED=<seed printed in the figure line>; RELIABILITY_FUZZ_CASES=n
 * overrides the number of cases (exploratory runs).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelelabApp } from '../../src/app';
import { type LatencyTarget, startLatencyTarget } from '../../src/modules/latency/engine/target';
import { buildTestApp } from '../helpers';
import { type Answer, contractViolation, Hang, send } from './support/inject';
import { bySize, figure, mode } from './support/mode';
import {
  describeRequest,
  type FuzzRequest,
  type Known,
  type Operation,
  operationsOf,
  requestArb,
} from './support/openapi-fuzz';
import { ensureTestTemplate } from './support/template';

const CASES = Number(process.env.RELIABILITY_FUZZ_CASES ?? bySize({ short: 1_500, full: 10_000 }));
const SEED = process.env.RELIABILITY_SEED ? Number(process.env.RELIABILITY_SEED) : Date.now() % 2 ** 31;

let app: TelelabApp;
let target: LatencyTarget;
let ops: Operation[];
let known: Known;

async function created(method: string, url: string, payload: unknown, field: string): Promise<string> {
  const a = await send(app, {
    method,
    url,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });
  if (a.status >= 300) throw new Error(`${method} ${url}: ${a.status} ${a.body}`);
  return String(JSON.parse(a.body.toString())[field]);
}

beforeAll(async () => {
  await ensureTestTemplate();
  target = await startLatencyTarget({ port: 0 });
  // The default allowlist (loopback): whatever the fuzzer creates can only ever hit this machine.
  app = await buildTestApp({ env: { LATENCY_ALLOWED_TARGETS: 'loopback' } });
  const doc = await send(app, { method: 'GET', url: '/openapi.json' });
  ops = operationsOf(JSON.parse(doc.body.toString()));
  // Real ids, so that part of the cases reach the handlers past "not found".
  const profile = { users: 1, duration_seconds: 0.3, interval_seconds: 0.1 };
  const experimentId = await created(
    'POST',
    '/create_experiment',
    { name: 'fuzz', host: '127.0.0.1', port: target.port, load_profiles: [profile] },
    'experiment_id',
  );
  const groupId = await created(
    'POST',
    '/create_experiment_group',
    {
      name: 'fuzz',
      experiments: [{ name: 'g1', host: '127.0.0.1', port: target.port, load_profiles: [profile] }],
    },
    'group_id',
  );
  const userId = await created('POST', '/users', { name: 'fuzz' }, 'id');
  await created('POST', '/devices/fuzz-1/data', { x: 1, y: 2, z: 3 }, 'device_id').catch(() => '');
  const taskId = await created('POST', '/tasks/recalculate', {}, 'task_id');
  const logId = await created('POST', '/api/data', { log: '10.0.0.1 GET /x 200' }, 'id');
  await created(
    'POST',
    '/api/v1/admin/experiments',
    {
      name: 'fuzz_exp',
      options: [
        { value: 'a', weight: 1 },
        { value: 'b', weight: 2 },
      ],
    },
    'name',
  );
  known = {
    experiment_id: [experimentId],
    group_id: [groupId],
    user_id: [Number(userId), userId],
    device_id: ['fuzz-1'],
    task_id: [taskId],
    id: [logId],
    last_id: [logId, null],
    name: ['fuzz_exp', 'price', 'fuzz'],
    host: ['127.0.0.1', 'localhost', '::1'],
    port: [target.port],
  };
}, 120_000);

afterAll(async () => {
  await target?.close();
});

interface Tally {
  cases: number;
  byClass: Record<string, number>;
  violations: { op: string; why: string; request: string }[];
  hangs: number;
  unsendable: number;
}

describe(`input fuzzing over every OpenAPI route (${mode})`, () => {
  it(
    'answers malformed input with a problem+json 4xx, never a 5xx, never a crash',
    async () => {
      const tally: Tally = { cases: 0, byClass: {}, violations: [], hangs: 0, unsendable: 0 };
      const perRoute = Math.ceil(CASES / ops.length);
      const started = Date.now();
      let healthChecks = 0;

      const check = async (op: Operation, r: FuzzRequest) => {
        let a: Answer;
        try {
          a = await send(app, r);
        } catch (e) {
          if (e instanceof Hang) {
            tally.hangs++;
            tally.violations.push({ op: op.operationId, why: 'hang', request: describeRequest(r) });
          } else {
            // The client library refused to build the request: not the server's fault, but counted.
            tally.unsendable++;
          }
          return;
        }
        tally.cases++;
        const cls = `${Math.floor(a.status / 100)}xx`;
        tally.byClass[cls] = (tally.byClass[cls] ?? 0) + 1;
        const why = contractViolation(a);
        if (why) {
          tally.violations.push({
            op: `${op.method} ${op.path}`,
            why: `${why}: ${a.body.toString('utf8').slice(0, 200)}`,
            request: describeRequest(r),
          });
        }
        if (tally.cases % 250 === 0) {
          healthChecks++;
          const h = await send(app, { method: 'GET', url: '/healthz' });
          if (h.status !== 200)
            tally.violations.push({ op: 'healthz', why: `status ${h.status}`, request: '' });
        }
      };

      for (const [i, op] of ops.entries()) {
        const samples = fc.sample(requestArb(op, known, { hugeBodies: true }), {
          numRuns: perRoute,
          seed: SEED + i,
        });
        for (const r of samples) await check(op, r);
      }

      const health = await send(app, { method: 'GET', url: '/healthz' });
      const ready = await send(app, { method: 'GET', url: '/readyz' });
      const fivexx = tally.violations.filter((v) => v.why.startsWith('status 5')).length;
      const nonProblem = tally.violations.length - fivexx - tally.hangs;
      figure('fuzz', {
        routes: ops.length,
        cases: tally.cases,
        '5xx': fivexx,
        crashes: health.status === 200 && ready.status === 200 ? 0 : 1,
        hangs: tally.hangs,
        'non-problem-4xx': nonProblem,
        unsendable: tally.unsendable,
        classes: JSON.stringify(tally.byClass).replaceAll('"', ''),
        health_checks: healthChecks,
        seconds: Math.round((Date.now() - started) / 1000),
        seed: SEED,
      });
      // One example per (route, kind of failure), enough to reproduce each.
      const seen = new Set<string>();
      const examples = tally.violations.filter((v) => {
        const key = `${v.op} ${v.why.slice(0, 40)}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      for (const v of examples.slice(0, 30)) console.log(`VIOLATION ${v.op}: ${v.why}\n  ${v.request}`);

      expect(health.status, 'the app still answers /healthz').toBe(200);
      expect(ready.status, 'the app still answers /readyz').toBe(200);
      expect(tally.cases).toBeGreaterThanOrEqual(CASES);
      expect(examples.map((v) => `${v.op}: ${v.why.slice(0, 120)}`)).toEqual([]);
    },
    bySize({ short: 180_000, full: 1_800_000 }),
  );
});
