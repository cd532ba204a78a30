// DescribeSendFileResults filters on a send's overall status in SQL (sendStatusSql) and shows it
// computed in code (sendStatusOf): both, on a real store of each dialect, for every mix of up to
// three record statuses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachStore } from '../../test/harness/stores.js';
import { sendStatusOf, sendStatusSql } from './file-send-status.js';

const STATUSES = ['Pending', 'Running', 'Success', 'Failed', 'Invalid', 'Timeout', 'Aborted'];

/** Every multiset of up to `size` statuses, once each: members never precede `from` (order does not matter to the aggregate). */
function mixes(size: number, from = 0): string[][] {
  if (size === 0) {
    return [[]];
  }
  const out: string[][] = [[]];
  for (let i = from; i < STATUSES.length; i++) {
    for (const rest of mixes(size - 1, i)) {
      out.push([STATUSES[i]!, ...rest]);
    }
  }
  return out;
}

forEachStore((store) => {
  describe('a file send’s overall status', () => {
    it('is the same in SQL and in code for every mix of record statuses', async () => {
      const db = await store.open();
      const cases = mixes(3);
      assert.equal(cases.length, 120, 'all multisets of 0 to 3 out of 7 statuses');
      for (const [n, statuses] of cases.entries()) {
        const invokeId = `f-${n}`;
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
            timeout: 60,
            client_token: null,
            request_fingerprint: '',
            created_at: n,
          })
          .execute();
        for (const [i, status] of statuses.entries()) {
          await db
            .insertInto('file_send_instances')
            .values({
              invoke_id: invokeId,
              instance_id: `mi-${i}`,
              status,
              error_code: '',
              error_info: '',
              creation_time: n,
              update_time: n,
              start_time: null,
              finish_time: null,
            })
            .execute();
        }
      }
      const rows = await db
        .selectFrom('file_sends')
        .select(['invoke_id', sendStatusSql.as('status')])
        .execute();
      const inSql = new Map(rows.map((r) => [r.invoke_id, r.status]));
      for (const [n, statuses] of cases.entries()) {
        assert.equal(inSql.get(`f-${n}`), sendStatusOf(statuses), `records ${statuses.join(', ') || 'none'}`);
      }
      await db.destroy();
    });
  });
});
