/**
 * The contract between the composition root and a module. A module folder exposes one factory
 * `create<Name>Module(deps)` returning this; it never imports another module.
 */
import type { preHandlerAsyncHookHandler } from 'fastify';
import type { Config } from './config';
import type { Db } from './db';
import type { App } from './http/server';
import type { Jobs } from './jobs';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { MigrationSet } from './migrate';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface ModuleDeps {
  config: Config;
  db: Db;
  jobs: Jobs;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** preHandler for mutating admin routes (bearer token when TELELAB_API_TOKEN is set). */
  adminGuard: preHandlerAsyncHookHandler;
}

export interface StartContext {
  /** True in processes that do background work (serve, worker); false in API-only processes. */
  background: boolean;
}

export interface TelelabModule {
  name: string;
  migrations?: MigrationSet;
  routes?(app: App): Promise<void> | void;
  start?(ctx: StartContext): Promise<void>;
  /** Stop loops and flush writes; called before jobs and the database close. */
  stop?(): Promise<void>;
}

export type ModuleFactory = (deps: ModuleDeps) => TelelabModule;
