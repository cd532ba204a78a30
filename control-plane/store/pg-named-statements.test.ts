// Named (prepared) statements on PostgreSQL: which texts get a name, that a store's connection keeps
// them prepared on the server, and that `prepared_statements=false` in the URL turns them off.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../test/harness/postgres.js';
import { MAX_PARAMETERS, MAX_PER_CONNECTION, nameFor } from './pg-named-statements.js';
import { createPostgresStore, pgConnectionString } from './postgres-store.js';
import type { Database } from './schema.js';

describe('nameFor', () => {
  it('names a text with parameters by its text, the same on every call', () => {
    const named = new Set<string>();
    const a = nameFor('select $1', [1], named);
    assert.match(a ?? '', /^oca_[\w-]+$/);
    assert.equal(nameFor('select $1', [2], named), a);
    assert.notEqual(nameFor('select $1 + 1', [2], named), a);
    assert.equal(named.size, 2);
  });

  it('leaves texts without parameters, or with very many, unnamed', () => {
    const named = new Set<string>();
    assert.equal(nameFor('begin; select pg_advisory_xact_lock(1)', [], named), undefined);
    assert.equal(nameFor('commit', undefined, named), undefined);
    const many = Array.from({ length: MAX_PARAMETERS + 1 }, (_, i) => i);
    assert.equal(nameFor(`values ${many.map((i) => `($${i + 1})`).join(', ')}`, many, named), undefined);
    assert.equal(named.size, 0);
  });

  it('names at most MAX_PER_CONNECTION texts on one connection, and keeps using those', () => {
    const named = new Set<string>();
    for (let i = 0; i < MAX_PER_CONNECTION; i++) {
      assert.notEqual(nameFor(`select $1, ${i}`, [i], named), undefined);
    }
    assert.equal(nameFor('select $1, -1', [0], named), undefined);
    assert.notEqual(nameFor('select $1, 0', [0], named), undefined);
    assert.equal(named.size, MAX_PER_CONNECTION);
  });
});

describe('a PostgreSQL store and prepared statements', () => {
  const dbs: TestDatabase[] = [];
  const stores: Kysely<Database>[] = [];
  after(async () => {
    await Promise.all(stores.map((s) => s.destroy()));
    await Promise.all(dbs.map((d) => d.drop()));
  });

  /** Runs a parameterized select twice on one connection; the server's prepared statements after. */
  async function preparedAfterUse(params: string): Promise<string[]> {
    const t = await createTestDatabase({ migrated: true });
    dbs.push(t);
    const db = createPostgresStore(`${t.url}?pool_size=1${params}`, { allowExitOnIdle: true });
    stores.push(db);
    for (const id of ['i-1', 'i-2']) {
      const rows = await db.selectFrom('instances').select('instance_id').where('instance_id', '=', id).execute();
      assert.deepEqual(rows, []);
    }
    // pool_size=1: this runs on the connection that ran the selects.
    const r = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db);
    return r.rows.map((x) => x.statement);
  }

  it('keeps a parameterized statement prepared on its connection, once', async () => {
    const prepared = await preparedAfterUse('');
    assert.equal(prepared.filter((s) => s.includes('from "instances" where "instance_id" = $1')).length, 1);
  });

  it('replaces a connection whose prepared select * a migration changed, after one failure', async () => {
    const t = await createTestDatabase({ migrated: true });
    dbs.push(t);
    const db = createPostgresStore(`${t.url}?pool_size=1`, { allowExitOnIdle: true });
    stores.push(db);
    const read = () => db.selectFrom('api_nonces').selectAll().where('nonce', '=', 'n-1').execute();
    assert.deepEqual(await read(), []);
    await sql`alter table api_nonces add column extra integer`.execute(db);
    await assert.rejects(read(), /cached plan must not change result type/);
    assert.deepEqual(await read(), []);
    assert.deepEqual(await read(), []);
  });

  it('prepares nothing with prepared_statements=false', async () => {
    assert.deepEqual(await preparedAfterUse('&prepared_statements=false'), []);
  });

  it("keeps the store's own URL parameters from pg's connection string", () => {
    assert.equal(
      pgConnectionString('postgres://u@h/db?pool_size=3&sslmode=require&prepared_statements=false'),
      'postgres://u@h/db?sslmode=require',
    );
    assert.equal(pgConnectionString('postgres://u@h/db?prepared_statements=true'), 'postgres://u@h/db');
  });

  it('refuses another value of prepared_statements', () => {
    assert.throws(
      () => createPostgresStore('postgres://u@127.0.0.1:1/db?prepared_statements=no'),
      /prepared_statements in the database URL must be true or false, got no/,
    );
  });
});
