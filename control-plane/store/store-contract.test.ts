// What services may rely on from the store, whichever dialect serves it (DESIGN.md §7): each
// case runs on SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { instanceRow } from '../../test/harness/store-rows.js';
import { forEachStore } from '../../test/harness/stores.js';
import { dialectOf, escapeLike, likeInsensitive, valuesOf } from './dialect.js';
import type { Db } from './open-store.js';

const instance = (id: string, name: string, registeredAt: number) =>
  instanceRow(id, { activation_id: 'a-1', intranet_ip: '10.0.0.1', instance_name: name, registered_at: registeredAt });

const record = (invokeId: string, instanceId: string, extra: Record<string, unknown> = {}) => ({
  invoke_id: invokeId,
  instance_id: instanceId,
  status: 'Pending',
  exit_code: null,
  output: Buffer.alloc(0),
  dropped: 0,
  error_code: '',
  error_info: '',
  repeats: 1,
  creation_time: 1,
  update_time: 1,
  ...extra,
});

forEachStore((store) => {
  describe('the store contract', () => {
    it('knows its dialect, in a transaction too', async () => {
      const db = await store.open();
      assert.equal(dialectOf(db), store.dialect);
      assert.equal(await db.transaction().execute(async (tx) => dialectOf(tx)), store.dialect);
    });

    it('gives bigint times, counts and maxima back as JS numbers', async () => {
      const db = await store.open();
      const t = Date.UTC(2030, 0, 1, 12, 0, 0, 123); // > 2^32: a real bigint
      await db
        .insertInto('instances')
        .values([instance('mi-1', 'one', t), { ...instance('mi-2', 'two', t + 1), last_heartbeat_at: t + 2 }])
        .execute();
      const rows = await db.selectFrom('instances').selectAll().orderBy('instance_id').execute();
      assert.deepEqual(
        rows.map((r) => [r.registered_at, r.last_heartbeat_at, r.deregistered_at]),
        [
          [t, null, null],
          [t + 1, t + 2, null],
        ],
      );
      const agg = await db
        .selectFrom('instances')
        .select((eb) => [
          eb.fn.countAll<number>().as('n'),
          eb.fn.max('registered_at').as('latest'),
          eb.fn.sum<number>('registered_at').as('total'),
        ])
        .executeTakeFirstOrThrow();
      assert.deepEqual(agg, { n: 2, latest: t + 1, total: 2 * t + 1 });
      assert.equal(typeof agg.n, 'number');
    });

    it('keeps binary output byte for byte', async () => {
      const db = await store.open();
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x00, 0x80, 0x0a]);
      await db
        .insertInto('invocation_instances')
        .values(record('t-1', 'mi-1', { output: bytes }))
        .execute();
      const r = await db.selectFrom('invocation_instances').select('output').executeTakeFirstOrThrow();
      assert.ok(Buffer.isBuffer(r.output));
      assert.deepEqual(r.output, bytes);
    });

    it('stores what PostgreSQL would refuse in a narrower column: long tokens, big exit codes', async () => {
      const db = await store.open();
      const token = 'x'.repeat(300);
      await db
        .insertInto('invocation_instances')
        .values(record('t-1', 'mi-1', { exit_code: 3_221_225_477, dropped: 5_000_000_000 }))
        .execute();
      await db
        .insertInto('api_nonces')
        .values({ nonce: `AK:${token}`, access_key_id: 'AK', expires_at: 1 })
        .execute();
      await db
        .insertInto('agent_request_ids')
        .values({ id: `mi-1:${token}`, expires_at: 1 })
        .execute();
      const r = await db.selectFrom('invocation_instances').select(['exit_code', 'dropped']).executeTakeFirstOrThrow();
      assert.deepEqual(r, { exit_code: 3_221_225_477, dropped: 5_000_000_000 });
      const n = await db.selectFrom('api_nonces').select('nonce').executeTakeFirstOrThrow();
      assert.equal(n.nonce.length, token.length + 3);
    });

    it('upserts: doNothing with returning gives the inserted rows only, and counts them', async () => {
      const db = await store.open();
      const nonce = (n: string) => ({ nonce: n, access_key_id: 'AK', expires_at: 10 });
      const claim = (ids: string[]) =>
        db
          .insertInto('api_nonces')
          .values(ids.map(nonce))
          .onConflict((oc) => oc.column('nonce').doNothing())
          .returning('nonce')
          .execute();
      assert.deepEqual((await claim(['a', 'b'])).map((r) => r.nonce).sort(), ['a', 'b']);
      assert.deepEqual(
        (await claim(['b', 'c', 'a'])).map((r) => r.nonce),
        ['c'],
      );
      const again = await db
        .insertInto('api_nonces')
        .values(nonce('c'))
        .onConflict((oc) => oc.column('nonce').doNothing())
        .executeTakeFirst();
      assert.equal(Number(again.numInsertedOrUpdatedRows ?? 0), 0);
      const fresh = await db
        .insertInto('api_nonces')
        .values(nonce('d'))
        .onConflict((oc) => oc.column('nonce').doNothing())
        .executeTakeFirst();
      assert.equal(Number(fresh.numInsertedOrUpdatedRows ?? 0), 1);
    });

    it('upserts: doUpdateSet takes the new values from excluded', async () => {
      const db = await store.open();
      const put = (expires: number) =>
        db
          .insertInto('api_nonces')
          .values({ nonce: 'k', access_key_id: 'AK', expires_at: expires })
          .onConflict((oc) => oc.column('nonce').doUpdateSet((eb) => ({ expires_at: eb.ref('excluded.expires_at') })))
          .returning(['nonce', 'expires_at'])
          .executeTakeFirstOrThrow();
      assert.deepEqual(await put(5), { nonce: 'k', expires_at: 5 });
      assert.deepEqual(await put(7), { nonce: 'k', expires_at: 7 });
      assert.equal((await db.selectFrom('api_nonces').selectAll().execute()).length, 1);
    });

    it('returns updated values from UPDATE … RETURNING, and counts updated rows as a bigint', async () => {
      const db = await store.open();
      await db
        .insertInto('instances')
        .values(instance('mi-1', 'one', 1))
        .execute();
      const r = await db
        .updateTable('instances')
        .set((eb) => ({ registered_at: eb('registered_at', '+', 41) }))
        .where('instance_id', '=', 'mi-1')
        .returning(['registered_at'])
        .executeTakeFirstOrThrow();
      assert.equal(r.registered_at, 42);
      const none = await db
        .updateTable('instances')
        .set({ hostname: 'x' })
        .where('instance_id', '=', 'no')
        .executeTakeFirst();
      assert.equal(none.numUpdatedRows, 0n);
    });

    it('takes a list of strings as one parameter and uses it as a set (in / not in)', async () => {
      const db = await store.open();
      await db
        .insertInto('instances')
        .values([instance('mi-1', 'a', 1), instance('mi-\'2"', 'b', 2), instance('mi-ü3', 'c', 3)])
        .execute();
      const ids = async (op: 'in' | 'not in', set: string[]) =>
        (
          await db
            .selectFrom('instances')
            .select('instance_id')
            .where('instance_id', op, valuesOf(db, set))
            .orderBy('registered_at')
            .execute()
        ).map((r) => r.instance_id);
      assert.deepEqual(await ids('in', ['mi-\'2"', 'mi-ü3', 'mi-none']), ['mi-\'2"', 'mi-ü3']);
      assert.deepEqual(await ids('not in', ['mi-1']), ['mi-\'2"', 'mi-ü3']);
      assert.deepEqual(await ids('in', []), []);
      assert.deepEqual(await ids('not in', []), ['mi-1', 'mi-\'2"', 'mi-ü3']);
      const many = Array.from({ length: 40_000 }, (_, i) => `mi-x${i}`); // beyond any bound-parameter limit
      assert.deepEqual(await ids('in', [...many, 'mi-1']), ['mi-1']);
    });

    it('matches LIKE patterns case-insensitively, with %, _ and \\ escaped to themselves', async () => {
      const db = await store.open();
      const names = ['web-01', 'WEB-02', 'web_3', 'webx3', '100%', '1000', 'back\\slash', 'backslash'];
      await db
        .insertInto('instances')
        .values(names.map((n, i) => instance(`mi-${i}`, n, i)))
        .execute();
      const like = async (pattern: string) =>
        (
          await db
            .selectFrom('instances')
            .select('instance_name')
            .where(likeInsensitive(db, 'instance_name', pattern))
            .orderBy('registered_at')
            .execute()
        ).map((r) => r.instance_name);
      assert.deepEqual(await like('web-%'), ['web-01', 'WEB-02']);
      assert.deepEqual(await like(`${escapeLike('web_')}%`), ['web_3']);
      assert.deepEqual(await like(`%${escapeLike('0%')}`), ['100%']);
      assert.deepEqual(await like(escapeLike('back\\slash')), ['back\\slash']);
      assert.deepEqual(await like('WEB_3'), ['web_3', 'webx3']);
    });

    it('rolls a transaction back when it throws, and commits when it returns', async () => {
      const db = await store.open();
      await assert.rejects(
        db.transaction().execute(async (tx) => {
          await tx
            .insertInto('instances')
            .values(instance('mi-1', 'one', 1))
            .execute();
          throw new Error('no');
        }),
        /no/,
      );
      assert.equal((await db.selectFrom('instances').selectAll().execute()).length, 0);
      // A failed statement also rolls back what came before it (PostgreSQL aborts the transaction).
      await assert.rejects(
        db.transaction().execute(async (tx) => {
          await tx
            .insertInto('instances')
            .values(instance('mi-1', 'one', 1))
            .execute();
          await tx
            .insertInto('instances')
            .values(instance('mi-1', 'dup', 2))
            .execute();
        }),
      );
      assert.equal((await db.selectFrom('instances').selectAll().execute()).length, 0);
      await db.transaction().execute(async (tx) => {
        await tx
          .insertInto('instances')
          .values(instance('mi-1', 'one', 1))
          .execute();
      });
      assert.equal((await db.selectFrom('instances').selectAll().execute()).length, 1);
    });

    it('runs transactions one after another: read-then-write loses no update', async () => {
      const db = await store.open();
      await db
        .insertInto('instances')
        .values(instance('mi-1', 'one', 0))
        .execute();
      const bump = (tx: Db) =>
        tx
          .selectFrom('instances')
          .select('registered_at')
          .where('instance_id', '=', 'mi-1')
          .executeTakeFirstOrThrow()
          .then(async (r) => {
            await new Promise((res) => setTimeout(res, 2));
            await tx
              .updateTable('instances')
              .set({ registered_at: r.registered_at + 1 })
              .execute();
          });
      await Promise.all(Array.from({ length: 12 }, () => db.transaction().execute(bump)));
      const r = await db.selectFrom('instances').select('registered_at').executeTakeFirstOrThrow();
      assert.equal(r.registered_at, 12);
    });

    it('uses the partial index of live instances in a listing', async () => {
      const db = await store.open();
      await db
        .insertInto('instances')
        .values([instance('mi-1', 'a', 1), { ...instance('mi-2', 'b', 2), deregistered_at: 3 }])
        .execute();
      const live = await db
        .selectFrom('instances')
        .select('instance_id')
        .where('deregistered_at', 'is', null)
        .orderBy('registered_at', 'desc')
        .orderBy('instance_id', 'desc')
        .execute();
      assert.deepEqual(
        live.map((r) => r.instance_id),
        ['mi-1'],
      );
      const idx =
        store.dialect === 'postgres'
          ? await sql<{ n: number }>`SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'instances_live_registered'
              AND indexdef LIKE '%WHERE (deregistered_at IS NULL)%'`.execute(db)
          : await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE name = 'instances_live_registered'
              AND sql LIKE '%where "deregistered_at" is null%'`.execute(db);
      assert.equal(Number(idx.rows[0]?.n), 1);
    });
  });
});
