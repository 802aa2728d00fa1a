/**
 * SQL of the decisions: one row per decision time, its delivery, the listing and the status points the
 * history is built from. Rows become domain objects here: Dates, numbers, NaN for a missing window
 * statistic (SQL NULL), which is what decide() expects.
 */
import type { Db, Queryable } from '../../platform/db';
import type {
  ControlStatus,
  CusumRecord,
  DecisionQuery,
  DecisionReason,
  DeliveryOutcome,
  DetectorName,
  StatusPoint,
  StoredDecision,
} from './model';
import { num } from './readings.store';

interface DecisionRow {
  decided_at: Date;
  made_at: Date;
  prev_start: Date;
  prev_end: Date;
  prev_n: number;
  prev_mean: number | null;
  prev_std: number | null;
  curr_start: Date;
  curr_end: Date;
  curr_n: number;
  curr_mean: number | null;
  curr_std: number | null;
  t: number | null;
  df: number | null;
  p: number | null;
  previous_status: ControlStatus;
  status: ControlStatus;
  changed: boolean;
  reason: DecisionReason;
  detail: string;
  since_change: number | null;
  missed: number;
  delivered: boolean | null;
  delivery: DeliveryOutcome | null;
  delivery_error: string | null;
  leader_id: string;
  detector: DetectorName;
  cusum: CusumRecord | string | null;
}

const nullable = (v: number | string | null): number | null => (v === null ? null : Number(v));
const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);

const toDecision = (r: DecisionRow): StoredDecision => ({
  decidedAt: r.decided_at,
  madeAt: r.made_at,
  prev: {
    n: Number(r.prev_n),
    mean: num(r.prev_mean),
    std: num(r.prev_std),
    start: r.prev_start,
    end: r.prev_end,
  },
  curr: {
    n: Number(r.curr_n),
    mean: num(r.curr_mean),
    std: num(r.curr_std),
    start: r.curr_start,
    end: r.curr_end,
  },
  t: nullable(r.t),
  df: nullable(r.df),
  p: nullable(r.p),
  previousStatus: r.previous_status,
  status: r.status,
  changed: r.changed,
  reason: r.reason,
  detail: r.detail,
  sinceChange: r.since_change === null ? null : Number(r.since_change),
  missed: Number(r.missed),
  delivered: r.delivered,
  // Rows from before the column existed only knew delivered or not (always acknowledged then).
  delivery: r.delivery ?? (r.delivered === null ? 'pending' : r.delivered ? 'acknowledged' : 'failed'),
  deliveryError: r.delivery_error,
  leaderId: r.leader_id,
  detector: r.detector,
  cusum: typeof r.cusum === 'string' ? (JSON.parse(r.cusum) as CusumRecord) : r.cusum,
});

const DECISION_COLUMNS = `decided_at, made_at, prev_start, prev_end, prev_n, prev_mean, prev_std,
  curr_start, curr_end, curr_n, curr_mean, curr_std, t, df, p, previous_status, status, changed, reason,
  detail, since_change, missed, delivered, delivery_error, leader_id, delivery, detector, cusum`;

export function createDecisionsStore(db: Pick<Db, 'query'>) {
  return {
    /** The decision in force just before `at` (decided_at < at), if any. */
    async decisionBefore(at: Date): Promise<StoredDecision | null> {
      const rows = await db.query<DecisionRow>(
        `SELECT ${DECISION_COLUMNS} FROM control.decisions WHERE decided_at < $1 ORDER BY decided_at DESC LIMIT 1`,
        [at.toISOString()],
      );
      return rows[0] ? toDecision(rows[0]) : null;
    },

    async lastDecision(tx: Queryable = db): Promise<StoredDecision | null> {
      const rows = await tx.query<DecisionRow>(
        `SELECT ${DECISION_COLUMNS} FROM control.decisions ORDER BY decided_at DESC LIMIT 1`,
      );
      return rows[0] ? toDecision(rows[0]) : null;
    },

    /** Inserts unless a decision for that time exists (another leader got there); true when inserted. */
    async insertDecision(d: StoredDecision, tx: Queryable = db): Promise<boolean> {
      const rows = await tx.query(
        `INSERT INTO control.decisions (${DECISION_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                 $21, $22, $23, $24, $25, $26, $27, $28::jsonb)
         ON CONFLICT (decided_at) DO NOTHING
         RETURNING decided_at`,
        [
          d.decidedAt.toISOString(),
          d.madeAt.toISOString(),
          d.prev.start.toISOString(),
          d.prev.end.toISOString(),
          d.prev.n,
          orNull(d.prev.mean),
          orNull(d.prev.std),
          d.curr.start.toISOString(),
          d.curr.end.toISOString(),
          d.curr.n,
          orNull(d.curr.mean),
          orNull(d.curr.std),
          d.t === null ? null : String(d.t), // 'Infinity' survives as text; a JS Infinity param would not
          d.df,
          d.p,
          d.previousStatus,
          d.status,
          d.changed,
          d.reason,
          d.detail,
          d.sinceChange,
          d.missed,
          d.delivered,
          d.deliveryError,
          d.leaderId,
          d.delivery === 'pending' || d.delivery === 'not_sent' ? null : d.delivery,
          d.detector,
          d.cusum === null ? null : JSON.stringify(d.cusum),
        ],
      );
      return rows.length > 0;
    },

    async recordDelivery(decidedAt: Date, outcome: DeliveryOutcome, error: string | null): Promise<void> {
      await db.query(
        'UPDATE control.decisions SET delivered = $2, delivery = $3, delivery_error = $4 WHERE decided_at = $1',
        [decidedAt.toISOString(), outcome !== 'failed', outcome, error],
      );
    },

    /** Decisions with after < decided_at < before (either optional). */
    async listDecisions(q: DecisionQuery): Promise<StoredDecision[]> {
      const rows = await db.query<DecisionRow>(
        `SELECT ${DECISION_COLUMNS} FROM control.decisions
         WHERE ($1::timestamptz IS NULL OR decided_at > $1) AND ($2::timestamptz IS NULL OR decided_at < $2)
         ORDER BY decided_at ${q.order === 'asc' ? 'ASC' : 'DESC'}
         LIMIT $3`,
        [q.after?.toISOString() ?? null, q.before?.toISOString() ?? null, q.limit],
      );
      return rows.map(toDecision);
    },

    /**
     * What buildHistory needs for [after, before): the decision in force at `after`, the first decision
     * after it (the start when nothing was in force yet) and every status change in between. Three index
     * probes, however many decisions the range holds.
     */
    async statusPoints(after: Date | undefined, before: Date): Promise<StatusPoint[]> {
      const rows = await db.query<{ decided_at: Date; status: ControlStatus }>(
        `(SELECT decided_at, status FROM control.decisions
          WHERE $1::timestamptz IS NOT NULL AND decided_at <= $1 ORDER BY decided_at DESC LIMIT 1)
         UNION ALL
         (SELECT decided_at, status FROM control.decisions
          WHERE ($1::timestamptz IS NULL OR decided_at > $1) AND decided_at < $2
          ORDER BY decided_at LIMIT 1)
         UNION ALL
         (SELECT decided_at, status FROM control.decisions
          WHERE changed AND ($1::timestamptz IS NULL OR decided_at > $1) AND decided_at < $2
          ORDER BY decided_at)`,
        [after?.toISOString() ?? null, before.toISOString()],
      );
      return rows
        .map((r) => ({ at: r.decided_at, status: r.status }))
        .sort((a, b) => a.at.getTime() - b.at.getTime());
    },
  };
}

export type DecisionsStore = ReturnType<typeof createDecisionsStore>;
