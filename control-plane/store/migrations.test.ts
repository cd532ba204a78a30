import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Migrator, sql, type Kysely } from 'kysely';
import { createTestDatabase } from '../../test/harness/postgres.js';
import { forEachStore, testedDialects } from '../../test/harness/stores.js';
import { migrations } from './migrations.js';
import { openStore } from './open-store.js';

forEachStore((store) => {
  describe('migration 0002', () => {
    it('backfills status counters and templates of invocations stored before it', async () => {
      const db = await store.openEmpty();
      const only = (names: string[]) =>
        new Migrator({
          db,
          provider: { getMigrations: async () => Object.fromEntries(names.map((n) => [n, migrations[n]!])) },
        });
      assert.equal((await only(['0001_initial']).migrateToLatest()).error, undefined);
      const inv = (id: string) => ({
        invoke_id: id,
        command_id: 'c-1',
        command_name: '',
        command_type: 'RunShellScript',
        command_content: 'ZWNobw==',
        command_description: '',
        parameters: '{}',
        repeat_mode: 'Once',
        frequency: '',
        timed: 0,
        username: '',
        working_dir: '',
        timeout: 60,
        enable_parameter: 0,
        client_token: null,
        created_at: 1,
      });
      const rec = (invokeId: string, instanceId: string, status: string) => ({
        invoke_id: invokeId,
        instance_id: instanceId,
        status,
        output: Buffer.alloc(0),
        creation_time: 1,
        update_time: 1,
      });
      // The 0001 shape, written without the columns 0002 adds.
      await (db as unknown as Kysely<Record<string, Record<string, unknown>>>)
        .insertInto('invocations')
        .values([inv('t-a'), inv('t-b'), inv('t-c')])
        .execute();
      await (db as unknown as Kysely<Record<string, Record<string, unknown>>>)
        .insertInto('invocation_instances')
        .values([
          rec('t-a', 'mi-1', 'Success'),
          rec('t-a', 'mi-2', 'Timeout'),
          rec('t-b', 'mi-1', 'Running'),
          rec('t-b', 'mi-2', 'Aborted'),
          rec('t-c', 'mi-1', 'Stopped'),
        ])
        .execute();
      assert.equal((await only(Object.keys(migrations)).migrateToLatest()).error, undefined);
      const rows = await db.selectFrom('invocations').selectAll().orderBy('invoke_id').execute();
      assert.deepEqual(
        rows.map((r) => [
          r.invoke_id,
          r.status,
          r.n_finished,
          r.n_failed,
          r.n_running,
          r.n_stopped,
          r.command_template,
        ]),
        [
          ['t-a', 'PartialFailed', 1, 1, 0, 0, 'ZWNobw=='],
          ['t-b', 'Running', 0, 1, 1, 0, 'ZWNobw=='],
          ['t-c', 'Stopped', 0, 0, 0, 1, 'ZWNobw=='],
        ],
      );
      await db.destroy();
    });
  });
});

forEachStore((store) => {
  describe('migration 0015', () => {
    it('keeps the claimed request ids, now keyed by (expires_at, id) and nothing else', async () => {
      const db = await store.openEmpty();
      const upTo = (last: string) =>
        new Migrator({
          db,
          provider: {
            getMigrations: async () => Object.fromEntries(Object.entries(migrations).filter(([n]) => n <= last)),
          },
        });
      assert.equal((await upTo('0014_sessions').migrateToLatest()).error, undefined);
      await db
        .insertInto('agent_request_ids')
        .values([
          { id: 'mi-1:a', expires_at: 20 },
          { id: 'mi-1:b', expires_at: 10 },
        ])
        .execute();
      assert.equal((await upTo('9999').migrateToLatest()).error, undefined);
      const rows = await db.selectFrom('agent_request_ids').selectAll().orderBy('expires_at').execute();
      assert.deepEqual(
        rows.map((r) => [Number(r.expires_at), r.id]),
        [
          [10, 'mi-1:b'],
          [20, 'mi-1:a'],
        ],
      );
      const claim = (id: string, expires: number) =>
        db
          .insertInto('agent_request_ids')
          .values({ id, expires_at: expires })
          .onConflict((oc) => oc.columns(['expires_at', 'id']).doNothing())
          .returning('id')
          .execute();
      assert.equal((await claim('mi-1:a', 20)).length, 0);
      assert.equal((await claim('mi-1:a', 21)).length, 1);
      if (store.dialect === 'sqlite') {
        const ddl = await sql<{ sql: string }>`select sql from sqlite_master where name = 'agent_request_ids'`.execute(
          db,
        );
        assert.match(ddl.rows[0]!.sql, /without rowid/i);
        const indexes = await sql<{
          name: string;
        }>`select name from sqlite_master where type = 'index' and tbl_name = 'agent_request_ids'`.execute(db);
        assert.deepEqual(
          indexes.rows.map((r) => r.name),
          [],
        );
      }
      await db.destroy();
    });
  });
});

describe('migrations on PostgreSQL', { skip: !testedDialects().includes('postgres') }, () => {
  it('run once when several nodes start on one empty database together', async () => {
    const t = await createTestDatabase();
    try {
      const nodes = await Promise.all(
        Array.from({ length: 4 }, () => openStore(t.url, { poolSize: 2, allowExitOnIdle: true })),
      );
      const done = await nodes[0]!
        .selectFrom('kysely_migration' as never)
        .select('name' as never)
        .execute();
      assert.deepEqual(done.map((r) => (r as { name: string }).name).sort(), Object.keys(migrations).sort());
      await Promise.all(nodes.map((db) => db.destroy()));
      // And a restart finds nothing left to do.
      await (await openStore(t.url, { poolSize: 1, allowExitOnIdle: true })).destroy();
    } finally {
      await t.drop();
    }
  });
});
