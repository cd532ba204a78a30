// The invocation's status counters (n_pending … n_failed) and its aggregated status, moved with
// every record transition, so the aggregated status is a column SQL can filter and page on; and the
// ended-listeners, told once a transaction that ended executions has committed.
import { sql } from 'kysely';
import { appendTo } from '../shared/index.js';
import type { Db, InvocationTable } from '../store/index.js';
import type { InvocationContext } from './invocation-context.js';
import {
  type ExecutionStatus,
  invocationStatusOf,
  isFinal,
  recordStatus,
  type RecordStatus,
  type StatusCounts,
} from './invocation-status.js';

/** A record moving from one status to another, for the counters and the ended listeners. */
export interface Transition {
  invokeId: string;
  instanceId: string;
  from: string;
  to: string;
}

const COUNTER: Record<RecordStatus, keyof InvocationTable & `n_${string}`> = {
  Pending: 'n_pending',
  Scheduled: 'n_scheduled',
  Running: 'n_running',
  Stopping: 'n_stopping',
  Stopped: 'n_stopped',
  Finished: 'n_finished',
  Failed: 'n_failed',
};

const countsOf = (r: Pick<InvocationTable, `n_${string}` & keyof InvocationTable>): StatusCounts => ({
  Pending: r.n_pending,
  Scheduled: r.n_scheduled,
  Running: r.n_running,
  Stopping: r.n_stopping,
  Stopped: r.n_stopped,
  Finished: r.n_finished,
  Failed: r.n_failed,
});

/**
 * Moves the invocation counters for record transitions (all of one invocation) and stores the
 * aggregated status they imply. Call inside the transaction that changed the records.
 */
export async function countMoves(tx: Db, invokeId: string, moves: readonly Transition[]): Promise<void> {
  const delta = new Map<RecordStatus, number>();
  for (const m of moves) {
    const from = recordStatus(m.from as ExecutionStatus);
    const to = recordStatus(m.to as ExecutionStatus);
    if (from !== to) {
      delta.set(from, (delta.get(from) ?? 0) - 1);
      delta.set(to, (delta.get(to) ?? 0) + 1);
    }
  }
  const set: Record<string, ReturnType<typeof sql>> = {};
  for (const [s, n] of delta) {
    if (n !== 0) {
      set[COUNTER[s]] = sql`${sql.ref(COUNTER[s])} + ${n}`;
    }
  }
  if (Object.keys(set).length === 0) {
    return;
  }
  const row = await tx
    .updateTable('invocations')
    .set(set)
    .where('invoke_id', '=', invokeId)
    .returning(['n_pending', 'n_scheduled', 'n_running', 'n_stopping', 'n_stopped', 'n_finished', 'n_failed'])
    .executeTakeFirstOrThrow();
  await tx
    .updateTable('invocations')
    .set({ status: invocationStatusOf(countsOf(row)) })
    .where('invoke_id', '=', invokeId)
    .execute();
}

/** countMoves for transitions of any number of invocations. */
export async function countAllMoves(tx: Db, moves: readonly Transition[]): Promise<void> {
  const byInvocation = new Map<string, Transition[]>();
  for (const m of moves) {
    appendTo(byInvocation, m.invokeId, m);
  }
  for (const [invokeId, ms] of byInvocation) {
    await countMoves(tx, invokeId, ms);
  }
}

/** Tells the ended-listeners of transitions into a final status; call after the commit. */
export function announceEnded(ctx: InvocationContext, moves: readonly Transition[]): void {
  for (const m of moves) {
    if (isFinal(m.to) && !isFinal(m.from)) {
      for (const l of ctx.endedListeners) {
        l({ invokeId: m.invokeId, instanceId: m.instanceId, status: m.to as ExecutionStatus });
      }
    }
  }
}
