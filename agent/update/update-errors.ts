// Why an update run failed: the stock failure kinds (sent as client reports
// `AgentUpdateFailure:<Kind>[:<Reason>]`, spec/luban-protocol.md §9.1) plus our own checks.
export type UpdateFailureKind =
  | 'CheckUpdateFailed'
  | 'DownloadPackageFailed'
  | 'CheckMD5Failed'
  | 'CheckSHA256Failed'
  | 'ExtractPackageFailed'
  | 'ValidateExecutableFailed'
  | 'ExecuteUpdateScriptRunnerTimeout'
  | 'ExecuteUpdateScriptRunnerFailed'
  | 'ExecuteUpdateScriptFailed'
  | 'HealthCheckFailed'
  /** Ours: tasks kept running for longer than the updater waits; the next check tries again. */
  | 'TasksStillRunning'
  /** Ours: the version failed before, is the running one, or another updater is at work. */
  | 'VersionRefused';

export class UpdateError extends Error {
  readonly kind: UpdateFailureKind;
  /** The stock sub-reason (`AccessDenied`, `NetworkTimeout`, `UnexpectedEOF`, …), when there is one. */
  readonly reason: string | undefined;
  constructor(kind: UpdateFailureKind, message: string, o: { reason?: string; cause?: unknown } = {}) {
    super(message, { cause: o.cause });
    this.name = 'UpdateError';
    this.kind = kind;
    this.reason = o.reason;
  }
  /** The client report type: `AgentUpdateFailure:<Kind>[:<Reason>]`. */
  get reportType(): string {
    return `AgentUpdateFailure:${this.kind}${this.reason ? `:${this.reason}` : ''}`;
  }
}

export const isUpdateError = (e: unknown): e is UpdateError => e instanceof UpdateError;
