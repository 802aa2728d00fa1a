import { LoadOptionsError } from './errors';
import { Http1Pool } from './http1';
import { resolveTarget } from './transport';
import {
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_TIMEOUT_MS,
  type LoadModel,
  type LoadOptions,
  type LoadStage,
} from './types';

/** What a run needs from its options: defaults applied, the target resolved, the client built. */
export interface RunSettings {
  model: LoadModel;
  stages: LoadStage[];
  timeoutMs: number;
  maxInFlight: number;
  /** `success[status] === 1`: the status counts as a success. */
  success: Uint8Array;
  /** No socket is open yet: connections open on the first requests. */
  pool: Http1Pool;
}

function validate(opts: LoadOptions): void {
  if (!Array.isArray(opts.stages) || opts.stages.length === 0)
    throw new LoadOptionsError('at least one stage is required');
  const open = opts.model === 'arrival-rate';
  opts.stages.forEach((s, i) => {
    if (!Number.isInteger(s.users) || s.users < 0)
      throw new LoadOptionsError(`stages[${i}].users must be an integer >= 0`);
    if (!(s.durationSeconds > 0)) throw new LoadOptionsError(`stages[${i}].durationSeconds must be > 0`);
    if (!(s.intervalSeconds >= 0)) throw new LoadOptionsError(`stages[${i}].intervalSeconds must be >= 0`);
    if (open && !(s.intervalSeconds > 0))
      throw new LoadOptionsError(`stages[${i}].intervalSeconds must be > 0 for arrival-rate`);
  });
  const sa = opts.startAt;
  if (sa && !(Number.isInteger(sa.stageIndex) && sa.stageIndex >= 0 && sa.elapsedMs >= 0)) {
    throw new LoadOptionsError('startAt needs stageIndex >= 0 and elapsedMs >= 0');
  }
}

/** Throws a LoadOptionsError when the options cannot run. */
export function runSettings(opts: LoadOptions): RunSettings {
  validate(opts);
  const model = opts.model ?? 'closed';
  const stages = opts.stages.map((s) => ({ ...s }));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxInFlight = Math.max(1, opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  const success = new Uint8Array(1000);
  if (opts.successStatuses) for (const s of opts.successStatuses) success[s] = 1;
  else success.fill(1, 200, 300);

  const target = resolveTarget(opts.target);
  const pipelining = Math.max(1, opts.pipelining ?? 1);
  const maxUsers = Math.max(1, ...stages.map((s) => s.users));
  const connections =
    opts.connections ??
    (model === 'arrival-rate' ? Math.min(maxInFlight, 100) : Math.ceil(maxUsers / pipelining));
  let pool: Http1Pool;
  try {
    pool = new Http1Pool({
      origin: target.origin,
      request: target.request,
      connections,
      pipelining,
      timeoutMs,
      lookup: opts.lookup,
    });
  } catch (e) {
    throw new LoadOptionsError((e as Error).message);
  }
  return { model, stages, timeoutMs, maxInFlight, success, pool };
}
