// The invocation's status counters (n_pending … n_failed) and its aggregated status, moved with
// every record transition, so the aggregated status is a column SQL can filter and page on; and the
// ended-listeners, told once a transaction that ended executions has committed.
import { sql } from 'kysely';
import type { Db, GroupCollector, InvocationTable } from '../store/index.js';
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

/** The columns that hold an invocation's record counts. */
export const COUNTER_COLUMNS = Object.values(COUNTER);

/** An invocation's records per record status, from its counters. */
export const countsOf = (r: Pick<InvocationTable, `n_${string}` & keyof InvocationTable>): StatusCounts => ({
  Pending: r.n_pending,
  Scheduled: r.n_scheduled,
  Running: r.n_running,
  Stopping: r.n_stopping,
  Stopped: r.n_stopped,
  Finished: r.n_finished,
  Failed: r.n_failed,
});

/** Counter changes not yet written: invocation → record status → how many records moved in (or out). */
export type CounterDeltas = Map<string, Map<RecordStatus, number>>;

/** Adds record transitions (of any invocations) to `deltas`. */
export function collectMoves(deltas: CounterDeltas, moves: readonly Transition[]): void {
  for (const m of moves) {
    const from = recordStatus(m.from as ExecutionStatus);
    const to = recordStatus(m.to as ExecutionStatus);
    if (from !== to) {
      let d = deltas.get(m.invokeId);
      if (d === undefined) {
        d = new Map();
        deltas.set(m.invokeId, d);
      }
      d.set(from, (d.get(from) ?? 0) - 1);
      d.set(to, (d.get(to) ?? 0) + 1);
    }
  }
}

/**
 * Moves each invocation's counters by its deltas and stores the aggregated status they imply. Call
 * inside the transaction that changed the records.
 */
export async function writeCounterDeltas(tx: Db, deltas: CounterDeltas): Promise<void> {
  // In id order: two groups committing at once lock the invocations they share in the same order.
  const ordered = [...deltas].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [invokeId, delta] of ordered) {
    const set: Record<string, ReturnType<typeof sql>> = {};
    for (const [s, n] of delta) {
      if (n !== 0) {
        set[COUNTER[s]] = sql`${sql.ref(COUNTER[s])} + ${n}`;
      }
    }
    if (Object.keys(set).length === 0) {
      continue;
    }
    // RETURNING gives the moved counters and the status as stored (this statement leaves it): most
    // moves of a fan-out keep it Running, and then the row (which every group of the fan-out must
    // lock in turn) is released at the commit without a second statement in between.
    const row = await tx
      .updateTable('invocations')
      .set(set)
      .where('invoke_id', '=', invokeId)
      .returning([
        'n_pending',
        'n_scheduled',
        'n_running',
        'n_stopping',
        'n_stopped',
        'n_finished',
        'n_failed',
        'status',
      ])
      .executeTakeFirstOrThrow();
    const status = invocationStatusOf(countsOf(row));
    if (status !== row.status) {
      await tx.updateTable('invocations').set({ status }).where('invoke_id', '=', invokeId).execute();
    }
  }
}

/**
 * The agents' grouped transactions leave the counters to the end of the group: a fan-out's
 * reports arrive together and all move the same invocation's row, which is then written once per
 * group instead of twice per report.
 */
export const COUNTER_COLLECTOR: GroupCollector<CounterDeltas> = {
  create: () => new Map(),
  merge(into, from) {
    for (const [invokeId, delta] of from) {
      const d = into.get(invokeId);
      if (d === undefined) {
        into.set(invokeId, delta);
        continue;
      }
      for (const [s, n] of delta) {
        d.set(s, (d.get(s) ?? 0) + n);
      }
    }
  },
  write: writeCounterDeltas,
};

/** Moves the counters for record transitions (all of one invocation) now. */
export async function countMoves(tx: Db, invokeId: string, moves: readonly Transition[]): Promise<void> {
  await countAllMoves(
    tx,
    moves.map((m) => ({ ...m, invokeId })),
  );
}

/** countMoves for transitions of any number of invocations. */
export async function countAllMoves(tx: Db, moves: readonly Transition[]): Promise<void> {
  const deltas: CounterDeltas = new Map();
  collectMoves(deltas, moves);
  await writeCounterDeltas(tx, deltas);
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
