import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import { forEachStore, onPostgres } from '../../test/harness/stores.js';
import { forWrite } from './dialect.js';
import { GroupedTransactions } from './grouped-transactions.js';
import type { Db } from './open-store.js';

forEachStore((store) => {
  describe('GroupedTransactions', () => {
    let db: Db;
    before(async () => {
      db = await store.open();
    });

    // Any small table serves; the request-id ledger's has a text key and a number.
    let seq = 0;
    const note = (tx: Db, text: string) =>
      tx.insertInto('agent_request_ids').values({ id: text, expires_at: seq++ }).execute();
    const notes = async () =>
      (await db.selectFrom('agent_request_ids').select('id').orderBy('expires_at').execute()).map((r) => r.id);

    it('commits the units of one turn together; a failing unit rolls back alone', async () => {
      await db.deleteFrom('agent_request_ids').execute();
      const g = new GroupedTransactions(db);
      const r = await Promise.allSettled([
        g.run(async (tx) => (await note(tx, 'a'), 1)),
        g.run(async (tx) => {
          await note(tx, 'half of b');
          throw new Error('b fails');
        }),
        g.run(async (tx) => (await note(tx, 'c'), 3)),
      ]);
      assert.deepEqual(
        r.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message)),
        [1, 'b fails', 3],
      );
      assert.deepEqual(await notes(), ['a', 'c']);
    });

    it('writes what the committed units collected once per group, and drops what a failed unit collected', async () => {
      await db.deleteFrom('agent_request_ids').execute();
      const writes: Map<string, number>[] = [];
      const g = new GroupedTransactions<Map<string, number>>(db, {
        create: () => new Map(),
        merge(into, from) {
          for (const [k, n] of from) {
            into.set(k, (into.get(k) ?? 0) + n);
          }
        },
        async write(tx, collected) {
          writes.push(new Map(collected));
          for (const [k, n] of collected) {
            await tx
              .insertInto('agent_request_ids')
              .values({ id: `sum ${k}`, expires_at: n })
              .execute();
          }
        },
      });
      const r = await Promise.allSettled([
        g.run(async (_tx, c) => void c.set('x', 1)),
        g.run(async (_tx, c) => {
          c.set('x', 5);
          throw new Error('b fails');
        }),
        g.run(async (_tx, c) => void c.set('x', 2).set('y', 1)),
      ]);
      assert.deepEqual(
        r.map((x) => x.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal(writes.length, 1, 'one write for the group');
      const rows = await db.selectFrom('agent_request_ids').select(['id', 'expires_at']).orderBy('id').execute();
      assert.deepEqual(
        rows.map((row) => `${row.id}=${row.expires_at}`),
        ['sum x=3', 'sum y=1'],
      );
    });

    it('fails the whole group when writing what it collected fails, and keeps none of it', async () => {
      await db.deleteFrom('agent_request_ids').execute();
      const g = new GroupedTransactions<string[]>(db, {
        create: () => [],
        merge: (into, from) => void into.push(...from),
        write: async () => {
          throw new Error('write fails');
        },
      });
      const r = await Promise.allSettled([g.run((tx) => note(tx, 'a')), g.run((tx) => note(tx, 'b'))]);
      assert.deepEqual(
        r.map((x) => (x.status === 'rejected' ? (x.reason as Error).message : 'ok')),
        ['write fails', 'write fails'],
      );
      assert.deepEqual(await notes(), []);
    });

    it('runs more units than one group holds, each once', async () => {
      await db.deleteFrom('agent_request_ids').execute();
      const g = new GroupedTransactions(db);
      await Promise.all(Array.from({ length: 1_200 }, (_, i) => g.run((tx) => note(tx, `n${i}`))));
      const all = await notes();
      assert.equal(all.length, 1_200);
      assert.equal(new Set(all).size, 1_200);
    });
  });
});

// Groups run side by side on PostgreSQL (SQLite has one writer, so these cases cannot arise there):
// two of one node at most, the units that come meanwhile forming the next; and two groups that
// lock the same rows in opposite orders deadlock, and the group PostgreSQL cancels is run again
// from the start once the other has committed.
onPostgres((s) => {
  it('lets units that arrive while two groups commit wait and form one next group', async () => {
    const db = await s.open();
    let seq = 0;
    const note = (tx: Db, text: string) =>
      tx.insertInto('agent_request_ids').values({ id: text, expires_at: seq++ }).execute();
    let groups = 0;
    const g = new GroupedTransactions<undefined[]>(db, {
      create: () => [],
      merge: () => {},
      write: async () => {
        groups++;
      },
    });
    // One unit per turn, 40 turns in a row, each unit taking a few milliseconds: a turn's unit
    // starts a group of its own only while fewer than two groups are committing. Without the
    // bound, every unit was a group.
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      all.push(
        g.run(async (tx) => {
          await note(tx, `u${i}`);
          await sleep(5);
        }),
      );
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    const { n } = await db
      .selectFrom('agent_request_ids')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(n), 40);
    assert.ok(groups < 20, `${groups} groups for 40 units that came one turn apart`);
  });

  it('runs a deadlock victim group again, whole, after the other group commits', async () => {
    const db = await s.open();
    // api_nonces: expires_at is not part of its key, so a bump is a non-key update, as the
    // services' writes under forWrite are.
    await db
      .insertInto('api_nonces')
      .values([
        { nonce: 'a', access_key_id: 'AK', expires_at: 0 },
        { nonce: 'b', access_key_id: 'AK', expires_at: 0 },
      ])
      .execute();
    const bump = (tx: Db, nonce: string) =>
      forWrite(tx, tx.selectFrom('api_nonces as r').select('r.expires_at').where('r.nonce', '=', nonce), 'r')
        .executeTakeFirstOrThrow()
        .then((row) =>
          tx
            .updateTable('api_nonces')
            .set({ expires_at: row.expires_at + 1 })
            .where('nonce', '=', nonce)
            .execute(),
        );
    // Each group's second unit starts only once the other group holds its first row.
    let holdsA!: () => void;
    let holdsB!: () => void;
    const aHeld = new Promise<void>((r) => (holdsA = r));
    const bHeld = new Promise<void>((r) => (holdsB = r));
    const runs = { one: 0, two: 0 };
    const one = new GroupedTransactions(db);
    const two = new GroupedTransactions(db);
    const r = await Promise.allSettled([
      one.run(async (tx) => {
        runs.one++;
        await bump(tx, 'a');
        holdsA();
      }),
      one.run(async (tx) => {
        await bHeld;
        await bump(tx, 'b');
      }),
      two.run(async (tx) => {
        runs.two++;
        await bump(tx, 'b');
        holdsB();
      }),
      two.run(async (tx) => {
        await aHeld;
        await bump(tx, 'a');
      }),
    ]);
    assert.deepEqual(
      r.map((x) => x.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
      String(r.find((x) => x.status === 'rejected')?.reason),
    );
    assert.equal(runs.one + runs.two, 3, 'one of the two groups ran twice');
    const rows = await db.selectFrom('api_nonces').select(['nonce', 'expires_at']).orderBy('nonce').execute();
    assert.deepEqual(
      rows.map((row) => `${row.nonce}=${row.expires_at}`),
      ['a=2', 'b=2'],
      'each group bumped each row once: nothing of the cancelled attempt stands',
    );
  });
});
