// Status rules of executions (spec/openapi.md § Statuses). Pure.

/** Detailed per-instance status (`InvocationStatus` of a result). */
export type ExecutionStatus =
  | 'Pending'
  | 'Scheduled'
  | 'Running'
  | 'Stopping'
  | 'Success'
  | 'Failed'
  | 'Timeout'
  | 'Error'
  | 'Invalid'
  | 'Aborted'
  | 'Stopped'
  | 'Finished';

/**
 * Coarse per-instance status (`InvokeRecordStatus`). `Scheduled`: a periodic or boot-time
 * execution waiting for its first run (its schedule, or the instance's next boot).
 */
export type RecordStatus = 'Pending' | 'Scheduled' | 'Running' | 'Stopping' | 'Stopped' | 'Finished' | 'Failed';

export const FINAL_STATUSES: readonly ExecutionStatus[] = [
  'Success',
  'Failed',
  'Timeout',
  'Error',
  'Invalid',
  'Aborted',
  'Stopped',
  'Finished',
];
export const isFinal = (s: string): boolean => (FINAL_STATUSES as readonly string[]).includes(s);

export function recordStatus(s: ExecutionStatus): RecordStatus {
  switch (s) {
    case 'Pending':
    case 'Scheduled':
    case 'Running':
    case 'Stopping':
    case 'Stopped':
      return s;
    case 'Success':
    case 'Failed':
      return 'Finished'; // the process ended; ExitCode says whether it worked
    case 'Finished':
      return 'Finished'; // a schedule that has no further occurrence
    case 'Timeout':
    case 'Error':
    case 'Invalid':
    case 'Aborted':
      return 'Failed';
  }
}

/** How many records of an invocation are in each coarse status. */
export type StatusCounts = Record<RecordStatus, number>;

export const RECORD_STATUSES: readonly RecordStatus[] = [
  'Pending',
  'Scheduled',
  'Running',
  'Stopping',
  'Stopped',
  'Finished',
  'Failed',
];

export function countStatuses(records: readonly RecordStatus[]): StatusCounts {
  const c: StatusCounts = { Pending: 0, Scheduled: 0, Running: 0, Stopping: 0, Stopped: 0, Finished: 0, Failed: 0 };
  for (const r of records) {
    c[r] += 1;
  }
  return c;
}

/**
 * The whole invocation's status from its record counts, by the documented priority. `Scheduled`
 * (periodic and boot-time invocations before their first run) ranks below `Stopping` and above
 * the final statuses: such an invocation is still active.
 */
export function invocationStatusOf(c: StatusCounts): RecordStatus | 'PartialFailed' {
  const total = RECORD_STATUSES.reduce((n, s) => n + c[s], 0);
  if (c.Pending === total) {
    return 'Pending'; // also when there are no records
  }
  if (c.Running > 0 || c.Pending > 0) {
    return 'Running';
  }
  if (c.Stopping > 0) {
    return 'Stopping';
  }
  if (c.Scheduled > 0) {
    return 'Scheduled';
  }
  if (c.Finished === 0 && c.Failed === 0) {
    return 'Stopped';
  }
  if (c.Finished === 0) {
    return 'Failed'; // all failed, or some failed and the rest stopped
  }
  if (c.Failed === 0) {
    return 'Finished'; // all finished, or some finished and the rest stopped
  }
  return 'PartialFailed';
}

/** The whole invocation's status from its records, by the documented priority. */
export function invocationStatus(records: readonly RecordStatus[]): RecordStatus | 'PartialFailed' {
  return invocationStatusOf(countStatuses(records));
}

/** The detailed statuses that make up one coarse status (SQL filters on `InvokeRecordStatus`). */
export function detailedStatusesOf(r: string): ExecutionStatus[] {
  return (
    [
      'Pending',
      'Scheduled',
      'Running',
      'Stopping',
      'Success',
      'Failed',
      'Timeout',
      'Error',
      'Invalid',
      'Aborted',
      'Stopped',
      'Finished',
    ] as const
  ).filter((s) => recordStatus(s) === r);
}

/** The deprecated `InstanceInvokeStatus`: Running / Finished / Failed / Stopped. */
export function instanceInvokeStatus(s: ExecutionStatus): 'Running' | 'Finished' | 'Failed' | 'Stopped' {
  const r = recordStatus(s);
  if (r === 'Pending' || r === 'Scheduled' || r === 'Running' || r === 'Stopping') {
    return 'Running';
  }
  return r;
}
