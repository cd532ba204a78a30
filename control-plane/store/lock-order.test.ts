// inLockOrder (dialect.ts): an UPDATE of many rows locks them in key order on PostgreSQL, so two
// such statements over overlapping rows cannot deadlock. SQLite has one writer and no row locks.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { instanceRow } from '../../test/harness/store-rows.js';
import { onPostgres } from '../../test/harness/stores.js';
import { inLockOrder } from './dialect.js';
import { concurrentWriters } from './postgres-store.js';
import type { Database } from './schema.js';

/** Whether another session may lock the row now (a probe: the lock ends with its statement). */
async function free(db: Kysely<Database>, instanceId: string): Promise<boolean> {
  try {
    await sql`SELECT instance_id FROM instances WHERE instance_id = ${instanceId} FOR NO KEY UPDATE NOWAIT`.execute(db);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === '55P03') {
      return false; // lock_not_available
    }
    throw e;
  }
}

onPostgres((s) => {
  it('inLockOrder: an UPDATE locks its rows in key order, not in the order of its list or table', async () => {
    const db = await s.open();
    // Stored, and listed, out of key order.
    const ids = ['mi-z', 'mi-a', 'mi-m'];
    await db
      .insertInto('instances')
      .values(ids.map((id) => instanceRow(id)))
      .execute();

    // Another transaction holds the middle row…
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let held!: () => void;
    const holding = new Promise<void>((r) => (held = r));
    const holder = concurrentWriters(db)
      .transaction()
      .execute(async (tx) => {
        await sql`SELECT instance_id FROM instances WHERE instance_id = 'mi-m' FOR NO KEY UPDATE`.execute(tx);
        held();
        await released;
      });
    await holding;

    // …so the UPDATE stops at it: rows before it in key order are locked, rows after it not yet.
    const update = db
      .updateTable('instances')
      .set({ last_heartbeat_at: 1 })
      .where('instance_id', 'in', inLockOrder(db, 'instances', 'instance_id', ids))
      .execute();
    try {
      for (let waited = 0; await free(db, 'mi-a'); waited += 20) {
        assert.ok(waited < 30_000, 'the UPDATE never locked the first row');
        await sleep(20);
      }
      assert.equal(await free(db, 'mi-z'), true, 'a row after the held one is not locked yet');
    } finally {
      release();
      await holder;
    }
    const [r] = await update;
    assert.equal(Number(r!.numUpdatedRows), 3);
  });
});
