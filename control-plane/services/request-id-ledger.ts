// Agent request ids seen within the signature window, kept in the store so that a signed request
// replayed after a restart (or to another node on the same store) is refused. Every agent call
// claims one id, so claims that arrive in the same turn of the event loop go to the store as one
// statement; expired ids are purged in bounded batches by purgeExpired (a timer's job), never on
// the request path.
import { Batcher } from '../shared/index.js';
import { runOnce, type Db } from '../store/index.js';

interface Claim {
  id: string;
  expiresAt: number;
}

/** A claim's store key: (expires_at, id), the table's primary key. */
const keyOf = (c: Claim): string => `${c.expiresAt} ${c.id}`;

/** Rows per INSERT: two bound values each, far below SQLite's 32,766 and PostgreSQL's 65,535. */
const INSERT_CHUNK = 1_000;
/** Rows per purge statement, so a purge never holds the store long. */
const PURGE_BATCH = 5_000;

export class RequestIdLedger {
  readonly #db: Db;
  readonly #claims = new Batcher<Claim, boolean>((claims) => this.#insert(claims));
  #timer: NodeJS.Timeout | undefined;
  #purging: Promise<unknown> = Promise.resolve();

  constructor(db: Db) {
    this.#db = db;
  }

  /** Purges expired ids every `intervalMs` until stop(); `onError` hears a purge that failed. */
  start(intervalMs: number, onError: (e: unknown) => void): void {
    this.#timer ??= setInterval(() => {
      this.#purging = this.#purging
        .then(() => runOnce(this.#db, 'purge-request-ids', () => this.purgeExpired(Date.now())))
        .catch(onError);
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a purge in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#purging;
  }

  /** Records `id` until `expiresAt`; false when it is already recorded (a replay). */
  claim(id: string, expiresAt: number): Promise<boolean> {
    return this.#claims.add({ id, expiresAt });
  }

  async #insert(claims: Claim[]): Promise<boolean[]> {
    // The same claim twice in one batch: only the first may be fresh, as one statement apart.
    const unique = [...new Map(claims.map((c) => [keyOf(c), c])).values()];
    const inserted = new Set<string>();
    for (let i = 0; i < unique.length; i += INSERT_CHUNK) {
      const rows = await this.#db
        .insertInto('agent_request_ids')
        .values(unique.slice(i, i + INSERT_CHUNK).map((c) => ({ id: c.id, expires_at: c.expiresAt })))
        .onConflict((oc) => oc.columns(['expires_at', 'id']).doNothing())
        .returning(['expires_at', 'id'])
        .execute();
      for (const r of rows) {
        inserted.add(keyOf({ id: r.id, expiresAt: Number(r.expires_at) }));
      }
    }
    return claims.map((c) => inserted.delete(keyOf(c)));
  }

  /**
   * Deletes ids expired before `nowMs`, a bounded batch per statement with the event loop free
   * between them; returns how many went.
   */
  async purgeExpired(nowMs: number): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await this.#db
        .deleteFrom('agent_request_ids')
        .where((eb) =>
          eb(
            eb.refTuple('expires_at', 'id'),
            'in',
            eb
              .selectFrom('agent_request_ids')
              .select(['expires_at', 'id'])
              .where('expires_at', '<', nowMs)
              .orderBy('expires_at')
              .limit(PURGE_BATCH)
              .$asTuple('expires_at', 'id'),
          ),
        )
        .executeTakeFirst();
      const n = Number(r.numDeletedRows);
      total += n;
      if (n < PURGE_BATCH) {
        return total;
      }
      // Requests go on between batches: on SQLite no statement yields, and the first purge after
      // a stop may find a backlog (about 1 µs a row: 50,000 took 90 ms in one piece).
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
