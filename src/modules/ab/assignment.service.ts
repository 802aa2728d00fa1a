/**
 * Answers `GET /api/v1/experiments`: a device's experiments and values, fixed at its first request.
 *
 * Returning devices come from a bounded in-process LRU of serialized answers. An answer can only change
 * when an experiment the device is in is deleted: stopping keeps values, a weight change applies to later
 * devices only, and a new experiment never takes a device already seen. A delete bumps the database's
 * answers epoch; this process clears its cache at once, other processes within EPOCH_POLL_MS. An answer
 * read while the epoch moved is not cached, so a read racing a delete cannot put a stale entry back.
 *
 * Cache misses are resolved in micro-batches (BatchWriter; see assignment.store.ts), and concurrent
 * first requests for one token in this process share one promise; across processes the unique token
 * decides (INSERT ... ON CONFLICT DO NOTHING, the loser reads the winner's committed row).
 */
import { BatchWriter } from '../../platform/batch-writer';
import { unavailable } from '../../platform/errors';
import type { BatchSettings } from '../../platform/ingest';
import type { Clock } from '../../platform/module';
import type { AssignmentStore, NewDevice } from './assignment.store';
import { LruCache } from './lru';
import { type DeviceRecord, type ExplainItem, type Explanation, takesNewDevice } from './model';

/** How often a process checks whether another process deleted an experiment. */
const EPOCH_POLL_MS = 1000;

export interface AssignmentServiceDeps {
  store: AssignmentStore;
  clock: Clock;
  cacheSize: number;
  batch: BatchSettings;
  observe?: AssignmentObserver;
}

export interface AssignmentObserver {
  cacheHit(): void;
  cacheMiss(): void;
  devicesEntered(n: number): void;
}

/**
 * The answer as devices receive it, `[{"button_color": "#FF0000"}, {"price": 10}]`, serialized once: the
 * cache keeps this text, so a returning device costs no serialization.
 */
function answerJson(record: DeviceRecord): string {
  return JSON.stringify(record.values.map((v) => ({ [v.name]: v.value })));
}

export type AssignmentService = ReturnType<typeof createAssignmentService>;

export function createAssignmentService(deps: AssignmentServiceDeps) {
  const { store, clock } = deps;
  const cache = new LruCache<string, string>(deps.cacheSize);
  const inflight = new Map<string, Promise<string>>();
  let epoch = 0;
  let poller: NodeJS.Timeout | null = null;

  // Cache misses are resolved in micro-batches: one read for the whole batch and, for the devices not
  // found, one transaction that records and assigns them. Per-request queries would cost a round trip
  // each (on PGlite a turn of its single connection).
  const lookups = new BatchWriter<NewDevice, DeviceRecord | null>({
    name: 'ab device lookups',
    flush: async (rows) => {
      const { records, entered } = await store.resolve(rows);
      if (entered > 0) deps.observe?.devicesEntered(entered);
      return records;
    },
    ...deps.batch,
  });

  // The epoch only grows; an older value from a slow poll must not clear the cache again.
  function setEpoch(next: number): void {
    if (next <= epoch) return;
    epoch = next;
    cache.clear();
  }

  async function resolve(token: string): Promise<string> {
    const epochAtStart = epoch;
    const firstSeenAt = new Date(clock.now());
    const record = await lookups.write({ token, firstSeenAt });
    if (!record) {
      // Only possible if the device row vanished between its insert and this read.
      throw unavailable('AB_DEVICE_NOT_RECORDED', 'The device could not be recorded; retry');
    }
    const json = answerJson(record);
    if (epoch === epochAtStart) cache.set(token, json);
    return json;
  }

  /** The cached answer of a returning device, without touching the database. */
  function cached(token: string): string | undefined {
    const hit = cache.get(token);
    if (hit !== undefined) deps.observe?.cacheHit();
    return hit;
  }

  return {
    cached,

    /** The device's answer as JSON text; records the device and assigns it on its first request. */
    answer(token: string): Promise<string> {
      const hit = cached(token);
      if (hit !== undefined) return Promise.resolve(hit);
      deps.observe?.cacheMiss();
      let pending = inflight.get(token);
      if (!pending) {
        pending = resolve(token).finally(() => inflight.delete(token));
        inflight.set(token, pending);
      }
      return pending;
    },

    /** Why a device has (or would get) each experiment; never records the device. */
    async explain(token: string): Promise<Explanation> {
      const { firstSeenAt, experiments } = await store.explain(token);
      const iso = (d: Date) => d.toISOString();
      const items = experiments.map((e): ExplainItem => {
        const base = { name: e.name, participating: false, value: null, assignment: null };
        if (e.assigned) {
          const slot = e.assigned.k % e.assigned.deckSize;
          return {
            ...base,
            participating: true,
            value: e.values[e.assigned.option]!,
            reason: 'assigned',
            detail:
              `entered when first seen: device #${e.assigned.k} of deck version ${e.assigned.version}, ` +
              `slot ${slot} of ${e.assigned.deckSize}`,
            assignment: { version: e.assigned.version, k: e.assigned.k, slot, option: e.assigned.option },
          };
        }
        if (!firstSeenAt) {
          return e.stoppedAt
            ? { ...base, reason: 'stopped', detail: `stopped at ${iso(e.stoppedAt)}; takes no new devices` }
            : { ...base, reason: 'would_enter', detail: 'device not seen yet: its first request enters it' };
        }
        if (e.startedAt > firstSeenAt) {
          return {
            ...base,
            reason: 'started_after_first_seen',
            detail: `started at ${iso(e.startedAt)}, after the device was first seen at ${iso(firstSeenAt)}; experiments take new devices only`,
          };
        }
        if (e.stoppedAt && !takesNewDevice(e, firstSeenAt)) {
          return {
            ...base,
            reason: 'stopped_before_first_seen',
            detail: `stopped at ${iso(e.stoppedAt)}, before the device was first seen at ${iso(firstSeenAt)}`,
          };
        }
        return { ...base, reason: 'not_recorded', detail: 'eligible by time, but no assignment is recorded' };
      });
      return { known: firstSeenAt !== null, firstSeenAt, experiments: items };
    },

    /** An admin change altered given answers (see the file comment); `next` is the new epoch. */
    answersChanged(next: number): void {
      setEpoch(next);
    },

    get cacheSize(): number {
      return cache.size;
    },

    async start(): Promise<void> {
      setEpoch(await store.epoch());
      poller = setInterval(() => {
        store.epoch().then(setEpoch, () => {
          // The database is unreachable: requests report it; keep polling.
        });
      }, EPOCH_POLL_MS);
      poller.unref();
    },

    async stop(): Promise<void> {
      if (poller) clearInterval(poller);
      poller = null;
      await lookups.close();
    },
  };
}
