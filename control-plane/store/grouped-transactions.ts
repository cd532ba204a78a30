// Group commit for the agents' hot path: units of work that arrive in the same turn of the event
// loop (a fleet's reports and fetches; on PostgreSQL, also those that arrive while two groups
// commit) run one after another inside one store transaction and commit together. A unit that
// throws fails alone: the group is rolled back and run again with each unit behind a savepoint, so
// the others still commit. Callers hear their result only once the commit is durable, so nothing
// is announced that a failed commit could take back.
//
// One commit for many units saves what dominates a small transaction: BEGIN/COMMIT round trips,
// the write-ahead log pages every commit writes, and (on PostgreSQL) the transaction lock handoff.
// Savepoints only after a failure save two round trips per unit, and PostgreSQL's subtransactions.
//
// Groups are concurrent writers (postgres-store.ts concurrentWriters): on PostgreSQL two groups of
// one node, and those of other nodes, run side by side, so a unit locks the rows it reads to
// decide a write (dialect.ts forWrite). When PostgreSQL picks a group as a deadlock's victim, the
// whole group is rolled back (which frees its locks) and run again, alone. Units run again, so
// they must have no effect outside the transaction.
import type { ControlledTransaction, Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { Db } from './open-store.js';
import { concurrentWriters } from './postgres-store.js';

export type Unit<T, C = undefined> = (tx: Transaction<Database>, collected: C) => Promise<T>;

/**
 * What units may leave for the end of their group instead of writing it themselves, because many
 * units would write the same row (an invocation's status counters, moved by each of 500 reports):
 * each unit fills a fresh collection; the collections of the units that committed are merged, and
 * written once, inside the group's transaction, just before its commit.
 */
export interface GroupCollector<C> {
  create(): C;
  merge(into: C, from: C): void;
  write(tx: Transaction<Database>, collected: C): Promise<void>;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Where an attempt runs (side by side with other groups, or alone), and whether units get savepoints. */
interface Attempt {
  db: Db;
  savepoints: boolean;
}

interface Pending<C> {
  unit: Unit<unknown, C>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Units per transaction: bounds how long one commit keeps others waiting. */
const MAX_GROUP = 500;

/**
 * Groups of one node committing at once on PostgreSQL. Units that arrive meanwhile wait and form
 * the next group, so a busy node commits fewer, larger groups, and each moves an invocation's
 * counters (the row every group of a fan-out locks in turn) once for more reports. Two, not one,
 * so that one group's statements run while the other waits on a round trip. In a 1,000-agent
 * fan-out (docs/benchmarks.md) PostgreSQL's CPU per task fell from 1.25 to 0.80 ms and the node's
 * from 2.97 to 2.41 ms. SQLite has one writer, so its groups wait for each other anyway; a bound
 * there measured within noise, and it has none.
 */
const GROUPS_IN_FLIGHT_SIDE_BY_SIDE = 2;

/**
 * Runs of one group: without savepoints, with them after a unit failed, alone after a deadlock.
 */
const MAX_ATTEMPTS = 3;

/** PostgreSQL's deadlock_detected and serialization_failure: the statement may simply be run again. */
const isRetryable = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
};

export class GroupedTransactions<C = undefined> {
  /** The store: a group runs again on it, alone, after a deadlock. */
  readonly #db: Db;
  /** Where groups run first: side by side with other groups (PostgreSQL). */
  readonly #concurrent: Db;
  readonly #collector: GroupCollector<C> | undefined;
  readonly #maxInFlight: number;
  #pending: Pending<C>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(db: Db, ...collector: C extends undefined ? [] : [GroupCollector<C>]) {
    this.#db = db;
    this.#concurrent = concurrentWriters(db);
    this.#collector = collector[0];
    this.#maxInFlight = this.#concurrent === db ? Infinity : GROUPS_IN_FLIGHT_SIDE_BY_SIDE;
  }

  run<T>(unit: Unit<T, C>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ unit: unit as Unit<unknown, C>, resolve: resolve as (v: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (!this.#scheduled && this.#inFlight < this.#maxInFlight && this.#pending.length > 0) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#flush();
      });
    }
  }

  /** Called only through #schedule, which has checked the bound and that units wait. */
  async #flush(): Promise<void> {
    const all = this.#pending;
    this.#pending = [];
    this.#inFlight++;
    try {
      for (let i = 0; i < all.length; i += MAX_GROUP) {
        await this.#commitGroup(all.slice(i, i + MAX_GROUP));
      }
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }

  async #commitGroup(group: Pending<C>[]): Promise<void> {
    // First without savepoints, side by side with other groups: the common case, every unit
    // succeeds, costs no savepoint round trips and no subtransactions.
    let how: Attempt = { db: this.#concurrent, savepoints: false };
    let outcomes: Outcome[];
    for (let attempt = 1; ; attempt++) {
      try {
        outcomes = await this.#attempt(how, group);
        break;
      } catch (e) {
        if (e instanceof UnitFailed && attempt < MAX_ATTEMPTS) {
          // A unit failed: run the group again with each unit behind a savepoint, so it fails alone.
          how = { db: how.db, savepoints: true };
          continue;
        }
        if (isRetryable(e) && attempt < MAX_ATTEMPTS) {
          // A deadlock's victim: the rollback freed this group's locks, so the other transaction
          // goes on. Run again side by side, the group could race it to the same rows again; as an
          // ordinary transaction it waits for every concurrent writer to end, and runs alone.
          how = { db: this.#db, savepoints: true };
          continue;
        }
        // The transaction itself failed (begin, a savepoint, the commit): nothing of the group stands.
        for (const p of group) {
          p.reject(e instanceof UnitFailed ? e.cause : e);
        }
        return;
      }
    }
    group.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) {
        p.resolve(o.value);
      } else {
        p.reject(o.error);
      }
    });
  }

  /** The group's units in one transaction, committed; throws when the transaction failed. */
  async #attempt(how: Attempt, group: Pending<C>[]): Promise<Outcome[]> {
    const c = this.#collector;
    const outcomes: Outcome[] = [];
    const trx = await how.db.startTransaction().execute();
    try {
      const groupCollected = c?.create() as C;
      for (const p of group) {
        outcomes.push(await this.#runUnit(trx, p.unit, groupCollected, how.savepoints));
      }
      if (c) {
        await c.write(trx, groupCollected);
      }
      await trx.commit().execute();
      return outcomes;
    } catch (e) {
      await trx
        .rollback()
        .execute()
        .catch(() => {});
      throw e;
    }
  }

  /**
   * One unit; what it collected joins the group's only if it succeeds. Behind a savepoint, a unit
   * that fails rolls back to it alone; without one, its failure fails the attempt (UnitFailed). A
   * deadlock fails the attempt either way (rethrown), because the locks the group's earlier units
   * hold are part of the cycle.
   */
  async #runUnit(
    trx: ControlledTransaction<Database>,
    unit: Unit<unknown, C>,
    groupCollected: C,
    savepoint: boolean,
  ): Promise<Outcome> {
    const c = this.#collector;
    const unitCollected = c?.create() as C;
    if (!savepoint) {
      try {
        const value = await unit(trx, unitCollected);
        c?.merge(groupCollected, unitCollected);
        return { ok: true, value };
      } catch (error) {
        throw isRetryable(error) ? error : new UnitFailed(error);
      }
    }
    const sp = await trx.savepoint('unit').execute();
    try {
      const value = await unit(sp, unitCollected);
      await sp.releaseSavepoint('unit').execute();
      c?.merge(groupCollected, unitCollected);
      return { ok: true, value };
    } catch (error) {
      if (isRetryable(error)) {
        throw error;
      }
      // What a failed unit collected goes with what it wrote.
      await sp.rollbackToSavepoint('unit').execute();
      await sp.releaseSavepoint('unit').execute();
      return { ok: false, error };
    }
  }
}

/** A unit failed in an attempt without savepoints: the group runs again with them. */
class UnitFailed extends Error {
  constructor(cause: unknown) {
    super('a unit of the group failed', { cause });
  }
}
