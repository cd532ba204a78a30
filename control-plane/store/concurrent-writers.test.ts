// The transaction lock's two modes (postgres-store.ts concurrentWriters): the agents' hot path
// runs side by side with itself, and every ordinary transaction still runs alone.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Kysely, Transaction } from 'kysely';
import { forEachStore, onPostgres } from '../../test/harness/stores.js';
import { concurrentWriters } from './postgres-store.js';
import type { Database } from './schema.js';

/** Opens a transaction on `db` and keeps it open until the returned `end()`. */
async function holdOpen(db: Kysely<Database>): Promise<{ end: () => Promise<void> }> {
  let end!: () => void;
  const ended = new Promise<void>((r) => (end = r));
  let begun!: () => void;
  const started = new Promise<void>((r) => (begun = r));
  const done = db.transaction().execute(async (tx: Transaction<Database>) => {
    await tx.selectFrom('agent_request_ids').select('id').execute();
    begun();
    await ended;
  });
  await started;
  return {
    end: async () => {
      end();
      await done;
    },
  };
}

/** Whether `p` settles within `ms` (a generous window: a blocked transaction never does). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), sleep(ms).then(() => false)]);
}

const write = (db: Kysely<Database>, id: string) =>
  db.transaction().execute((tx) => tx.insertInto('agent_request_ids').values({ id, expires_at: 0 }).execute());

forEachStore((store) => {
  describe('concurrentWriters', () => {
    it(store.dialect === 'postgres' ? 'is a handle of its own' : 'is the store itself (one writer)', async () => {
      const db = await store.open();
      assert.equal(concurrentWriters(db) === db, store.dialect === 'sqlite');
    });
  });
});

onPostgres((s) => {
  it('runs concurrent writers side by side', async () => {
    const db = await s.open();
    const open = await holdOpen(concurrentWriters(db));
    assert.equal(await settlesWithin(write(concurrentWriters(db), 'w1'), 10_000), true);
    await open.end();
  });

  it('makes an ordinary transaction wait for open concurrent writers, and the reverse', async () => {
    const db = await s.open();
    const writers = await holdOpen(concurrentWriters(db));
    const ordinary = write(db, 'o1');
    assert.equal(await settlesWithin(ordinary, 500), false, 'the ordinary transaction waits');
    await writers.end();
    await ordinary;

    const alone = await holdOpen(db);
    const writer = write(concurrentWriters(db), 'w2');
    assert.equal(await settlesWithin(writer, 500), false, 'the concurrent writer waits');
    await alone.end();
    await writer;
  });

  it('still runs ordinary transactions one at a time', async () => {
    const db = await s.open();
    const first = await holdOpen(db);
    const second = write(db, 'o2');
    assert.equal(await settlesWithin(second, 500), false);
    await first.end();
    await second;
  });
});
