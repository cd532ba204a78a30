// PostgreSQL prepared statements for the store's queries. Kysely sends every query unnamed, so the
// server parses and plans it again each time: for the short statements of the agents' hot path that
// was most of the work (a primary-key select in a loop: 112–124 µs of server CPU unnamed, 48–54 µs
// named; 81–98 µs of Node's CPU instead of 96–148). Here each pooled connection names the
// statements it runs by a hash of their text, and `pg` parses a name once per connection and only
// binds and executes it afterwards.
//
// Bounds: only statements with parameters are named (a text without any may hold several commands,
// such as `begin; select pg_advisory_xact_lock(…)`, which a prepared statement cannot), only up to
// MAX_PARAMETERS of them (multi-row inserts of every length would each be a statement of their own),
// and at most MAX_PER_CONNECTION per connection; later texts run unnamed as before. A prepared
// statement whose result columns a migration changed fails once, and its connection is replaced.
// A connection pooler in transaction mode (PgBouncer before 1.21) cannot keep statements on one
// connection: the URL's `prepared_statements=false` turns this off.
import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

export const MAX_PARAMETERS = 100;
export const MAX_PER_CONNECTION = 256;

/** A Kysely pool over `pool` whose clients run parameterized statements as named ones. */
export function namingPool(pool: pg.Pool): PostgresPool {
  // Kysely keeps one connection object per client object: give it the same wrapper every time.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let w = wrappers.get(client);
      if (!w) {
        w = namingClient(client);
        wrappers.set(client, w);
      }
      return w;
    },
    end: () => pool.end(),
  };
}

function namingClient(client: pg.PoolClient): PostgresPoolClient {
  const named = new Set<string>();
  let stale = false;
  const query = (text: unknown, values?: readonly unknown[]) => {
    if (typeof text !== 'string') {
      // A cursor (streamed query) passes through as it is.
      return client.query(text as pg.Submittable) as never;
    }
    const name = nameFor(text, values, named);
    const run =
      name === undefined
        ? client.query(text, values as unknown[])
        : client.query({ name, text, values: values as unknown[] });
    return run.catch((e: unknown) => {
      // A table's columns changed under a prepared `select *` (another node migrated the schema):
      // this connection cannot run it again, so it is closed when released, and the next one
      // prepares the statement afresh.
      stale ||= isStalePlan(e);
      throw e;
    }) as never;
  };
  return { query, release: () => client.release(stale || undefined) } as PostgresPoolClient;
}

const isStalePlan = (e: unknown) =>
  (e as { code?: unknown })?.code === '0A000' && /cached plan must not change result type/.test(String(e));

/** The name to run `text` under on a connection that has named `named`, or undefined: unnamed. */
export function nameFor(text: string, values: readonly unknown[] | undefined, named: Set<string>): string | undefined {
  const n = values?.length ?? 0;
  if (n === 0 || n > MAX_PARAMETERS) {
    return undefined;
  }
  const name = `oca_${createHash('sha1').update(text).digest('base64url')}`;
  if (!named.has(name)) {
    if (named.size >= MAX_PER_CONNECTION) {
      return undefined;
    }
    named.add(name);
  }
  return name;
}
