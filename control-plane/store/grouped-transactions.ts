// Group commit for the agents' hot path: units of work that arrive in the same turn of the event
// loop (a fleet's reports and fetches) run one after another inside one store transaction, each
// behind a savepoint, and commit together. A unit that throws rolls back to its savepoint and fails
// alone; the others still commit. Callers hear their result only once the commit is durable, so
// nothing is announced that a failed commit could take back.
//
// One commit for many units saves what dominates a small transaction: BEGIN/COMMIT round trips,
// the write-ahead log pages every commit writes, and (on PostgreSQL) the transaction lock handoff.
import type { Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { Db } from './open-store.js';

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

interface Pending<C> {
  unit: Unit<unknown, C>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Units per transaction: bounds how long one commit keeps others waiting. */
const MAX_GROUP = 500;

export class GroupedTransactions<C = undefined> {
  readonly #db: Db;
  readonly #collector: GroupCollector<C> | undefined;
  #pending: Pending<C>[] = [];

  constructor(db: Db, ...collector: C extends undefined ? [] : [GroupCollector<C>]) {
    this.#db = db;
    this.#collector = collector[0];
  }

  run<T>(unit: Unit<T, C>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ unit: unit as Unit<unknown, C>, resolve: resolve as (v: unknown) => void, reject });
      if (this.#pending.length === 1) {
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    const all = this.#pending;
    this.#pending = [];
    for (let i = 0; i < all.length; i += MAX_GROUP) {
      await this.#commitGroup(all.slice(i, i + MAX_GROUP));
    }
  }

  async #commitGroup(group: Pending<C>[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    const c = this.#collector;
    try {
      const trx = await this.#db.startTransaction().execute();
      try {
        const groupCollected = c?.create() as C;
        for (const p of group) {
          const sp = await trx.savepoint('unit').execute();
          const unitCollected = c?.create() as C;
          try {
            outcomes.push({ ok: true, value: await p.unit(sp, unitCollected) });
            await sp.releaseSavepoint('unit').execute();
            c?.merge(groupCollected, unitCollected);
          } catch (error) {
            // What a failed unit collected goes with what it wrote.
            outcomes.push({ ok: false, error });
            await sp.rollbackToSavepoint('unit').execute();
            await sp.releaseSavepoint('unit').execute();
          }
        }
        if (c) {
          await c.write(trx, groupCollected);
        }
        await trx.commit().execute();
      } catch (e) {
        await trx
          .rollback()
          .execute()
          .catch(() => {});
        throw e;
      }
    } catch (e) {
      // The transaction itself failed (begin, a savepoint, the commit): nothing of the group stands.
      for (const p of group) {
        p.reject(e);
      }
      return;
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
}
