import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceRow } from '../../test/harness/store-rows.js';
import { forEachStore } from '../../test/harness/stores.js';
import { HeartbeatWriter } from './heartbeat-writer.js';

const T0 = Date.UTC(2030, 0, 1);
const MIN = 60_000;

forEachStore((store) => {
  describe('HeartbeatWriter', () => {
    it('writes the heartbeats of one window together, and an AgentVersion only when it changes', async () => {
      const db = await store.open();
      await db
        .insertInto('instances')
        .values(['mi-a', 'mi-b', 'mi-c'].map((id) => instanceRow(id, { agent_version: '1.0' })))
        .execute();
      const rows = async () =>
        (
          await db
            .selectFrom('instances')
            .select(['instance_id', 'last_heartbeat_at', 'agent_version'])
            .orderBy('instance_id')
            .execute()
        ).map(
          (r) => `${r.instance_id} ${r.last_heartbeat_at === null ? '-' : r.last_heartbeat_at - T0} ${r.agent_version}`,
        );
      // A window far longer than one turn of the event loop, however loaded the machine.
      const w = new HeartbeatWriter(db, { windowMs: 500 });

      // One window, here two turns: the newest server time of the batch for all of them.
      const first = [w.write('mi-b', T0 + 5, '2.0'), w.write('mi-a', T0 + 9, '2.0')];
      await new Promise((r) => setImmediate(r));
      await Promise.all([...first, w.write('mi-b', T0 + 7, '2.0')]);
      assert.deepEqual(await rows(), ['mi-a 9 2.0', 'mi-b 9 2.0', 'mi-c - 1.0']);

      // Another node stores a version for mi-a; this node, which wrote 2.0 a moment ago, does not
      // write its 2.0 again until the version it wrote is VERSION_TTL_MS (10 minutes) old…
      await db.updateTable('instances').set({ agent_version: '3.0' }).where('instance_id', '=', 'mi-a').execute();
      await w.write('mi-a', T0 + MIN, '2.0');
      assert.deepEqual(await rows(), ['mi-a 60000 3.0', 'mi-b 9 2.0', 'mi-c - 1.0']);
      await w.write('mi-a', T0 + 11 * MIN, '2.0');
      assert.deepEqual(await rows(), ['mi-a 660000 2.0', 'mi-b 9 2.0', 'mi-c - 1.0']);

      // …but a version other than the one it wrote goes to the store at once.
      await w.write('mi-b', T0 + 12 * MIN, '2.1');
      assert.equal((await rows())[1], 'mi-b 720000 2.1');

      // Forgotten (deregistered, moved): the next heartbeat writes its version again.
      await db.updateTable('instances').set({ agent_version: '0.9' }).where('instance_id', '=', 'mi-b').execute();
      w.forget('mi-b');
      await w.write('mi-b', T0 + 13 * MIN, '2.1');
      assert.equal((await rows())[1], 'mi-b 780000 2.1');

      // Versions that differ within one window: each instance gets its own.
      await Promise.all([w.write('mi-a', T0 + 15 * MIN, '4.0'), w.write('mi-b', T0 + 15 * MIN, '4.1')]);
      assert.deepEqual((await rows()).slice(0, 2), ['mi-a 900000 4.0', 'mi-b 900000 4.1']);

      // A heartbeat without a version (no User-Agent) keeps the stored one.
      await w.write('mi-c', T0 + 16 * MIN);
      assert.equal((await rows())[2], 'mi-c 960000 1.0');
    });
  });
});
