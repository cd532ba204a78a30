import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { forEachStore } from '../../test/harness/stores.js';
import { runOnce } from './dialect.js';
import type { Db } from './open-store.js';

forEachStore((store) => {
  describe('runOnce', () => {
    let db: Db;
    before(async () => {
      db = await store.open();
    });

    it('runs a job, and on PostgreSQL skips it while another holder of the job runs it', async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let runs = 0;
      const first = runOnce(db, 'sweep', async () => {
        runs++;
        await held;
        return 'first';
      });
      // Give the first job time to take its lock before the second asks for it.
      await new Promise((r) => setTimeout(r, 200));
      const second = await runOnce(db, 'sweep', async () => {
        runs++;
        return 'second';
      });
      const other = await runOnce(db, 'another job', async () => 'other');
      release();
      assert.equal(await first, 'first');
      assert.equal(other, 'other');
      if (store.dialect === 'postgres') {
        assert.equal(second, undefined, 'skipped: the lock was held');
        assert.equal(runs, 1);
      } else {
        assert.equal(second, 'second', 'one node: nothing to exclude');
        assert.equal(runs, 2);
      }
      assert.equal(await runOnce(db, 'sweep', async () => 'again'), 'again', 'the lock was released');
    });
  });
});
