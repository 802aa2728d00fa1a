/**
 * Groups of experiments run together: created with their experiments, managed as one (every member
 * that can make the transition makes it), grown and shrunk while they run, and measured together.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../platform/db';
import { conflict, notFound } from '../../platform/errors';
import type { Clock } from '../../platform/module';
import type { ExperimentsService } from './experiments.service';
import type { ExperimentsStore } from './experiments.store';
import type { GroupsStore } from './groups.store';
import { type GroupStats, groupState, groupStats } from './live-stats';
import {
  type Action,
  type Experiment,
  type ExperimentSettings,
  type ExperimentSpec,
  type ExperimentState,
  type Group,
  TRANSITIONS,
} from './model';
import { emptySummary } from './summary';

export interface GroupsServiceDeps {
  db: Pick<Db, 'transaction'>;
  groups: GroupsStore;
  experiments: ExperimentsStore;
  service: Pick<ExperimentsService, 'prepare' | 'transition' | 'manage'>;
  clock: Clock;
}

export interface GroupView {
  group: Group;
  members: Experiment[];
  state: ExperimentState;
}

const groupNotFound = (id: string) => notFound('LATENCY_GROUP_NOT_FOUND', `group_id: no group '${id}'`);

export function createGroupsService(deps: GroupsServiceDeps) {
  const { groups, experiments, service } = deps;

  async function view(id: string): Promise<GroupView> {
    const group = await groups.get(id);
    if (!group) throw groupNotFound(id);
    const members = await experiments.getMany(group.experimentIds);
    return { group, members, state: groupState(group, members) };
  }

  return {
    view,

    /** All or nothing: every experiment is checked before any is stored. */
    async create(name: string, specs: ExperimentSpec[]): Promise<GroupView> {
      const settings: ExperimentSettings[] = [];
      for (const [i, spec] of specs.entries())
        settings.push(await service.prepare(spec, `experiments[${i}].`));
      const id = randomUUID();
      await deps.db.transaction(async (tx) => {
        await groups.insert(id, name, tx);
        for (const [i, spec] of specs.entries()) {
          const e = await experiments.insert(
            { id: randomUUID(), name: spec.name, settings: settings[i]!, summary: emptySummary() },
            tx,
          );
          await groups.addMember(id, e.id, tx);
        }
      });
      return view(id);
    },

    async list(): Promise<GroupView[]> {
      const all = await groups.list();
      const members = await experiments.getMany(all.flatMap((g) => g.experimentIds));
      const byId = new Map(members.map((m) => [m.id, m]));
      return all.map((group) => {
        const own = group.experimentIds.flatMap((id) => byId.get(id) ?? []);
        return { group, members: own, state: groupState(group, own) };
      });
    },

    /**
     * start | pause | stop for the group and, together, every member that can make that transition
     * (a member already finished, or already in the target state, is left as it is).
     */
    async manage(id: string, action: Action): Promise<GroupView> {
      const before = await view(id);
      const to = TRANSITIONS[action][before.state];
      if (!to) {
        throw conflict(
          'LATENCY_TRANSITION_NOT_ALLOWED',
          `state: cannot ${action} a group that is ${before.state}`,
        );
      }
      await groups.setState(id, to);
      for (const member of before.members) {
        if (TRANSITIONS[action][member.state]) await service.transition(member, action);
      }
      return view(id);
    },

    /** A new experiment in the group; it starts at once when the group is running. */
    async addExperiment(groupId: string, spec: ExperimentSpec): Promise<Experiment> {
      const before = await view(groupId);
      const settings = await service.prepare(spec);
      const experimentId = randomUUID();
      await deps.db.transaction(async (tx) => {
        await experiments.insert(
          { id: experimentId, name: spec.name, settings, summary: emptySummary() },
          tx,
        );
        await groups.addMember(groupId, experimentId, tx);
      });
      if (before.state === 'running') return service.manage(experimentId, 'start');
      return (await experiments.get(experimentId))!;
    },

    /** Leaves the group; the experiment itself, its run and its results stay. */
    async removeExperiment(groupId: string, experimentId: string): Promise<void> {
      await view(groupId);
      if (!(await groups.removeMember(groupId, experimentId))) {
        throw notFound(
          'LATENCY_NOT_A_MEMBER',
          `experiment_id: '${experimentId}' is not in group '${groupId}'`,
        );
      }
    },

    async stats(id: string): Promise<GroupStats & { rate: number }> {
      const { group, members } = await view(id);
      const last = await experiments.lastSeconds(members.map((m) => m.id));
      const stats = groupStats(group, members, last, new Date(deps.clock.now()));
      return { ...stats, rate: groupRate(members, stats) };
    },
  };
}

/**
 * Requests per second of the whole group over the last second: the sum of its running members' rates
 * (a member that is not running sends nothing now, whatever its last recorded second says).
 */
function groupRate(members: Experiment[], stats: GroupStats): number {
  let sum = 0;
  for (const m of members) if (m.state === 'running') sum += stats.experimentsStats[m.id]?.rate ?? 0;
  return Math.round(sum * 100) / 100;
}

export type GroupsService = ReturnType<typeof createGroupsService>;
