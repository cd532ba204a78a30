// FileSendService.sweepTimeouts on a real store of each dialect: records nobody fetched in the
// delivery window are Aborted (DeliveryTimeout), records handed out but not reported within the
// send's own Timeout are Timeout, and nothing younger is touched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachStore } from '../../test/harness/stores.js';
import type { AgentNotifier } from './agent-notifier.js';
import { FileSendService } from './file-sends.js';

const NOBODY: AgentNotifier = {
  connectedAmong: async () => new Set(),
  kick: () => undefined,
  disconnect: () => undefined,
};

forEachStore((store) => {
  describe('sweeping file sends', () => {
    it('times out late records by each send’s own Timeout, and unfetched ones by the delivery window', async () => {
      const db = await store.open();
      const now = 1_800_000_000_000;
      const service = new FileSendService(db, NOBODY, 'cn-local', {
        maxInstancesPerCall: 100,
        deliveryTimeoutMs: 60_000,
      });
      for (const [invokeId, timeout] of [
        ['f-short', 10],
        ['f-long', 3600],
      ] as const) {
        await db
          .insertInto('file_sends')
          .values({
            invoke_id: invokeId,
            name: 'a.txt',
            description: '',
            content: '',
            content_type: 'Base64',
            target_dir: '/tmp',
            file_owner: 'root',
            file_group: 'root',
            file_mode: '0644',
            overwrite: 0,
            timeout,
            client_token: null,
            request_fingerprint: '',
            created_at: now - 120_000,
          })
          .execute();
      }
      const record = (invokeId: string, instanceId: string, status: string, created: number, started: number | null) =>
        db
          .insertInto('file_send_instances')
          .values({
            invoke_id: invokeId,
            instance_id: instanceId,
            status,
            error_code: '',
            error_info: '',
            creation_time: created,
            update_time: created,
            start_time: started,
            finish_time: null,
          })
          .execute();
      await record('f-short', 'mi-late', 'Running', now - 120_000, now - 11_000); // past its 10 s
      await record('f-short', 'mi-recent', 'Running', now - 120_000, now - 5_000); // within 10 s
      await record('f-long', 'mi-slow', 'Running', now - 120_000, now - 11_000); // within 3600 s
      await record('f-long', 'mi-unfetched', 'Pending', now - 61_000, null); // past the 60 s window
      await record('f-long', 'mi-new', 'Pending', now - 30_000, null);

      assert.equal(await service.sweepTimeouts(now), 2);
      const rows = await db
        .selectFrom('file_send_instances')
        .select(['instance_id', 'status', 'error_code'])
        .orderBy('instance_id')
        .execute();
      assert.deepEqual(
        rows.map((r) => `${r.instance_id} ${r.status} ${r.error_code}`),
        [
          'mi-late Timeout ExecutionTimeout',
          'mi-new Pending ',
          'mi-recent Running ',
          'mi-slow Running ',
          'mi-unfetched Aborted DeliveryTimeout',
        ],
      );
      await db.destroy();
    });
  });
});
