import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { forEachStore } from '../../test/harness/stores.js';
import type { Db } from '../store/index.js';
import { RequestIdLedger } from './request-id-ledger.js';

forEachStore((store) => {
  describe('RequestIdLedger', () => {
    let db: Db;
    before(async () => {
      db = await store.open();
    });

    it('accepts an id once, in one batch or across batches', async () => {
      const ledger = new RequestIdLedger(db);
      const same = await Promise.all([ledger.claim('a', 10), ledger.claim('a', 10), ledger.claim('b', 10)]);
      assert.deepEqual(same, [true, false, true]);
      assert.equal(await ledger.claim('a', 10), false);
      assert.equal(await ledger.claim('c', 10), true);
    });

    it('claims many ids at once (more than one statement holds)', async () => {
      const ledger = new RequestIdLedger(db);
      const ids = Array.from({ length: 2_500 }, (_, i) => `many-${i}`);
      const r = await Promise.all([...ids, 'many-7'].map((id) => ledger.claim(id, 10)));
      assert.equal(r.filter(Boolean).length, 2_500);
      assert.equal(r.at(-1), false);
    });

    it('purges only expired ids, in batches with other work between them, and an expired id may be claimed again', async () => {
      const ledger = new RequestIdLedger(db);
      await db.deleteFrom('agent_request_ids').execute();
      await Promise.all(Array.from({ length: 12_000 }, (_, i) => ledger.claim(`old-${i}`, 100)));
      await ledger.claim('live', 1_000);
      let purging = true;
      const between = new Promise<boolean>((resolve) => setImmediate(() => resolve(purging)));
      assert.equal(await ledger.purgeExpired(500).finally(() => (purging = false)), 12_000);
      assert.equal(await between, true, 'other work ran while the batches were deleted');
      const left = await db.selectFrom('agent_request_ids').select('id').execute();
      assert.deepEqual(
        left.map((r) => r.id),
        ['live'],
      );
      assert.equal(await ledger.claim('old-1', 2_000), true);
      assert.equal(await ledger.claim('live', 1_000), false);
    });

    it('keys a claim by its expiry and id: a replay repeats both, another signed time is another request', async () => {
      const ledger = new RequestIdLedger(db);
      const r = await Promise.all([ledger.claim('t', 3_000), ledger.claim('t', 3_001), ledger.claim('t', 3_000)]);
      assert.deepEqual(r, [true, true, false]);
      assert.equal(await ledger.claim('t', 3_001), false);
      const rows = await db
        .selectFrom('agent_request_ids')
        .select(['expires_at', 'id'])
        .where('id', '=', 't')
        .execute();
      assert.deepEqual(rows.map((x) => Number(x.expires_at)).sort(), [3_000, 3_001]);
    });
  });
});
