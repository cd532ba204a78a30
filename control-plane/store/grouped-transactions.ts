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

export type Unit<T> = (tx: Transaction<Database>) => Promise<T>;

interface Pending {
  unit: Unit<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Units per transaction: bounds how long one commit keeps others waiting. */
const MAX_GROUP = 500;

export class GroupedTransactions {
  readonly #db: Db;
  #pending: Pending[] = [];

  constructor(db: Db) {
    this.#db = db;
  }

  run<T>(unit: Unit<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ unit, resolve: resolve as (v: unknown) => void, reject });
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

  async #commitGroup(group: Pending[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      const trx = await this.#db.startTransaction().execute();
      try {
        for (const p of group) {
          const sp = await trx.savepoint('unit').execute();
          try {
            outcomes.push({ ok: true, value: await p.unit(sp) });
            await sp.releaseSavepoint('unit').execute();
          } catch (error) {
            outcomes.push({ ok: false, error });
            await sp.rollbackToSavepoint('unit').execute();
            await sp.releaseSavepoint('unit').execute();
          }
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
