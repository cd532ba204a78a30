// Status rules of executions (spec/openapi.md § Statuses). Pure.

/** Detailed per-instance status (`InvocationStatus` of a result). */
export type ExecutionStatus =
  'Pending' | 'Running' | 'Stopping' | 'Success' | 'Failed' | 'Timeout' | 'Error' | 'Invalid' | 'Aborted' | 'Stopped';

/** Coarse per-instance status (`InvokeRecordStatus`). */
export type RecordStatus = 'Pending' | 'Running' | 'Stopping' | 'Stopped' | 'Finished' | 'Failed';

export const FINAL_STATUSES: readonly ExecutionStatus[] = [
  'Success',
  'Failed',
  'Timeout',
  'Error',
  'Invalid',
  'Aborted',
  'Stopped',
];
export const isFinal = (s: string): boolean => (FINAL_STATUSES as readonly string[]).includes(s);

export function recordStatus(s: ExecutionStatus): RecordStatus {
  switch (s) {
    case 'Pending':
    case 'Running':
    case 'Stopping':
    case 'Stopped':
      return s;
    case 'Success':
    case 'Failed':
      return 'Finished'; // the process ended; ExitCode says whether it worked
    case 'Timeout':
    case 'Error':
    case 'Invalid':
    case 'Aborted':
      return 'Failed';
  }
}

/** The whole invocation's status from its records, by the documented priority. */
export function invocationStatus(records: readonly RecordStatus[]): RecordStatus | 'PartialFailed' {
  if (records.length === 0) {
    return 'Pending';
  }
  const has = (s: RecordStatus) => records.includes(s);
  const all = (pred: (s: RecordStatus) => boolean) => records.every(pred);
  if (all((s) => s === 'Pending')) {
    return 'Pending';
  }
  if (has('Running') || has('Pending')) {
    return 'Running';
  }
  if (has('Stopping')) {
    return 'Stopping';
  }
  if (all((s) => s === 'Stopped')) {
    return 'Stopped';
  }
  if (all((s) => s === 'Failed' || s === 'Stopped')) {
    return 'Failed';
  }
  if (all((s) => s === 'Finished' || s === 'Stopped')) {
    return 'Finished';
  }
  return 'PartialFailed';
}

/** The deprecated `InstanceInvokeStatus`: Running / Finished / Failed / Stopped. */
export function instanceInvokeStatus(s: ExecutionStatus): 'Running' | 'Finished' | 'Failed' | 'Stopped' {
  const r = recordStatus(s);
  if (r === 'Pending' || r === 'Running' || r === 'Stopping') {
    return 'Running';
  }
  return r;
}
