/**
 * The last two minutes of traffic, per module, kept in memory so that a dashboard opened now shows
 * history at once instead of an empty chart: once a second the process's own counters are read and
 * the differences since the previous second are pushed into a ring buffer of WINDOW slots.
 *
 * Two kinds of load per module:
 * - served: API requests the module answered (the request-duration histogram, by route; a route's module
 *   is its OpenAPI tag), with the 4xx and 5xx among them;
 * - generated: requests the module sends itself, from its `telelab_<module>_requests_total` counter
 *   (the latency module's load against its targets).
 * Cost: one read of the registry per second; a request pays nothing extra.
 */
import { Type } from 'typebox';
import type { App } from './http/server';
import type { Metrics } from './metrics';

const DURATION = 'http_request_duration_seconds';
const GENERATED = /^telelab_([a-z0-9]+)_requests_total$/;

export interface ModuleLoad {
  served: number[];
  client_errors: number[];
  server_errors: number[];
  generated: number[];
}

export interface RecentRates {
  interval_seconds: number;
  window_seconds: number;
  /** End of each slot, Unix seconds; every series below has one value (requests per second) per slot. */
  t: number[];
  modules: Record<string, ModuleLoad>;
}

const Series = Type.Array(Type.Number());
export const RecentRatesSchema = Type.Object({
  interval_seconds: Type.Number(),
  window_seconds: Type.Number(),
  t: Type.Array(Type.Number(), { description: 'End of each slot, Unix seconds' }),
  modules: Type.Record(
    Type.String(),
    Type.Object({
      served: Series,
      client_errors: Series,
      server_errors: Series,
      generated: Series,
    }),
    { description: 'Requests per second in each slot, by module' },
  ),
});

type Counts = Map<string, number>;
const KINDS = ['served', 'client_errors', 'server_errors', 'generated'] as const;

export function createRecentRates(
  registry: Metrics,
  opts: { windowSlots?: number; intervalMs?: number } = {},
) {
  const slots = opts.windowSlots ?? 120;
  const intervalMs = opts.intervalMs ?? 1000;
  const moduleOfRoute = new Map<string, string>();
  const t: number[] = [];
  const history: Counts[] = [];
  let previous: { at: number; counts: Counts } | null = null;

  /** Cumulative counts keyed `module|kind`. */
  async function read(): Promise<Counts> {
    const counts: Counts = new Map();
    const add = (key: string, n: number) => counts.set(key, (counts.get(key) ?? 0) + n);
    for (const { name } of registry.getMetricsAsArray()) {
      const generated = GENERATED.exec(name);
      const metric = name === DURATION || generated ? registry.getSingleMetric(name) : undefined;
      if (!metric) continue;
      for (const v of (await metric.get()).values) {
        if (generated) {
          add(`${generated[1]}|generated`, v.value);
          continue;
        }
        if ((v as { metricName?: string }).metricName !== `${DURATION}_count`) continue;
        const module = moduleOfRoute.get(String(v.labels.route)) ?? 'platform';
        const status = Number(v.labels.status_code);
        add(`${module}|served`, v.value);
        if (status >= 400 && status < 500) add(`${module}|client_errors`, v.value);
        if (status >= 500) add(`${module}|server_errors`, v.value);
      }
    }
    return counts;
  }

  return {
    /** The module of a route, as its OpenAPI tag says (called for every route as it is added). */
    addRoute(url: string, tags: readonly string[] | undefined) {
      if (tags?.[0]) moduleOfRoute.set(url, tags[0]);
    },

    /** Reads the counters at `nowMs` and closes one slot (the first call only sets the baseline). */
    async sample(nowMs: number): Promise<void> {
      const counts = await read();
      const before = previous;
      previous = { at: nowMs, counts };
      if (!before || nowMs <= before.at) return;
      const seconds = (nowMs - before.at) / 1000;
      const slot: Counts = new Map();
      for (const [key, value] of counts) {
        const delta = value - (before.counts.get(key) ?? 0);
        slot.set(key, Math.round((Math.max(0, delta) / seconds) * 100) / 100);
      }
      t.push(nowMs / 1000);
      history.push(slot);
      if (t.length > slots) {
        t.shift();
        history.shift();
      }
    },

    snapshot(): RecentRates {
      const modules: Record<string, ModuleLoad> = {};
      const names = new Set(history.flatMap((slot) => [...slot.keys()].map((k) => k.split('|')[0]!)));
      for (const name of [...names].sort()) {
        const load = {} as ModuleLoad;
        for (const kind of KINDS) load[kind] = history.map((slot) => slot.get(`${name}|${kind}`) ?? 0);
        modules[name] = load;
      }
      return {
        interval_seconds: intervalMs / 1000,
        window_seconds: (slots * intervalMs) / 1000,
        t: [...t],
        modules,
      };
    },

    intervalMs,
  };
}

/**
 * GET /metrics/recent, sampled once a second while the server runs. Must be called before the modules'
 * routes are added, so that every route's module is known.
 */
export function registerRecentRates(app: App, registry: Metrics): void {
  const recent = createRecentRates(registry);
  app.addHook('onRoute', (route) => {
    const tags = (route.schema as { tags?: string[] } | undefined)?.tags;
    recent.addRoute(route.url, tags);
  });
  let timer: NodeJS.Timeout | null = null;
  app.addHook('onReady', async () => {
    await recent.sample(Date.now());
    timer = setInterval(() => {
      recent.sample(Date.now()).catch((err) => app.log.warn({ err }, 'recent rates: sample failed'));
    }, recent.intervalMs);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
  });
  app.get(
    '/metrics/recent',
    {
      schema: {
        operationId: 'platformRecentRates',
        tags: ['platform'],
        summary: 'Requests per second by module over the last 2 minutes (this process), one slot a second',
        description:
          '`served`: API requests the module answered (with the 4xx and 5xx among them); `generated`: ' +
          'requests the module sends itself (the latency module against its targets).',
        response: { 200: RecentRatesSchema },
      },
    },
    async () => recent.snapshot(),
  );
}
