/** Every latency route, at the root and under /api where the original service mounted them. */
import type { App } from '../../../platform/http/server';
import type { CompareService } from '../compare';
import type { ExperimentsService } from '../experiments.service';
import type { GroupsService } from '../groups.service';
import { compareRoutes } from './compare.routes';
import { experimentsRoutes } from './experiments.routes';
import { groupsRoutes } from './groups.routes';

/** The routes at the root, as documented, and under /api, where the original mounted them. */
const PREFIXES = ['', '/api'];

export async function registerLatencyRoutes(
  app: App,
  services: { experiments: ExperimentsService; groups: GroupsService; compare: CompareService },
): Promise<void> {
  for (const prefix of PREFIXES) {
    await app.register(
      async (scope) => {
        experimentsRoutes(scope as App, services.experiments, { prefix });
        groupsRoutes(scope as App, services.groups, { prefix });
        compareRoutes(scope as App, services.compare, { prefix });
      },
      { prefix },
    );
  }
}
