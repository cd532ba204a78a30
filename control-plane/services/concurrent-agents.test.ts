// Two nodes' services on one store, as in a cluster: the agents' fetches and reports of both run
// side by side (on PostgreSQL their grouped transactions are concurrent writers), so the same
// execution reported twice at once, from both nodes and in opposite orders, must still move once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Report } from '../../protocol/index.js';
import { instanceRow, runCommandInput } from '../../test/harness/store-rows.js';
import { forEachStore } from '../../test/harness/stores.js';
import type { Db } from '../store/index.js';
import { InvocationService } from './invocations.js';

const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
const N = 40;
const ids = Array.from({ length: N }, (_, i) => `mi-${String(i).padStart(3, '0')}`);

function node(db: Db, ended: string[]): InvocationService {
  const svc = new InvocationService(
    db,
    { connectedAmong: async (list) => new Set(list), kick: () => {}, disconnect: () => {} },
    'cn-local',
  );
  svc.onEnded((e) => ended.push(`${e.instanceId} ${e.status}`));
  return svc;
}

async function register(db: Db): Promise<void> {
  await db
    .insertInto('instances')
    .values(ids.map((id) => instanceRow(id, { registered_at: T0 })))
    .execute();
}

forEachStore((store) => {
  describe('agents of two nodes on one store', () => {
    it('moves each execution once when both nodes apply the same reports at once', async () => {
      const db = await store.open();
      await register(db);
      const ended: string[] = [];
      const [a, b] = [node(db, ended), node(db, ended)];
      const { InvokeId } = await a.runCommand(runCommandInput(ids, { timeout: 60 }), T0);
      // Every agent fetches through both nodes at once: each gets its task, delivered once.
      const q = { reason: 'kickoff', currentTime: T0, offset: 0, timeZone: 'UTC' } as const;
      const fetched = await Promise.all(ids.flatMap((id) => [a, b].map((n) => n.tasksFor(id, q, T0 + 1))));
      assert.ok(fetched.every((f) => f.run.length === 1 && f.run[0]!.task.taskID === InvokeId));
      const delivered = await db
        .selectFrom('invocation_instances')
        .select('delivered_at')
        .where('invoke_id', '=', InvokeId)
        .execute();
      assert.ok(delivered.every((r) => r.delivered_at === T0 + 1));

      const report = (n: InvocationService, id: string, r: Report, out: string) =>
        n.applyReport(id, r, Buffer.from(out), T0 + 10);
      const running = (): Report => ({ kind: 'running', taskId: InvokeId, invokeVersion: 0, start: T0 + 2 });
      const finish = (): Report => ({
        kind: 'finish',
        taskId: InvokeId,
        invokeVersion: 0,
        start: T0 + 2,
        end: T0 + 5,
        exitCode: 0,
        dropped: 0,
      });
      // Node a sees the `running` reports in one order, node b in the other: their groups lock
      // the same records from opposite ends and deadlock; the victim runs again after the other.
      const runs = await Promise.all([
        ...ids.map((id) => report(a, id, running(), '')),
        ...[...ids].reverse().map((id) => report(b, id, running(), '')),
      ]);
      assert.equal(runs.filter((r) => r === 'applied').length, 2 * N, 'a running report is applied each time');
      // The `finish` reports in the same order on both: node b's group waits for each record
      // node a's holds, and must then read what a wrote (Success), not what it read before.
      const finishes = await Promise.all([
        ...ids.map((id) => report(a, id, finish(), `${id}\n`)),
        ...ids.map((id) => report(b, id, finish(), `${id}\n`)),
      ]);
      assert.equal(finishes.filter((r) => r === 'applied').length, N, 'one finish per execution is applied');
      assert.equal(ended.length, N, 'each execution is announced ended once');
      assert.equal(new Set(ended).size, N);

      const inv = await db
        .selectFrom('invocations')
        .select(['status', 'n_pending', 'n_running', 'n_finished', 'n_failed'])
        .where('invoke_id', '=', InvokeId)
        .executeTakeFirstOrThrow();
      assert.deepEqual(inv, { status: 'Finished', n_pending: 0, n_running: 0, n_finished: N, n_failed: 0 });
      const recs = await db
        .selectFrom('invocation_instances')
        .select(['instance_id', 'status', 'output'])
        .where('invoke_id', '=', InvokeId)
        .orderBy('instance_id')
        .execute();
      assert.deepEqual(
        recs.map((r) => `${r.instance_id} ${r.status} ${r.output.toString()}`),
        ids.map((id) => `${id} Success ${id}\n`),
        'the output is kept once, not appended by the ignored duplicate',
      );
    });
  });
});
