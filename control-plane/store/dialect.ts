// The few places where SQLite and PostgreSQL differ, in one module (DESIGN.md §7 "Dialects").
// Services write Kysely queries both dialects accept, and reach for these helpers only where the
// SQL itself must differ. What needs no helper, because Kysely or both dialects agree on it:
//   - upserts: `.onConflict((oc) => oc.column(…).doNothing() | .doUpdateSet(…))` (both);
//   - `.returning(…)` on INSERT/UPDATE/DELETE (SQLite ≥ 3.35 and PostgreSQL);
//   - integer division: `a / b` of two integer columns truncates on both;
//   - booleans: the store keeps 0/1 integers, so `where('kept', '=', 1)` is portable; a comparison
//     *selected* as a value is 0/1 on SQLite but true/false on PostgreSQL: compare in WHERE, or
//     select `CASE WHEN … THEN 1 ELSE 0 END`;
//   - bigint columns come back as JS numbers on both (postgres-store.ts sets pg's INT8 parser);
//   - `count(*)` is a number on both (INT8 on PostgreSQL, parsed as above);
//   - transactions exclude each other on both: SQLite has one writer, and the PostgreSQL store
//     takes one advisory lock per transaction (postgres-store.ts), so read-then-write stays safe;
//     except the transactions of concurrentWriters(db) on PostgreSQL, which run side by side and
//     lock the rows they read-then-write with forWrite (below).
// Not portable, and not used: `random()` (an int64 on SQLite, a float in [0,1) on PostgreSQL),
// `json_*` functions other than the set below, `GLOB`, `strftime`, `INSERT OR IGNORE/REPLACE`
// (use onConflict), `FOR UPDATE` written directly (SQLite rejects it: use forWrite), NUL characters
// in text (PostgreSQL rejects them), text ordering (PostgreSQL follows the database's collation,
// SQLite compares bytes).
import { PostgresAdapter, sql, type Kysely, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';

export type StoreDialect = 'sqlite' | 'postgres';

/** Any store handle: a Kysely instance of any schema, or one of its transactions. */
type AnyDb = Pick<Kysely<unknown>, 'getExecutor'>;

/** Which SQL dialect a store (or one of its transactions) speaks. */
export function dialectOf(db: AnyDb): StoreDialect {
  // The adapter is shared by a Kysely instance and every transaction it starts.
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * A list of strings as a set of rows (one column, `value`), passed as ONE bound parameter however
 * long the list is: `where('instance_id', 'in', valuesOf(db, ids))` or `'not in'`.
 * SQLite: `(SELECT value FROM json_each(?))`; PostgreSQL: `jsonb_array_elements_text(?::jsonb)`.
 */
export function valuesOf(db: AnyDb, values: readonly string[]): RawBuilder<string> {
  const json = JSON.stringify(values);
  return dialectOf(db) === 'postgres'
    ? sql<string>`(SELECT value FROM jsonb_array_elements_text(${json}::jsonb))`
    : sql<string>`(SELECT value FROM json_each(${json}))`;
}

/**
 * `valuesOf` for the WHERE of an UPDATE of many rows of `table` by `key` that may run beside
 * another such UPDATE of overlapping rows (heartbeat batches, a dispatch's `last_invoked_at`): on
 * PostgreSQL the rows are locked first, in `key` order, so two such statements never each hold a
 * row the other waits for (a deadlock, which fails one of them); otherwise a statement locks in the
 * order of its plan: the list's order for a few keys, the table's for many. SQLite's single
 * writer needs no lock.
 */
export function inLockOrder(db: AnyDb, table: string, key: string, values: readonly string[]): RawBuilder<string> {
  return dialectOf(db) === 'postgres'
    ? sql<string>`(SELECT ${sql.ref(key)} FROM ${sql.table(table)} WHERE ${sql.ref(key)} IN ${valuesOf(db, values)} ORDER BY ${sql.ref(key)} FOR NO KEY UPDATE)`
    : valuesOf(db, values);
}

/**
 * A SELECT that locks the rows it reads from table `of` (an alias of the query) until the
 * transaction ends, for a read-then-write under concurrentWriters: `FOR NO KEY UPDATE OF …` on
 * PostgreSQL (foreign-key checks of other transactions are not blocked), nothing on SQLite, whose
 * single writer already excludes the others. After waiting for a lock, PostgreSQL reads the row
 * again and re-checks the WHERE clause, so what is read is what was committed last.
 */
export function forWrite<DB, TB extends keyof DB, O>(
  db: AnyDb,
  query: SelectQueryBuilder<DB, TB, O>,
  of: TB & string,
): SelectQueryBuilder<DB, TB, O> {
  return dialectOf(db) === 'postgres' ? query.forNoKeyUpdate(of) : query;
}

/** Escapes LIKE's own wildcards (`%`, `_`) and the escape character `\`, for `likeInsensitive`. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * `column LIKE pattern ESCAPE '\'`, case-insensitive on both dialects as SQLite's LIKE is
 * (PostgreSQL: ILIKE). Build `pattern` with escapeLike() around the caller's own wildcards.
 */
export function likeInsensitive(db: AnyDb, column: string, pattern: string): RawBuilder<SqlBool> {
  const op = dialectOf(db) === 'postgres' ? sql.raw('ILIKE') : sql.raw('LIKE');
  return sql<SqlBool>`${sql.ref(column)} ${op} ${pattern} ESCAPE '\\'`;
}

/** The column type of binary data: SQLite `blob`, PostgreSQL `bytea`. For migrations. */
export function binaryType(db: AnyDb): 'blob' | 'bytea' {
  return dialectOf(db) === 'postgres' ? 'bytea' : 'blob';
}

/** A job name as a PostgreSQL advisory-lock key (a stable 31-bit hash, "oca:" namespaced). */
const jobLockKey = (name: string): number => {
  let h = 0x6f6361; // "oca"
  for (const c of name) {
    h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  }
  return h & 0x7fffffff;
};

/**
 * Runs a background job (a sweep, a purge) on one node of a cluster at a time: on PostgreSQL it
 * takes a session advisory lock named after the job and skips the run when another node holds it;
 * SQLite has one node. Resolves to what `job` returned, or undefined when another node ran it.
 */
export async function runOnce<D, T>(db: Kysely<D>, name: string, job: () => Promise<T>): Promise<T | undefined> {
  if (dialectOf(db) !== 'postgres') {
    return job();
  }
  const key = jobLockKey(name);
  // One connection holds the lock for the whole job (the job's own queries use the pool).
  return db.connection().execute(async (conn) => {
    const got = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${key}) as ok`.execute(conn);
    if (!got.rows[0]?.ok) {
      return undefined;
    }
    try {
      return await job();
    } finally {
      await sql`select pg_advisory_unlock(${key})`.execute(conn);
    }
  });
}
