import { useState } from 'react';
import { api, withQuery } from '../../api';
import { type Column, DataTable } from '../../components/DataTable';
import { Card, ErrorMessage } from '../../components/ui';
import { fmtMs, fmtNum, fmtPct, fmtSig } from '../../format';
import { usePollApi } from '../../hooks';
import { CreateGroup } from './LatencyForms';
import { type Action, canManage } from './states';
import type { Group, GroupStats, LiveStats } from './types';

/** A measure's label and how to read it from one member's stats or the group's. */
type Measure = [string, (o: Partial<LiveStats> & Partial<GroupStats>) => string];

/** Groups: the same load against several targets, members side by side with merged totals. */
export function Groups() {
  const groups = usePollApi<Group[]>('/list_groups', 5000);
  const [selected, setSelected] = useState('');
  const all = groups.data ?? [];
  const current = selected || all[all.length - 1]?.id || '';
  const stats = usePollApi<GroupStats>(
    current ? withQuery('/group_stats', { group_id: current }) : null,
    1000,
  );
  const [error, setError] = useState<unknown>(null);

  const manage = async (to: Action) => {
    setError(null);
    try {
      await api(withQuery('/manage_group', { state: to, group_id: current }), { method: 'POST' });
      stats.refresh();
    } catch (e) {
      setError(e);
    }
  };

  const g = stats.data;
  const members = Object.entries(g?.experiments_stats ?? {});
  // As the experiment's buttons: only what the group's state allows (no control until the selected
  // group's stats arrive). A group without members does not start (the server answers 409).
  const allowed = (to: Action) =>
    g?.group_id === current && canManage(g.state, to) && (to !== 'start' || members.length > 0);
  const rows: Measure[] = [
    ['State', (o) => o.state ?? '—'],
    ['Requests', (o) => fmtNum(o.total_requests)],
    ['Req/s', (o) => fmtSig(o.rate)],
    ['Success', (o) => fmtPct(o.success_rate)],
    ['Mean', (o) => fmtMs(o.average_latency)],
    ['p50', (o) => fmtMs(o.p50)],
    ['p90', (o) => fmtMs(o.p90)],
    ['p99', (o) => fmtMs(o.p99)],
  ];
  // Read across: a row per measure, a column per member, then the merged totals.
  const columns: Column<Measure>[] = [
    { head: '', rowHeader: true, cell: ([label]) => label },
    ...members.map(
      ([mid, m]): Column<Measure> => ({ key: mid, head: m.name, num: true, cell: ([, get]) => get(m) }),
    ),
    { head: 'Whole group', num: true, cell: ([, get]) => (g ? get(g) : '—') },
  ];
  return (
    <Card
      title="Group comparison"
      actions={
        current ? (
          <>
            <button
              type="button"
              disabled={!allowed('start')}
              onClick={() => manage('start')}
              aria-label="Start every experiment of the group"
            >
              Start all
            </button>
            <button
              type="button"
              disabled={!allowed('pause')}
              onClick={() => manage('pause')}
              aria-label="Pause every experiment of the group"
            >
              Pause all
            </button>
            <button
              type="button"
              className="danger"
              disabled={!allowed('stop')}
              onClick={() => manage('stop')}
              aria-label="Stop every experiment of the group"
            >
              Stop all
            </button>
          </>
        ) : null
      }
    >
      <ErrorMessage error={groups.error} what="Groups" />
      {all.length > 0 && (
        <>
          <label className="field">
            Group
            <select value={current} onChange={(e) => setSelected(e.target.value)}>
              {all.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name} ({x.state})
                </option>
              ))}
            </select>
          </label>
          <ErrorMessage error={error} what="Group control" />
          <ErrorMessage error={stats.error} what="Group stats" />
          <DataTable
            label="Group members side by side"
            columns={columns}
            rows={rows}
            rowKey={([label]) => label}
          />
        </>
      )}
      <CreateGroup
        onCreated={(id) => {
          setSelected(id);
          groups.refresh();
        }}
      />
    </Card>
  );
}

/** One experiment per target with the same profiles: the seed's way to compare targets. */
