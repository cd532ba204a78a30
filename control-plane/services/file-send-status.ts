// A file send's overall status from its records: in code for responses, in SQL for filters.
import { sql } from 'kysely';

/**
 * sendStatusOf in SQL, for one file_sends row: DescribeSendFileResults filters and pages on it in
 * the store. The two must agree (file-send-status.test.ts checks every mix of record statuses).
 */
export const sendStatusSql = sql<string>`(SELECT CASE
  WHEN COUNT(*) = 0 THEN 'Pending'
  WHEN SUM(CASE WHEN r.status = 'Running' THEN 1 ELSE 0 END) > 0 THEN 'Running'
  WHEN SUM(CASE WHEN r.status = 'Pending' THEN 1 ELSE 0 END) = COUNT(*) THEN 'Pending'
  WHEN SUM(CASE WHEN r.status = 'Pending' THEN 1 ELSE 0 END) > 0 THEN 'Running'
  WHEN SUM(CASE WHEN r.status = 'Success' THEN 1 ELSE 0 END) = COUNT(*) THEN 'Success'
  WHEN SUM(CASE WHEN r.status = 'Success' THEN 1 ELSE 0 END) = 0 THEN 'Failed'
  ELSE 'PartialFailed' END
  FROM file_send_instances r WHERE r.invoke_id = file_sends.invoke_id)`;

/** The whole send's status from its records. */
export function sendStatusOf(statuses: readonly string[]): string {
  const n = (s: string) => statuses.filter((x) => x === s).length;
  if (statuses.length === 0) {
    return 'Pending';
  }
  if (n('Running') > 0) {
    return 'Running';
  }
  if (n('Pending') > 0) {
    return n('Pending') === statuses.length ? 'Pending' : 'Running';
  }
  const ok = n('Success');
  if (ok === statuses.length) {
    return 'Success';
  }
  return ok === 0 ? 'Failed' : 'PartialFailed';
}
