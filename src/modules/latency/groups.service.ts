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
  isFinal,
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
     * (a member already finished, or already in the target state, is left as it is). A group without
     * members does not start: it would stay running with nothing running.
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
      if (to === 'running' && before.members.length === 0) {
        throw conflict(
          'LATENCY_GROUP_EMPTY',
          'group_id: the group has no experiments; add one with POST /add_experiment_to_group',
        );
      }
      await groups.setState(id, to);
      for (const member of before.members) {
        if (TRANSITIONS[action][member.state]) await service.transition(member, action);
      }
      return view(id);
    },

    /**
     * A new experiment in a created, running or paused group; it starts at once when the group is
     * running. A stopped or completed group never starts again, so a member added there would never run.
     */
    async addExperiment(groupId: string, spec: ExperimentSpec): Promise<Experiment> {
      const before = await view(groupId);
      if (isFinal(before.state)) {
        throw conflict(
          'LATENCY_GROUP_FINISHED',
          `group_id: the group is ${before.state} and takes no new experiments; create a new group`,
        );
      }
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

/** Requests per second of the whole group over the last second: the sum of its members' (0 unless running). */
function groupRate(members: Experiment[], stats: GroupStats): number {
  let sum = 0;
  for (const m of members) sum += stats.experimentsStats[m.id]?.rate ?? 0;
  return Math.round(sum * 100) / 100;
}

export type GroupsService = ReturnType<typeof createGroupsService>;
